using FlatLora.Tests.Shared;
using System.Globalization;
using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Tests.Flat;

/// <summary>
/// The CUDA kernel's noise math (src/Trainer/Flat/Cuda/flat_noise.cu) compiled as C on the CPU with contraction off
/// (as NVRTC compiles it, --fmad=false) must give the same bits as the C# generator. The GPU itself checks the
/// compiled kernel against the CPU path again before it uses it.
/// </summary>
public sealed class CudaNoiseSourceTests
{
    private const string Harness = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <math.h>
        #include "flat_noise.cu"
        /* W and the row scales from a formula both sides evaluate exactly. */
        static float weight_at(long long n) { return (float)((long long)((n * 2654435761LL) % 2001) - 1000) * 1e-5f; }
        static float scale_at(long long r) { return 0.001f * (float)(r + 1); }
        int main(int argc, char** argv)
        {
            if (argv[1][0] == 'w') {   /* w rows cols key a b: W + eps in f32 and rounded to bf16 */
                long long rows = atoll(argv[2]), cols = atoll(argv[3]);
                unsigned long long key = strtoull(argv[4], 0, 10);
                u32 a = (u32)strtoul(argv[5], 0, 10), b = (u32)strtoul(argv[6], 0, 10);
                float* w = malloc(sizeof(float) * rows * cols); float* o = malloc(sizeof(float) * rows * cols); float* s = malloc(sizeof(float) * rows);
                for (long long n = 0; n < rows * cols; n++) w[n] = weight_at(n);
                for (long long r = 0; r < rows; r++) s[r] = scale_at(r);
                perturbed_weight_f32_cpu(w, o, s, rows, cols, key, a, b);
                for (long long n = 0; n < rows * cols; n++) printf("%08x %04x\n", float_to_bits(o[n]), float_to_bf16(o[n]));
                return 0;
            }
            unsigned long long key = strtoull(argv[1], 0, 10);
            u32 a = (u32)strtoul(argv[2], 0, 10), b = (u32)strtoul(argv[3], 0, 10);
            unsigned long long first = strtoull(argv[4], 0, 10), blocks = strtoull(argv[5], 0, 10);
            for (unsigned long long block = first; block < first + blocks; block++) {
                float z[4];
                normal_block(block, key, a, b, z);
                for (int k = 0; k < 4; k++) printf("%08x\n", float_to_bits(z[k]));
            }
            return 0;
        }
        """;

    [Theory]
    [InlineData(42L, 0u, 0u, 0L)]
    [InlineData(-7L, 31u, 999u, 1L << 33)]   // a negative run key and a block index above 32 bits
    public void The_kernel_source_generates_the_same_normals_as_the_CPU(long key, uint layer, uint step, long firstBlock)
    {
        using var dir = new TempDirectory();
        string harness = Compile(dir);
        const int blocks = 4096;
        string output = Run(harness, [unchecked((ulong)key).ToString(CultureInfo.InvariantCulture), layer.ToString(CultureInfo.InvariantCulture),
            step.ToString(CultureInfo.InvariantCulture), firstBlock.ToString(CultureInfo.InvariantCulture), blocks.ToString(CultureInfo.InvariantCulture)], dir.Path);
        uint[] kernel = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(h => uint.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();

        var expected = new float[blocks * 4];
        new CounterNormal(key, layer, step).Fill(expected, firstBlock * 4);
        Assert.Equal(expected.Length, kernel.Length);
        int mismatches = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != kernel[i])
            {
                mismatches++;
                first = first < 0 ? i : first;
            }
        }
        Assert.True(mismatches == 0, $"{mismatches} of {expected.Length} normals differ; first at {first}: C# {expected[Math.Max(first, 0)]:R}, " +
            $"kernel {BitConverter.UInt32BitsToSingle(kernel[Math.Max(first, 0)]):R}");
    }

    [Theory]
    [InlineData(7, 13)]     // rows end inside Philox blocks
    [InlineData(5, 1024)]
    public void The_kernel_loop_gives_the_CPU_paths_perturbed_weight_and_bf16_rounding(int rows, int cols)
    {
        using var dir = new TempDirectory();
        string harness = Compile(dir);
        var stream = new CounterNormal(987654321, 3, 17);
        string output = Run(harness, ["w", rows.ToString(CultureInfo.InvariantCulture), cols.ToString(CultureInfo.InvariantCulture),
            unchecked((ulong)stream.Key).ToString(CultureInfo.InvariantCulture), stream.StreamA.ToString(CultureInfo.InvariantCulture),
            stream.StreamB.ToString(CultureInfo.InvariantCulture)], dir.Path);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // The CPU path of LayerPerturbation.PerturbedWeight: z·scale (per row) + W in float32, then the weight dtype.
        float[] weight = Enumerable.Range(0, rows * cols).Select(n => (float)((long)n * 2654435761L % 2001 - 1000) * 1e-5f).ToArray();
        float[] scale = Enumerable.Range(0, rows).Select(r => 0.001f * (r + 1)).ToArray();
        using var scope = TorchSharp.torch.NewDisposeScope();
        var rowScale = TorchSharp.torch.tensor(scale);
        var w = TorchSharp.torch.tensor(weight).reshape(rows, cols);
        var perturbed = Trainer.Flat.LayerPerturbation.PerturbedWeight(stream, rowScale, w);
        float[] expected = perturbed.reshape(-1).data<float>().ToArray();
        // The harness rounds its float32 result to bf16, as the kernel's bf16 variant rounds the float32 sum.
        float[] expectedBf16 = perturbed.to(TorchSharp.torch.ScalarType.BFloat16).to(TorchSharp.torch.ScalarType.Float32).reshape(-1).data<float>().ToArray();

        Assert.Equal(rows * cols, lines.Length);
        for (int n = 0; n < lines.Length; n++)
        {
            string[] parts = lines[n].Split(' ');
            Assert.True(uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == BitConverter.SingleToUInt32Bits(expected[n]), $"float32 element {n}");
            Assert.True(uint.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == BitConverter.SingleToUInt32Bits(expectedBf16[n]) >> 16, $"bfloat16 element {n}");
        }
    }

    private static string Compile(TempDirectory dir)
    {
        File.Copy(Path.Combine(RepositoryPaths.Root, "src", "Trainer", "Flat", "Cuda", "flat_noise.cu"), dir.File("flat_noise.cu"));
        File.WriteAllText(dir.File("harness.c"), Harness);
        Run("gcc", ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-o", dir.File("harness"), dir.File("harness.c"), "-lm"], dir.Path);
        return dir.File("harness");
    }

    private static string Run(string command, string[] args, string directory) => ExternalTool.RunChecked(command, args, directory);
}

/// <summary>Without a GPU driver the kernel is unavailable, and says so instead of failing the run.</summary>
public sealed class CudaNoiseKernelFallbackTests
{
    [Fact]
    public void The_embedded_source_is_the_checked_file()
    {
        string file = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Trainer", "Flat", "Cuda", "flat_noise.cu"));
        Assert.Equal(file, Trainer.Flat.Cuda.CudaNoiseKernel.Source());
    }

    [Fact]
    public void Without_a_driver_the_noise_falls_back_to_the_CPU_with_the_reason()
    {
        if (File.Exists("/proc/driver/nvidia/version"))
            return;   // a GPU machine: the fallback is not what happens there
        var kernel = Trainer.Flat.Cuda.CudaNoiseKernel.For(new TorchSharp.torch.Device("cuda:0"), out string description);
        Assert.Null(kernel);
        Assert.StartsWith("generated on the CPU and copied: the CUDA kernel is unavailable (", description);
        Assert.Contains("libcuda", description);
    }
}
