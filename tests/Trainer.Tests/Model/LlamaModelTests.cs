using FlatLora.Trainer.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Tests.Model;

public class LlamaModelTests
{
    [Fact]
    public void Parameter_names_follow_hugging_face()
    {
        using var model = new LlamaForCausalLM(TestModels.Config(layers: 1), float32, CPU);
        var names = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
            "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
        ];
        Assert.Equal(expected.Order(), names.Order());
    }

    [Fact]
    public void Tied_embeddings_have_no_head_and_project_on_the_embedding_matrix()
    {
        using var model = new LlamaForCausalLM(TestModels.Config(layers: 1, tie: true), float32, CPU);
        model.InitializeWeights(3);
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        using var ids = tensor(new long[] { 256, 65, 66, 67 }, [1, 4]);
        using Tensor logits = model.forward(ids);
        using Tensor hidden = model.Decoder.forward(ids);
        using Tensor expected = F.linear(hidden, model.Decoder.EmbeddingWeight);
        Assert.True(logits.allclose(expected, 1e-5, 1e-6));
    }

    [Fact]
    public void Earlier_positions_do_not_see_later_tokens()
    {
        using var model = new LlamaForCausalLM(TestModels.Config(), float32, CPU);
        model.InitializeWeights(11);
        using var a = tensor(new long[] { 256, 10, 20, 30, 40, 50 }, [1, 6]);
        using var b = tensor(new long[] { 256, 10, 20, 99, 98, 97 }, [1, 6]);
        using Tensor la = model.forward(a), lb = model.forward(b);
        Assert.True(la[.., ..3].allclose(lb[.., ..3], 1e-6, 1e-7));
        Assert.False(la[.., 3..].allclose(lb[.., 3..], 1e-3, 1e-3));
    }

    [Fact]
    public void Incremental_decoding_with_the_cache_matches_a_full_forward()
    {
        using var model = new LlamaForCausalLM(TestModels.Config(), float32, CPU);
        model.InitializeWeights(5);
        model.eval();
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 256, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9 }, [2, 8]);
        using Tensor full = model.forward(ids);                          // (2, 8, V)
        using var cache = new KeyValueCache(model.Config.NumHiddenLayers);
        using Tensor prefill = model.forward(ids[.., ..5], cache: cache);
        var steps = new List<Tensor> { prefill };
        for (int t = 5; t < 8; t++)
            steps.Add(model.forward(ids[.., t..(t + 1)], cache: cache));
        using Tensor incremental = cat(steps, 1);
        Assert.True(full.allclose(incremental, 1e-4, 1e-5), $"max diff {(full - incremental).abs().max().item<float>()}");
    }

    [Fact]
    public void Explicit_attention_computes_what_the_fused_kernel_does_and_can_be_differentiated_twice()
    {
        using var model = new LlamaForCausalLM(TestModels.Config(), float32, CPU);
        model.InitializeWeights(6, 0.1);
        model.eval();
        using var ids = tensor(new long[] { 256, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9 }, [2, 8]);
        using Tensor fused = model.forward(ids);
        model.ExplicitAttention = true;
        using Tensor written = model.forward(ids);
        Assert.True(fused.allclose(written, 1e-4, 1e-5), $"max diff {(fused - written).abs().max().item<float>()}");
        // With the cache too (generation's path: one query against a longer key range).
        using var cache = new KeyValueCache(model.Config.NumHiddenLayers);
        using Tensor prefill = model.forward(ids[.., ..7], cache: cache);
        using Tensor last = model.forward(ids[.., 7..8], cache: cache);
        Assert.True(fused[.., 7..8].allclose(last, 1e-4, 1e-5));

        // A second derivative through the whole model: the gradient of ⟨∇L, v⟩ exists and is not zero.
        Tensor w = model.named_parameters().First(p => p.name.EndsWith("q_proj.weight", StringComparison.Ordinal)).parameter;
        w.requires_grad = true;
        Tensor loss = model.forward(ids).pow(2).mean();
        var g = autograd.grad([loss], [w], retain_graph: true, create_graph: true);
        using Tensor v = ones_like(w);
        var hv = autograd.grad([(g[0] * v).sum()], [w]);
        Assert.True(hv[0].abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Rotary_attention_scores_depend_only_on_relative_position()
    {
        var config = TestModels.Config();
        using var rope = new RotaryEmbedding(config, CPU);
        var generator = new Generator(1);
        using Tensor q = randn([1, 1, 1, config.HeadDim], generator: generator);
        using Tensor k = randn([1, 1, 1, config.HeadDim], generator: generator);
        float Score(long qPos, long kPos)
        {
            (Tensor cq, Tensor sq) = rope.Tables(tensor(new[] { qPos }, [1, 1]), float32);
            (Tensor ck, Tensor sk) = rope.Tables(tensor(new[] { kPos }, [1, 1]), float32);
            return (RotaryEmbedding.Apply(q, cq, sq) * RotaryEmbedding.Apply(k, ck, sk)).sum().item<float>();
        }
        Assert.Equal(Score(7, 3), Score(27, 23), 4);
        Assert.NotEqual(Score(7, 3), Score(7, 5), 3);
    }

    [Fact]
    public void Grouped_query_attention_matches_a_naive_implementation()
    {
        // One layer, compare the attention block against explicit softmax(QKᵀ/√d + causal)·V with repeated KV heads.
        var config = TestModels.Config(layers: 1, hidden: 32, heads: 4, kvHeads: 2);
        using var attention = new LlamaAttention(config, 0, "attn", LlamaForCausalLM.PlainLinear(float32, CPU));
        var generator = new Generator(2);
        foreach (var (_, p) in attention.named_parameters())
            p.requires_grad = false;
        foreach (var (_, p) in attention.named_parameters())
            p.copy_(randn(p.shape, generator: generator) * 0.2);
        using Tensor x = randn([2, 5, 32], generator: generator);
        using var rope = new RotaryEmbedding(config, CPU);
        using Tensor positions = arange(5, dtype: int64).unsqueeze(0).expand(2, 5);
        (Tensor cos, Tensor sin) = rope.Tables(positions, float32);
        using Tensor actual = attention.forward(x, new AttentionContext(cos, sin, null, null));

        var p2 = attention.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        Tensor q = F.linear(x, p2["q_proj.weight"]).view(2, 5, 4, 8).transpose(1, 2);
        Tensor k = F.linear(x, p2["k_proj.weight"]).view(2, 5, 2, 8).transpose(1, 2);
        Tensor v = F.linear(x, p2["v_proj.weight"]).view(2, 5, 2, 8).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin).repeat_interleave(2, 1);
        v = v.repeat_interleave(2, 1);
        Tensor scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(8);
        Tensor causal = ones(5, 5, dtype: ScalarType.Bool).tril().logical_not();
        Tensor weights = scores.masked_fill(causal, double.NegativeInfinity).softmax(-1);
        Tensor expected = F.linear(weights.matmul(v).transpose(1, 2).reshape(2, 5, 32), p2["o_proj.weight"]);
        Assert.True(actual.allclose(expected, 1e-5, 1e-6), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Llama3_rope_scaling_slows_only_long_wavelengths()
    {
        var plain = TestModels.Config(hidden: 128, heads: 1, kvHeads: 1) with { RopeTheta = 500000 };
        var scaled = plain with { RopeScaling = new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 } };
        using var a = new RotaryEmbedding(plain, CPU);
        using var b = new RotaryEmbedding(scaled, CPU);
        using Tensor pos = tensor(new long[] { 1 }, [1, 1]);
        (Tensor ca, _) = a.Tables(pos, float32);
        (Tensor cb, _) = b.Tables(pos, float32);
        // Highest frequency (index 0) unchanged; lowest frequency divided by the factor: cos(θ) vs cos(θ/8).
        Assert.Equal(ca[0, 0, 0, 0].item<float>(), cb[0, 0, 0, 0].item<float>(), 6);
        double lowest = 1.0 / Math.Pow(500000, 126.0 / 128);
        Assert.Equal(Math.Cos(lowest / 8), cb[0, 0, 0, 63].item<float>(), 6);
    }
}
