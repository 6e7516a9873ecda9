using System.Text.Json;

namespace FlatLora.Trainer.Data;

/// <summary>
/// The records of a JSONL file, one per line, each parsed on its own so an error names its line. A blank line gives
/// an undefined element (skipped by the reader, but counted, so "no records" names the last line).
/// </summary>
internal static class JsonlRecords
{
    public static IEnumerable<(int Line, JsonElement Record)> Read(string path, CancellationToken cancellationToken)
    {
        foreach ((int lineNumber, string line, bool unterminated) in Utf8LineReader.Read(path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(line))
            {
                yield return (lineNumber, default);
                continue;
            }
            JsonElement record;
            try
            {
                using JsonDocument document = JsonDocument.Parse(line);
                record = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new DataFormatException(path, lineNumber,
                    $"invalid JSON ({e.Message}){(unterminated ? "; the last line has no newline, so the file may be truncated" : "")}");
            }
            yield return (lineNumber, record);
        }
    }
}
