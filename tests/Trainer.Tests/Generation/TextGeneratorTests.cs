using FlatLora.Trainer.Generation;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tests.Model;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Generation;

public class TextGeneratorTests
{
    private static (LlamaForCausalLM Model, ITokenizer Tokenizer) Tiny(TempDirectory dir)
    {
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("model")));
        return (ModelLoader.Load(baseModel, null, float32, CPU), baseModel.Tokenizer);
    }

    private static readonly string[] Prompts = ["Hello", "The quick brown fox jumps", "naïve café"];

    [Fact]
    public void Greedy_tokens_are_identical_with_and_without_the_cache()
    {
        using var dir = new TempDirectory();
        (LlamaForCausalLM model, ITokenizer tokenizer) = Tiny(dir);
        using (model)
        {
            var generator = new TextGenerator(model, tokenizer);
            var cached = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 12 });
            var uncached = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 12, UseCache = false });
            Assert.Equal(cached.Select(r => r.Tokens), uncached.Select(r => r.Tokens));
            Assert.All(cached, r => Assert.Equal(12, r.Tokens.Count));
            Assert.All(cached, r => Assert.Equal("length", r.FinishReason));
        }
    }

    [Fact]
    public void A_left_padded_batch_generates_what_each_prompt_generates_alone()
    {
        using var dir = new TempDirectory();
        (LlamaForCausalLM model, ITokenizer tokenizer) = Tiny(dir);
        using (model)
        {
            var generator = new TextGenerator(model, tokenizer);
            var batched = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 8 });
            for (int i = 0; i < Prompts.Length; i++)
            {
                var alone = generator.Generate([Prompts[i]], new GenerationOptions { MaxNewTokens = 8 });
                Assert.Equal(alone[0].Tokens, batched[i].Tokens);
            }
        }
    }

    [Fact]
    public void Sampling_is_reproducible_per_seed_and_top_p_near_zero_is_greedy()
    {
        using var dir = new TempDirectory();
        (LlamaForCausalLM model, ITokenizer tokenizer) = Tiny(dir);
        using (model)
        {
            var generator = new TextGenerator(model, tokenizer);
            GenerationOptions sample = new() { MaxNewTokens = 10, Temperature = 1.5, Seed = 5 };
            var a = generator.Generate(Prompts, sample);
            var b = generator.Generate(Prompts, sample);
            var c = generator.Generate(Prompts, sample with { Seed = 6 });
            Assert.Equal(a.Select(r => r.Tokens), b.Select(r => r.Tokens));
            Assert.NotEqual(a.Select(r => r.Tokens), c.Select(r => r.Tokens));
            var greedy = generator.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10 });
            var nucleus = generator.Generate(Prompts, sample with { TopP = 1e-6 });
            Assert.Equal(greedy.Select(r => r.Tokens), nucleus.Select(r => r.Tokens));
        }
    }

    [Fact]
    public void Generation_stops_at_a_stop_token()
    {
        // A model whose final norm is zero predicts logits of 0 everywhere, so greedy picks id 0, this tokenizer's eos.
        using var model = new LlamaForCausalLM(TestModels.Config(), float32, CPU);
        model.InitializeWeights(1);
        using (no_grad())
            model.named_parameters().Single(p => p.name == "model.norm.weight").parameter.zero_();
        var generator = new TextGenerator(model, new IdOnlyTokenizer(264));
        var ids = generator.GenerateIds([[5, 6, 7], [9]], new GenerationOptions { MaxNewTokens = 5 }, out string[] reasons);
        Assert.All(ids, Assert.Empty);
        Assert.Equal(["stop", "stop"], reasons);
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationOptions { TopP = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationOptions { MaxNewTokens = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationOptions { Temperature = -1 }.Validate());
    }
}
