using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FlatLora.Trainer.Determinism;

/// <summary>
/// The AVX2 form of <see cref="CounterNormal"/>: four Philox blocks per iteration (32×32→64-bit products with
/// vpmuludq) and Box–Muller on eight lanes. Every operation is the scalar path's operation, lane by lane, in the same
/// order and with the same single rounding (no fused multiply-add), so the bits are identical; a test holds it to that.
/// </summary>
internal static class CounterNormalAvx2
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Writes normals of blocks firstBlock .. firstBlock + blocks − 1 (4 per block); blocks must be a multiple of 4.</summary>
    public static unsafe void FillBlocks(CounterNormal stream, long firstBlock, int blocks, float* destination)
    {
        Vector256<ulong> lowMask = Vector256.Create(0xFFFFFFFFul);
        Vector256<ulong> streamA = Vector256.Create((ulong)stream.StreamA);
        Vector256<ulong> streamB = Vector256.Create((ulong)stream.StreamB);
        uint key0 = (uint)stream.Key, key1 = (uint)((ulong)stream.Key >> 32);
        float* cosines = stackalloc float[8];
        float* sines = stackalloc float[8];
        for (int b = 0; b < blocks; b += 4)
        {
            long block = firstBlock + b;
            Vector256<ulong> counter = Vector256.Create((ulong)block, (ulong)(block + 1), (ulong)(block + 2), (ulong)(block + 3));
            Vector256<ulong> c0 = counter & lowMask;
            Vector256<ulong> c1 = counter >>> 32;
            Vector256<ulong> c2 = streamA, c3 = streamB;
            uint k0 = key0, k1 = key1;
            for (int round = 0; round < 10; round++)
            {
                if (round > 0)
                {
                    k0 += W0;
                    k1 += W1;
                }
                Vector256<ulong> p0 = Avx2.Multiply(Vector256.Create((ulong)M0).AsUInt32(), c0.AsUInt32());
                Vector256<ulong> p1 = Avx2.Multiply(Vector256.Create((ulong)M1).AsUInt32(), c2.AsUInt32());
                Vector256<ulong> hi0 = p0 >>> 32, lo0 = p0 & lowMask;
                Vector256<ulong> hi1 = p1 >>> 32, lo1 = p1 & lowMask;
                Vector256<ulong> n0 = hi1 ^ c1 ^ Vector256.Create((ulong)k0);
                Vector256<ulong> n2 = hi0 ^ c3 ^ Vector256.Create((ulong)k1);
                (c0, c1, c2, c3) = (n0, lo1, n2, lo0);
            }
            // Lanes 0-3: pair (x0, x1) of the four blocks; lanes 4-7: pair (x2, x3).
            Vector256<uint> first = Vector256.Narrow(c0, c2);
            Vector256<uint> second = Vector256.Narrow(c1, c3);
            BoxMuller(first, second, out Vector256<float> cos, out Vector256<float> sin);
            cos.Store(cosines);
            sin.Store(sines);
            float* output = destination + (long)b * 4;
            for (int k = 0; k < 4; k++)
            {
                output[4 * k + 0] = cosines[k];
                output[4 * k + 1] = sines[k];
                output[4 * k + 2] = cosines[4 + k];
                output[4 * k + 3] = sines[4 + k];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BoxMuller(Vector256<uint> a, Vector256<uint> b, out Vector256<float> cos, out Vector256<float> sin)
    {
        Vector256<float> scale = Vector256.Create(1f / 16777216f);
        Vector256<float> one = Vector256.Create(1f);
        Vector256<float> u1 = one - Vector256.ConvertToSingle((a >>> 8).AsInt32()) * scale;
        Vector256<float> u2 = Vector256.ConvertToSingle((b >>> 8).AsInt32()) * scale;
        Vector256<float> radius = Vector256.Sqrt(Vector256.Create(-2f) * Log(u1));
        CosSinTurns(u2, out Vector256<float> c, out Vector256<float> s);
        cos = radius * c;
        sin = radius * s;
    }

    // Lane-wise PortableMath.Log: same decomposition, constants and evaluation order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Log(Vector256<float> x)
    {
        Vector256<int> bits = x.AsInt32();
        Vector256<int> e = ((bits >> 23) & Vector256.Create(0xFF)) - Vector256.Create(127);
        Vector256<float> m = ((bits & Vector256.Create(0x007FFFFF)) | Vector256.Create(0x3F800000)).AsSingle();
        Vector256<float> big = Vector256.GreaterThan(m, Vector256.Create(1.41421356f));
        m = Vector256.ConditionalSelect(big, m * Vector256.Create(0.5f), m);
        e = Vector256.ConditionalSelect(big.AsInt32(), e + Vector256.Create(1), e);
        Vector256<float> s = (m - Vector256.Create(1f)) / (m + Vector256.Create(1f));
        Vector256<float> s2 = s * s;
        Vector256<float> poly = Vector256.Create(1f) + s2 * (Vector256.Create(0.333333333f) + s2 * (Vector256.Create(0.2f) +
            s2 * (Vector256.Create(0.142857143f) + s2 * Vector256.Create(0.111111111f))));
        Vector256<float> lnM = Vector256.Create(2f) * s * poly;
        Vector256<float> fe = Vector256.ConvertToSingle(e);
        return fe * Vector256.Create(0.693145751953125f) + (fe * Vector256.Create(1.42860682030941723212e-6f) + lnM);
    }

    // Lane-wise PortableMath.CosSinTurns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CosSinTurns(Vector256<float> turns, out Vector256<float> cos, out Vector256<float> sin)
    {
        Vector256<float> quarters = turns * Vector256.Create(4f);
        Vector256<int> q = Vector256.ConvertToInt32(quarters + Vector256.Create(0.5f));
        Vector256<float> f = quarters - Vector256.ConvertToSingle(q);
        Vector256<float> phi = f * Vector256.Create(1.57079632679489661923f);
        Vector256<float> p2 = phi * phi;
        Vector256<float> sinPhi = phi * (Vector256.Create(1f) + p2 * (Vector256.Create(-1.66666667e-1f) + p2 * (Vector256.Create(8.33333333e-3f) +
            p2 * (Vector256.Create(-1.98412698e-4f) + p2 * Vector256.Create(2.75573192e-6f)))));
        Vector256<float> cosPhi = Vector256.Create(1f) + p2 * (Vector256.Create(-0.5f) + p2 * (Vector256.Create(4.16666667e-2f) +
            p2 * (Vector256.Create(-1.38888889e-3f) + p2 * (Vector256.Create(2.48015873e-5f) + p2 * Vector256.Create(-2.75573192e-7f)))));
        Vector256<int> quadrant = q & Vector256.Create(3);
        Vector256<float> q1 = Vector256.Equals(quadrant, Vector256.Create(1)).AsSingle();
        Vector256<float> q2 = Vector256.Equals(quadrant, Vector256.Create(2)).AsSingle();
        Vector256<float> q3 = Vector256.Equals(quadrant, Vector256.Create(3)).AsSingle();
        cos = Vector256.ConditionalSelect(q1, -sinPhi, Vector256.ConditionalSelect(q2, -cosPhi, Vector256.ConditionalSelect(q3, sinPhi, cosPhi)));
        sin = Vector256.ConditionalSelect(q1, cosPhi, Vector256.ConditionalSelect(q2, -sinPhi, Vector256.ConditionalSelect(q3, -cosPhi, sinPhi)));
    }
}
