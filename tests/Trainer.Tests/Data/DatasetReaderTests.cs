using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tests.Data;

public class DatasetReaderTests
{
    private static string Write(TempDirectory dir, string content)
    {
        string path = dir.File("data.jsonl");
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Reads_each_layout_with_auto_detection()
    {
        using var dir = new TempDirectory();
        var alpaca = DatasetReader.Read(Write(dir, """{"instruction":"Add","input":"2+2","output":"4"}""" + "\n"), "auto", "plain");
        Assert.Equal("Add\n2+2\n", alpaca[0].Prompt);
        Assert.Equal("4", alpaca[0].Response);

        var completion = DatasetReader.Read(Write(dir, """{"prompt":"Q: hi","completion":" A: hello"}"""));
        Assert.Equal("Q: hi", completion[0].Prompt);

        var classification = DatasetReader.Read(Write(dir, """{"text":"great film","label":"positive"}"""));
        Assert.Equal("great film\nLabel:", classification[0].Prompt);
        Assert.Equal(" positive", classification[0].Response);

        var chat = DatasetReader.Read(Write(dir,
            """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}"""));
        Assert.Equal(["Hello\n"], chat[0].Segments.Where(s => s.IsTarget).Select(s => s.Text));
    }

    [Fact]
    public void Alpaca_template_is_the_stanford_one()
    {
        using var dir = new TempDirectory();
        var examples = DatasetReader.Read(Write(dir, """{"instruction":"Say hi","output":"hi"}"""));
        Assert.StartsWith("Below is an instruction that describes a task. Write a response", examples[0].Prompt);
        Assert.EndsWith("### Instruction:\nSay hi\n\n### Response:\n", examples[0].Prompt);
    }

    [Theory]
    [InlineData("{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"c\"}\n", 2, "missing string field 'output'")]
    [InlineData("{\"instruction\":\"a\",\"output\":\"b\"}\n\n[1,2]\n", 3, "expected a JSON object")]
    [InlineData("{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\",\"compl", 2, "may be truncated")]
    [InlineData("{\"foo\":1}\n", 1, "cannot tell the data format")]
    [InlineData("{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}\n", 1, "is not system, user or assistant")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n", 1, "no assistant turn")]
    [InlineData("\n\n", 2, "holds no records")]
    public void A_bad_line_is_reported_with_file_and_line(string content, int line, string message)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, content);
        var error = Assert.Throws<DataFormatException>(() => DatasetReader.Read(path));
        Assert.Equal(path, error.File);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message);
        Assert.StartsWith($"{path}:{line}:", error.Message);
    }

    [Fact]
    public void Invalid_utf8_is_reported_with_its_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.jsonl");
        byte[] good = "{\"prompt\":\"a\",\"completion\":\"b\"}\n"u8.ToArray();
        byte[] bad = [.. "{\"prompt\":\""u8, 0xFF, 0xFE, .. "\",\"completion\":\"b\"}\n"u8];   // 0xFF never occurs in UTF-8
        File.WriteAllBytes(path, [.. good, .. bad]);
        var error = Assert.Throws<DataFormatException>(() => DatasetReader.Read(path));
        Assert.Equal(2, error.Line);
    }
}
