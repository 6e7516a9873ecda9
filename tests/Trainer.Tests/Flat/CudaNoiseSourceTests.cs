using System.Diagnostics;
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
        int main(int argc, char** argv)
        {
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
        string source = Path.Combine(RepositoryRoot(), "src", "Trainer", "Flat", "Cuda", "flat_noise.cu");
        File.Copy(source, dir.File("flat_noise.cu"));
        File.WriteAllText(dir.File("harness.c"), Harness);
        Run("gcc", ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-o", dir.File("harness"), dir.File("harness.c"), "-lm"], dir.Path);
        const int blocks = 4096;
        string output = Run(dir.File("harness"), [unchecked((ulong)key).ToString(CultureInfo.InvariantCulture), layer.ToString(CultureInfo.InvariantCulture),
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

    private static string Run(string command, string[] args, string directory)
    {
        var start = new ProcessStartInfo(command, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{command} is needed for this test (.ci/run installs gcc): {e.Message}", e);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{command} failed: {stderr}");
            return stdout.Result;
        }
    }

    private static string RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "FlatLora.Distributed.sln")))
            directory = Path.GetDirectoryName(directory);
        return directory ?? throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Without a GPU driver the kernel is unavailable, and says so instead of failing the run.</summary>
public sealed class CudaNoiseKernelFallbackTests
{
    [Fact]
    public void The_embedded_source_is_the_checked_file()
    {
        string file = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Trainer", "Flat", "Cuda", "flat_noise.cu"));
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
