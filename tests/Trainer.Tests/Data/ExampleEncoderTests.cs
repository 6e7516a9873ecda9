using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Tests.Data;

public class ExampleEncoderTests
{
    [Fact]
    public void Loss_covers_only_the_response_and_the_closing_eos()
    {
        var tokenizer = new ByteTokenizer();
        var example = TrainingExample.PromptResponse("ab", "cd", "x");
        EncodedExample encoded = ExampleEncoder.Encode(example, tokenizer, 64);
        // tokens: bos a b c d eos; inputs drop the last, targets are the next token where it is a response token.
        Assert.Equal([ByteTokenizer.Bos, 'a', 'b', 'c', 'd'], encoded.InputIds);
        Assert.Equal([ExampleEncoder.Ignore, ExampleEncoder.Ignore, 'c', 'd', ByteTokenizer.Eos], encoded.Targets);
        Assert.Equal(3, encoded.TargetCount);
        Assert.False(encoded.Truncated);
    }

    [Fact]
    public void Long_examples_are_cut_and_flagged()
    {
        var encoded = ExampleEncoder.Encode(TrainingExample.PromptResponse("abcdef", "ghij", "x"), new ByteTokenizer(), 8);
        Assert.Equal(8, encoded.InputIds.Length);
        Assert.True(encoded.Truncated);
    }

    [Fact]
    public void Byte_tokenizer_round_trips_unicode()
    {
        ITokenizer tokenizer = new ByteTokenizer();
        const string text = "naïve café — 東京 🚀";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal("ab", tokenizer.Decode([ByteTokenizer.Bos, 'a', 'b', ByteTokenizer.Eos]));
    }

    [Fact]
    public void Examples_whose_response_is_cut_away_are_rejected_with_their_source()
    {
        var examples = new[] { TrainingExample.PromptResponse(new string('p', 40), "r", "data.jsonl:7") };
        var error = Assert.Throws<DataFormatException>(() => TrainingData.Encode(examples, null, 0, new ByteTokenizer(), 16, 1));
        Assert.Equal("data.jsonl", error.File);
        Assert.Equal(7, error.Line);
    }
}
