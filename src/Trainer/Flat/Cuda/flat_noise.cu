// Flat-LoRA's perturbed weight W + ε on the GPU, bit-identical to the CPU path (CounterNormal, PortableMath,
// LayerPerturbation.PerturbedWeight): ε_ij = scale_i · z_{i·cols+j}, z from Philox4x32-10 + Box–Muller keyed by
// (key, stream_a = layer, stream_b = step). Compiled at run time by NVRTC with --fmad=false so that every multiply
// and add is rounded once, exactly as in C#. Without __CUDACC_RTC__ the same code compiles as C99 for the CPU
// check in the tests.
#ifdef __CUDACC_RTC__
// No CUDA headers: NVRTC builds this alone, whatever headers the node's NVRTC ships.
#define FN __device__ __forceinline__
typedef unsigned int u32;
typedef unsigned long long u64;
#else
#include <stdint.h>
#include <string.h>
#include <math.h>
#define FN static inline
typedef uint32_t u32;
typedef uint64_t u64;
#endif

FN float bits_to_float(u32 b)
{
#ifdef __CUDACC_RTC__
    return __uint_as_float(b);
#else
    float f; memcpy(&f, &b, 4); return f;
#endif
}

FN u32 float_to_bits(float f)
{
#ifdef __CUDACC_RTC__
    return __float_as_uint(f);
#else
    u32 b; memcpy(&b, &f, 4); return b;
#endif
}

FN float sqrt_rn(float x)
{
#ifdef __CUDACC_RTC__
    return __fsqrt_rn(x);
#else
    return sqrtf(x);
#endif
}

// Philox4x32-10 over the counter (c0..c3) with key (k0, k1).
FN void philox(u32 c[4], u32 k0, u32 k1)
{
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        u64 p0 = (u64)0xD2511F53u * c[0];
        u64 p1 = (u64)0xCD9E8D57u * c[2];
        u32 hi0 = (u32)(p0 >> 32), lo0 = (u32)p0, hi1 = (u32)(p1 >> 32), lo1 = (u32)p1;
        u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

// ln x for x in (0, 1], as PortableMath.Log.
FN float portable_log(float x)
{
    u32 bits = float_to_bits(x);
    int e = (int)((bits >> 23) & 0xFFu) - 127;
    float m = bits_to_float((bits & 0x007FFFFFu) | 0x3F800000u);
    if (m > 1.41421356f) { m *= 0.5f; e += 1; }
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float poly = 1.0f + s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * 0.111111111f)));
    float ln_m = 2.0f * s * poly;
    float fe = (float)e;
    return fe * 0.693145751953125f + (fe * 1.42860682030941723212e-6f + ln_m);
}

// cos and sin of 2π·turns, turns in [0, 1), as PortableMath.CosSinTurns.
FN void portable_cos_sin_turns(float turns, float* cos_out, float* sin_out)
{
    float quarters = turns * 4.0f;
    int q = (int)(quarters + 0.5f);
    float f = quarters - (float)q;
    float phi = f * 1.57079632679489661923f;
    float p2 = phi * phi;
    float s = phi * (1.0f + p2 * (-1.66666667e-1f + p2 * (8.33333333e-3f + p2 * (-1.98412698e-4f + p2 * 2.75573192e-6f))));
    float c = 1.0f + p2 * (-0.5f + p2 * (4.16666667e-2f + p2 * (-1.38888889e-3f + p2 * (2.48015873e-5f + p2 * -2.75573192e-7f))));
    switch (q & 3) {
        case 0: *cos_out = c; *sin_out = s; break;
        case 1: *cos_out = -s; *sin_out = c; break;
        case 2: *cos_out = -c; *sin_out = -s; break;
        default: *cos_out = s; *sin_out = -c; break;
    }
}

FN void box_muller(u32 a, u32 b, float* z0, float* z1)
{
    const float inv24 = 1.0f / 16777216.0f;
    float u1 = 1.0f - (float)(a >> 8) * inv24;
    float u2 = (float)(b >> 8) * inv24;
    float radius = sqrt_rn(-2.0f * portable_log(u1));   // correctly rounded on both sides
    float c, s;
    portable_cos_sin_turns(u2, &c, &s);
    *z0 = radius * c;
    *z1 = radius * s;
}

// The four standard normals of Philox block `block` of stream (key, stream_a, stream_b).
FN void normal_block(u64 block, u64 key, u32 stream_a, u32 stream_b, float z[4])
{
    u32 c[4] = { (u32)block, (u32)(block >> 32), stream_a, stream_b };
    philox(c, (u32)key, (u32)(key >> 32));
    box_muller(c[0], c[1], &z[0], &z[1]);
    box_muller(c[2], c[3], &z[2], &z[3]);
}

// bf16 lives in a 16-bit word and rounds to nearest even, as c10::BFloat16 does (NaN → 0x7FC0).
FN float bf16_to_float(unsigned short h) { return bits_to_float((u32)h << 16); }
FN unsigned short float_to_bf16(float f)
{
    u32 bits = float_to_bits(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short)0x7FC0;
    return (unsigned short)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

// Elements 4·block .. 4·block+3 of out = W + ε (row-major, `cols` per row): one Philox block, one division.
#define PERTURB_BLOCK(T, TO_FLOAT, FROM_FLOAT)                                                                 \
    {                                                                                                          \
        float z[4];                                                                                            \
        normal_block((u64)block, key, stream_a, stream_b, z);                                                  \
        long long n = block * 4;                                                                               \
        long long row = n / cols, col = n - row * cols;                                                        \
        float scale = row_scale[row];                                                                          \
        for (int k = 0; k < 4 && n < total; k++, n++, col++) {                                                 \
            if (col == cols) { col = 0; row++; scale = row_scale[row]; }                                       \
            float epsilon = z[k] * scale;                                                                      \
            out[n] = FROM_FLOAT(epsilon + TO_FLOAT(weight[n]));                                                \
        }                                                                                                      \
    }

#ifdef __CUDACC_RTC__
// fp16 uses the hardware's round-to-nearest-even conversion, as ATen's.
FN float f16_to_float(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
FN unsigned short float_to_f16(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
FN float f32_identity(float f) { return f; }

// out = W + ε for a contiguous (rows, cols) weight; one thread per Philox block of four elements, grid-stride.
#define PERTURBED_WEIGHT(NAME, T, TO_FLOAT, FROM_FLOAT)                                                        \
extern "C" __global__ void NAME(const T* __restrict__ weight, T* __restrict__ out, const float* __restrict__ row_scale, \
                                long long rows, long long cols, u64 key, u32 stream_a, u32 stream_b)           \
{                                                                                                              \
    long long total = rows * cols;                                                                             \
    for (long long block = (long long)blockIdx.x * blockDim.x + threadIdx.x; block * 4 < total;              \
         block += (long long)gridDim.x * blockDim.x)                                                           \
        PERTURB_BLOCK(T, TO_FLOAT, FROM_FLOAT)                                                                 \
}
PERTURBED_WEIGHT(flat_perturbed_weight_f32, float, f32_identity, f32_identity)
PERTURBED_WEIGHT(flat_perturbed_weight_bf16, unsigned short, bf16_to_float, float_to_bf16)
PERTURBED_WEIGHT(flat_perturbed_weight_f16, unsigned short, f16_to_float, float_to_f16)
#else
// The same element loop on the CPU (float32), for the tests.
#define CPU_IDENTITY(x) (x)
static void perturbed_weight_f32_cpu(const float* weight, float* out, const float* row_scale, long long rows, long long cols,
                                     u64 key, u32 stream_a, u32 stream_b)
{
    long long total = rows * cols;
    for (long long block = 0; block * 4 < total; block++)
        PERTURB_BLOCK(float, CPU_IDENTITY, CPU_IDENTITY)
}
#endif
