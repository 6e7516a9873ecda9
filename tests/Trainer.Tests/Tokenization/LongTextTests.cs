using System.Diagnostics;
using System.Text;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tests.Fixtures;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Tests.Tokenization;

/// <summary>Long lines: encoding is linear (it was quadratic: 320k characters took 13 s), exact, and cut to what training keeps.</summary>
public class LongTextTests
{
    private static string Prose(int length, int seed = 1)
    {
        var random = new Random(seed);
        string[] words = ["the", "Flat-LoRA", "ünïcödé", "naïve", "  double", "tab\there", "new\nline", "x", "3.14159", "“quoted”", "emoji😀", "\n\n", "end."];
        var text = new StringBuilder();
        while (text.Length < length)
            text.Append(words[random.Next(words.Length)]).Append(random.Next(5) == 0 ? "  " : " ");
        return text.ToString(0, length);
    }

    private static BpeJsonTokenizer Llama2() => HuggingFaceTokenizerLoader.LoadTokenizerJson(Path.Combine(NpmPackage.Llama2TokenizerDirectory, "tokenizer.json"),
        TokenConfig.Read(NpmPackage.Llama2TokenizerDirectory));

    private static BpeJsonTokenizer Llama3(TempDirectory dir) => (BpeJsonTokenizer)HuggingFaceTokenizerLoader.Load(ByteLevelFixture.WriteLlama3(dir.File("l3")));

    [Fact]
    public void Encoding_in_pieces_gives_the_ids_of_encoding_in_one_call()
    {
        using var dir = new TempDirectory();
        foreach (BpeJsonTokenizer tokenizer in new[] { Llama2(), Llama3(dir) })
        {
            for (int seed = 1; seed <= 3; seed++)
            {
                string text = Prose(6000, seed);
                Assert.Equal(tokenizer.EncodeInOneCall(text), ((ITokenizer)tokenizer).Encode(text));
            }
        }
    }

    [Fact]
    public void A_long_line_encodes_in_time_proportional_to_its_length()
    {
        using var dir = new TempDirectory();
        string text = Prose(1_280_000);
        foreach (BpeJsonTokenizer tokenizer in new[] { Llama2(), Llama3(dir) })
        {
            var watch = Stopwatch.StartNew();
            IReadOnlyList<TokenSpan> spans = tokenizer.EncodeWithOffsets(text);
            // Quadratic encoding took over 150 s for this; linear takes a few seconds even on a slow machine.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), $"{watch.Elapsed.TotalSeconds:F1} s for 1.28M characters");
            Assert.True(spans.Count > 100_000);
            Assert.True(spans.Zip(spans.Skip(1)).All(p => p.First.Start <= p.Second.Start), "offsets run forward across pieces");
            Assert.Equal(text.Length, spans[^1].End);
        }
    }

    [Fact]
    public void An_example_far_longer_than_max_seq_len_is_cut_before_tokenizing_and_keeps_the_same_first_tokens()
    {
        BpeJsonTokenizer tokenizer = Llama2();
        string response = Prose(5_000_000);
        var example = TrainingExample.PromptResponse("Summarise: ", response, "data.jsonl:1");
        var watch = Stopwatch.StartNew();
        EncodedExample encoded = ExampleEncoder.Encode(example, tokenizer, maxSeqLen: 64);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"{watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(encoded.Truncated);
        Assert.Equal(64, encoded.InputIds.Length);

        EncodedExample prefix = ExampleEncoder.Encode(TrainingExample.PromptResponse("Summarise: ", response[..2000], "data.jsonl:1"), tokenizer, maxSeqLen: 64);
        Assert.Equal(prefix.InputIds, encoded.InputIds);
        Assert.Equal(prefix.Targets, encoded.Targets);
    }

    [Fact]
    public void A_run_without_spaces_longer_than_the_longest_run_is_still_encoded_whole()
    {
        BpeJsonTokenizer tokenizer = Llama2();
        string text = "start " + new string('a', 25_000) + " end";
        IReadOnlyList<TokenSpan> spans = tokenizer.EncodeWithOffsets(text);
        Assert.Equal(text, tokenizer.Decode(spans.Select(s => s.Id)));
    }
}
