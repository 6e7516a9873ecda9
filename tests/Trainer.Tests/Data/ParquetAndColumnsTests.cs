using FlatLora.Trainer.Data;
using System.Text.Json.Serialization;
using Parquet;
using Parquet.Serialization;

namespace FlatLora.Trainer.Tests.Data;

/// <summary>Parquet datasets (as Hugging Face datasets publish them) and data.columns, for Parquet and JSONL alike.</summary>
public class ParquetAndColumnsTests
{
    public sealed class AlpacaRow
    {
        [JsonPropertyName("instruction")] public string? Instruction { get; set; }
        [JsonPropertyName("input")] public string? Input { get; set; }
        [JsonPropertyName("output")] public string? Output { get; set; }
    }

    public sealed class Turn
    {
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("content")] public string? Content { get; set; }
    }

    public sealed class ChatRow
    {
        [JsonPropertyName("messages")] public List<Turn>? Messages { get; set; }
    }

    public sealed class QaRow
    {
        [JsonPropertyName("question")] public string? Question { get; set; }
        [JsonPropertyName("answer")] public string? Answer { get; set; }
        [JsonPropertyName("id")] public int Id { get; set; }
    }

    private static string WriteParquet<T>(TempDirectory dir, string name, IEnumerable<T> rows, int rowGroupSize = 1000)
    {
        string path = dir.File(name);
        using (var stream = File.Create(path))
            ParquetSerializer.SerializeAsync(rows, stream, new ParquetOptions { RowGroupSize = rowGroupSize })
                .GetAwaiter().GetResult();
        return path;
    }

    [Fact]
    public void A_parquet_file_reads_as_the_same_jsonl_would()
    {
        using var dir = new TempDirectory();
        string parquet = WriteParquet(dir, "train.parquet",
            [new AlpacaRow { Instruction = "Add", Input = "2+2", Output = "4" }, new AlpacaRow { Instruction = "Greet", Output = "hi" }], rowGroupSize: 1);
        string jsonl = dir.File("train.jsonl");
        File.WriteAllText(jsonl, """{"instruction":"Add","input":"2+2","output":"4"}""" + "\n" + """{"instruction":"Greet","input":null,"output":"hi"}""" + "\n");

        var fromParquet = DatasetReader.Read(parquet, "auto", "plain");
        var fromJsonl = DatasetReader.Read(jsonl, "auto", "plain");
        Assert.Equal(fromJsonl.Select(e => (e.Prompt, e.Response)), fromParquet.Select(e => (e.Prompt, e.Response)));
        Assert.Equal($"{parquet}:2", fromParquet[1].Source);   // rows counted across row groups
    }

    [Fact]
    public void A_parquet_messages_column_of_structs_reads_as_chat()
    {
        using var dir = new TempDirectory();
        string parquet = WriteParquet(dir, "chat.parquet",
            [new ChatRow { Messages = [new Turn { Role = "user", Content = "Hi" }, new Turn { Role = "assistant", Content = "Hello" }] }]);
        var chat = DatasetReader.Read(parquet);
        Assert.Equal(["Hello\n"], chat[0].Segments.Where(s => s.IsTarget).Select(s => s.Text));
    }

    [Fact]
    public void Columns_map_a_datasets_own_names_in_parquet_and_jsonl()
    {
        using var dir = new TempDirectory();
        var columns = new DataColumns(new Dictionary<string, string> { ["prompt"] = "question", ["response"] = "answer" });
        string parquet = WriteParquet(dir, "qa.parquet", [new QaRow { Question = "2+2?", Answer = "4", Id = 1 }]);
        string jsonl = dir.File("qa.jsonl");
        File.WriteAllText(jsonl, """{"question": "2+2?", "answer": "4", "id": 1}""" + "\n");
        foreach (string path in new[] { parquet, jsonl })
        {
            TrainingExample example = Assert.Single(DatasetReader.Read(path, columns: columns));
            Assert.Equal("2+2?", example.Prompt);
            Assert.Equal("4", example.Response);
        }
    }

    [Fact]
    public void A_mapped_column_that_is_missing_is_named_with_its_role_and_row()
    {
        using var dir = new TempDirectory();
        var columns = new DataColumns(new Dictionary<string, string> { ["prompt"] = "query", ["response"] = "answer" });
        string parquet = WriteParquet(dir, "qa.parquet", [new QaRow { Question = "2+2?", Answer = "4" }]);
        var error = Assert.Throws<DataFormatException>(() => DatasetReader.Read(parquet, columns: columns));
        Assert.Equal($"{parquet}:1: no column 'query' (data.columns.prompt); the record has: question, answer, id", error.Message);
    }

    [Fact]
    public void A_file_named_parquet_that_is_not_one_is_named()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("broken.parquet"), "PAR1 but nothing else");
        var error = Assert.Throws<DataFormatException>(() => DatasetReader.Read(dir.File("broken.parquet")));
        Assert.StartsWith($"{dir.File("broken.parquet")}:1: not a readable Parquet file", error.Message);
    }

    [Fact]
    public void An_unknown_role_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new DataColumns(new Dictionary<string, string> { ["question"] = "q" }));
        Assert.Contains("data.columns.question: unknown role", error.Message);
    }
}
