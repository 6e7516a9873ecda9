using System.Text.Json;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Data;

/// <summary>
/// Reads instruction data from JSONL (one record per line) or Parquet (one record per row; what Hugging Face datasets
/// publish), in one of four layouts: alpaca (<c>instruction</c>, optional <c>input</c>, <c>output</c>),
/// prompt_completion (<c>prompt</c>, <c>completion</c>), messages (<c>messages</c>: [{role, content}], loss on assistant
/// turns) and classification (<c>text</c>, <c>label</c>). A dataset with its own column names maps them onto these
/// with <see cref="DataColumns"/>. "auto" picks the layout from the first record's keys. Chat records are laid out by
/// the model's chat template. Any unusable record stops the read with its file and line (Parquet: row) number.
/// </summary>
public static class DatasetReader
{
    public static IReadOnlyList<TrainingExample> Read(string path, string format = "auto", string template = "alpaca", IChatTemplate? chatTemplate = null,
        DataColumns? columns = null, CancellationToken cancellationToken = default)
    {
        chatTemplate ??= new RoleTagChatTemplate();
        columns ??= DataColumns.None;
        if (!File.Exists(path))
            throw new FileNotFoundException($"dataset not found: {path}", path);
        var examples = new List<TrainingExample>();
        string? layout = format == "auto" ? columns.Layout : format;
        int lastLine = 0;
        IEnumerable<(int Line, JsonElement Record)> records = ParquetRecords.IsParquet(path)
            ? ParquetRecords.Read(path, cancellationToken)
            : JsonlRecords.Read(path, cancellationToken);
        foreach ((int lineNumber, JsonElement raw) in records)
        {
            lastLine = lineNumber;
            cancellationToken.ThrowIfCancellationRequested();
            if (raw.ValueKind == JsonValueKind.Undefined)
                continue;   // a blank line
            if (raw.ValueKind != JsonValueKind.Object)
                throw new DataFormatException(path, lineNumber, $"expected a JSON object, got {raw.ValueKind}");
            JsonElement record = columns.Apply(raw, path, lineNumber);
            layout ??= Detect(record) ?? throw new DataFormatException(path, lineNumber,
                "cannot tell the data format from the keys; expected instruction/output, prompt/completion, " +
                "messages or text/label (or set data.format, or map your columns with data.columns)");
            examples.Add(Parse(record, layout, template, chatTemplate, path, lineNumber, $"{path}:{lineNumber}"));
        }
        if (examples.Count == 0)
            throw new DataFormatException(path, Math.Max(1, lastLine), "the file holds no records");
        return examples;
    }

    private static string? Detect(JsonElement record)
    {
        if (record.TryGetProperty("messages", out _)) return "messages";
        if (record.TryGetProperty("instruction", out _)) return "alpaca";
        if (record.TryGetProperty("prompt", out _)) return "prompt_completion";
        if (record.TryGetProperty("text", out _) && record.TryGetProperty("label", out _)) return "classification";
        return null;
    }

    private static TrainingExample Parse(JsonElement record, string layout, string template, IChatTemplate chatTemplate, string path, int line, string source)
    {
        string Required(string field)
        {
            if (!record.TryGetProperty(field, out JsonElement value) || value.ValueKind != JsonValueKind.String)
                throw new DataFormatException(path, line, $"missing string field '{field}' ({layout} format)");
            return value.GetString()!;
        }
        string? Optional(string field) =>
            record.TryGetProperty(field, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        switch (layout)
        {
            case "alpaca":
                return TrainingExample.PromptResponse(
                    PromptTemplates.Instruction(template, Required("instruction"), Optional("input")), Required("output"), source);
            case "prompt_completion":
                return TrainingExample.PromptResponse(Required("prompt"), Required("completion"), source);
            case "classification":
                if (!record.TryGetProperty("label", out JsonElement label) ||
                    label.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
                    throw new DataFormatException(path, line, "missing field 'label' (a string, number or boolean; classification format)");
                string labelText = label.ValueKind == JsonValueKind.String ? label.GetString()! : label.GetRawText();
                return TrainingExample.PromptResponse(
                    PromptTemplates.ClassificationPrompt(Required("text")), PromptTemplates.ClassificationTarget(labelText), source);
            case "messages":
                return ParseMessages(record, chatTemplate, path, line, source);
            default:
                throw new DataFormatException(path, line, $"unknown data format '{layout}'");
        }
    }

    private static TrainingExample ParseMessages(JsonElement record, IChatTemplate chatTemplate, string path, int line, string source)
    {
        if (!record.TryGetProperty("messages", out JsonElement messages) || messages.ValueKind != JsonValueKind.Array)
            throw new DataFormatException(path, line, "missing array field 'messages' (messages format)");
        var turns = new List<ChatMessage>();
        int index = 0;
        foreach (JsonElement message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object ||
                !message.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String ||
                !message.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
                throw new DataFormatException(path, line, $"messages[{index}] needs string fields 'role' and 'content'");
            string roleName = role.GetString()!;
            if (roleName is not ("system" or "user" or "assistant"))
                throw new DataFormatException(path, line, $"messages[{index}].role '{roleName}' is not system, user or assistant");
            turns.Add(new ChatMessage(roleName, content.GetString()!));
            index++;
        }
        if (!turns.Any(t => t.Role == "assistant"))
            throw new DataFormatException(path, line, "messages has no assistant turn to learn from");
        return new TrainingExample(chatTemplate.Render(turns), source);
    }
}
