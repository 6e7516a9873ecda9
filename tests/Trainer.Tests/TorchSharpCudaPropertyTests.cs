using System.Diagnostics;
using System.Text.Json;

namespace FlatLora.Trainer.Tests;

/// <summary>-p:TorchSharpCuda=true swaps the CPU libtorch for TorchSharp's CUDA package (MSBuild evaluation only, no restore).</summary>
public class TorchSharpCudaPropertyTests
{
    private static string RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Directory.Packages.props")))
            directory = Path.GetDirectoryName(directory);
        return directory ?? throw new DirectoryNotFoundException("no Directory.Packages.props above the test binaries");
    }

    private static JsonElement Evaluate(params string[] properties)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
        foreach (string argument in new[] { "msbuild", "src/Trainer/FlatLora.Trainer.csproj", "-getItem:PackageReference", "-getItem:PackageVersion" }.Concat(properties))
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output + process.StandardError.ReadToEnd());
        return JsonDocument.Parse(output).RootElement.GetProperty("Items").Clone();
    }

    private static List<string> References(JsonElement items) =>
        [.. items.GetProperty("PackageReference").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!)];

    [Fact]
    public void The_property_references_the_cuda_package_instead_of_the_cpu_libtorch()
    {
        List<string> byDefault = References(Evaluate());
        Assert.Contains("libtorch-cpu-linux-x64", byDefault);
        Assert.DoesNotContain("TorchSharp-cuda-linux", byDefault);

        JsonElement cuda = Evaluate("-p:TorchSharpCuda=true");
        List<string> withCuda = References(cuda);
        Assert.Contains("TorchSharp-cuda-linux", withCuda);
        Assert.DoesNotContain("libtorch-cpu-linux-x64", withCuda);
        Assert.Contains("TorchSharp", withCuda);
        JsonElement version = cuda.GetProperty("PackageVersion").EnumerateArray().Single(i => i.GetProperty("Identity").GetString() == "TorchSharp-cuda-linux");
        JsonElement torchSharp = cuda.GetProperty("PackageVersion").EnumerateArray().Single(i => i.GetProperty("Identity").GetString() == "TorchSharp");
        Assert.Equal(torchSharp.GetProperty("Version").GetString(), version.GetProperty("Version").GetString());
    }
}
