using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Tests.Determinism;

public class PhiloxTests
{
    // Known-answer vectors of Philox4x32-10 from Random123 (kat_vectors).
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdcceBu, 0x5001e420u, 0x24126ea1u)]
    public void Matches_Random123_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        Assert.Equal((x0, x1, x2, x3), Philox4x32.Block(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void Derived_seeds_differ_by_purpose_and_detail()
    {
        long a = Seeding.Derive(1, "lora-init", "model.layers.0.self_attn.q_proj");
        long b = Seeding.Derive(1, "lora-init", "model.layers.0.self_attn.k_proj");
        long c = Seeding.Derive(2, "lora-init", "model.layers.0.self_attn.q_proj");
        long d = Seeding.Derive(1, "data-order", "model.layers.0.self_attn.q_proj");
        Assert.Equal(4, new[] { a, b, c, d }.Distinct().Count());
        Assert.Equal(a, Seeding.Derive(1, "lora-init", "model.layers.0.self_attn.q_proj"));
    }
}
