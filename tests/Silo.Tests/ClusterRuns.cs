using System.Text.Json;
using FlatLora.Trainer.IO;
using static TorchSharp.torch;

namespace FlatLora.Silo.Tests;

/// <summary>Submitting runs to a <see cref="SiloCluster"/> through the CLI and reading what they left behind.</summary>
internal static class ClusterRuns
{
    public static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Submits and watches to the end; returns the first seed's status.</summary>
    public static async Task<JsonElement> SubmitAndWaitAsync(SiloCluster cluster, string spec)
    {
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", spec, "--watch", "--format", "json", .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        return Seed(JsonDocument.Parse(output[output.IndexOf("{\n", StringComparison.Ordinal)..]).RootElement);
    }

    /// <summary>Submits without waiting; returns the experiment id.</summary>
    public static async Task<string> SubmitAsync(SiloCluster cluster, string spec)
    {
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", spec, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
    }

    /// <summary>Watches an experiment to its end; asserts its first seed completed all <paramref name="steps"/>.</summary>
    public static async Task<JsonElement> WaitAsync(SiloCluster cluster, string id, int steps)
    {
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["watch", id, .. cluster.CliConnection]);
        // Just after a host is cut off, membership still lists its gateway, and a client that dials it first gets no
        // answer within its connect timeout: ask again once the cluster has routed around the host.
        for (int retry = 0; retry < 4 && code != 0 && output.Contains("could not reach a FlatLora cluster", StringComparison.Ordinal); retry++)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["watch", id, .. cluster.CliConnection]);
        }
        Assert.True(code == 0, output);
        JsonElement seed = await ResultsAsync(cluster, id);
        Assert.True(seed.GetProperty("state").GetString() == "completed", seed.ToString());
        Assert.Equal(steps, seed.GetProperty("metrics").GetProperty("steps").GetInt32());
        return seed;
    }

    public static async Task<JsonElement> ResultsAsync(SiloCluster cluster, string id)
    {
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["results", id, "--format", "json", .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        return Seed(JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]).RootElement);
    }

    private static JsonElement Seed(JsonElement results) => results.GetProperty("status").GetProperty("seeds")[0].Clone();

    /// <summary>The silo of each rank of the seed's current (or last) attempt.</summary>
    public static List<string> Silos(JsonElement seed) =>
        seed.GetProperty("devices").EnumerateArray().Select(d => d.GetString()!.Split('/')[0]).ToList();

    public static string AdapterFile(JsonElement seed) =>
        Path.Combine(seed.GetProperty("metrics").GetProperty("adapter_directory").GetString()!, "adapter_model.safetensors");

    /// <summary>Polls rank 0's metrics log until it reaches <paramref name="step"/>; returns the step it saw.</summary>
    public static async Task<int> WaitForStepAsync(string metrics, int step)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(metrics))
            {
                int last = File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
                    .Where(e => e.GetProperty("kind").GetString() == "step").Select(e => e.GetProperty("step").GetInt32()).DefaultIfEmpty(-1).Max();
                if (last + 1 >= step)
                    return last + 1;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"{metrics} did not reach step {step} in 3 minutes");
    }

    /// <summary>Largest |a − b| / max|a| over the tensors of two adapter files.</summary>
    public static double MaxRelativeDifference(string a, string b)
    {
        using var scope = NewDisposeScope();
        using SafeTensorsFile first = SafeTensorsFile.Open(a), second = SafeTensorsFile.Open(b);
        Assert.Equal(first.Tensors.Keys.Order(), second.Tensors.Keys.Order());
        return first.Tensors.Keys.Max(name =>
        {
            Tensor x = first.Read(name, ScalarType.Float32), y = second.Read(name, ScalarType.Float32);
            return ((x - y).abs().max() / x.abs().max().clamp_min(1e-12)).item<float>();
        });
    }
}
