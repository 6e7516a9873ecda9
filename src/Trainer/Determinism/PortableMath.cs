using System.Runtime.CompilerServices;

namespace FlatLora.Trainer.Determinism;

/// <summary>
/// ln and sin/cos in float32 built only from IEEE-754 add, multiply, divide and sqrt, each rounded once, in a fixed
/// order. Unlike MathF (which calls the platform's libm), these give the same bits on every CPU and, compiled with
/// <c>-fmad=false</c>, in a CUDA kernel, which lets every device regenerate identical Flat-LoRA noise. Accurate to a
/// few float ulps on the ranges used by Box–Muller.
/// </summary>
public static class PortableMath
{
    private const float Ln2Hi = 0.693145751953125f;      // ln 2 split so e·Ln2Hi is exact for |e| < 2^12
    private const float Ln2Lo = 1.42860682030941723212e-6f;
    private const float HalfPi = 1.57079632679489661923f;

    /// <summary>Natural log of x in (0, 1] (the Box–Muller radius input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log(float x)
    {
        // x = m·2^e with m in [√½, √2); ln x = e·ln2 + 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.1716.
        int bits = BitConverter.SingleToInt32Bits(x);
        int e = ((bits >> 23) & 0xFF) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);   // [1, 2)
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e += 1;
        }
        float s = (m - 1f) / (m + 1f);
        float s2 = s * s;
        // 2·atanh(s) = 2s(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9): the next term is below 4e-10 relative.
        float poly = 1f + s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * 0.111111111f)));
        float lnM = 2f * s * poly;
        float fe = e;
        return fe * Ln2Hi + (fe * Ln2Lo + lnM);
    }

    /// <summary>cos and sin of 2π·turns for turns in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Cos, float Sin) CosSinTurns(float turns)
    {
        // Quarter turns: q = nearest integer to 4·turns, remainder f in [−½, ½] → angle φ = f·π/2 in [−π/4, π/4].
        float quarters = turns * 4f;                // exact: multiply by a power of two
        int q = (int)(quarters + 0.5f);             // turns ≥ 0, so truncation rounds half up
        float f = quarters - q;                     // exact (Sterbenz)
        float phi = f * HalfPi;
        float p2 = phi * phi;
        // Taylor series to φ⁹ / φ¹⁰: truncation below 2e-9 on [−π/4, π/4].
        float sin = phi * (1f + p2 * (-1.66666667e-1f + p2 * (8.33333333e-3f + p2 * (-1.98412698e-4f + p2 * 2.75573192e-6f))));
        float cos = 1f + p2 * (-0.5f + p2 * (4.16666667e-2f + p2 * (-1.38888889e-3f + p2 * (2.48015873e-5f + p2 * -2.75573192e-7f))));
        return (q & 3) switch
        {
            0 => (cos, sin),
            1 => (-sin, cos),
            2 => (-cos, -sin),
            _ => (sin, -cos),
        };
    }
}
