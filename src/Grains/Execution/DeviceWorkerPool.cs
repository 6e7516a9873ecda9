using FlatLora.Grains.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace FlatLora.Grains.Execution;

/// <summary>This silo's devices, each with its own trainer thread.</summary>
public sealed class DeviceWorkerPool : IDisposable
{
    private readonly Dictionary<string, DeviceWorker> _workers;

    public DeviceWorkerPool(IOptions<FlatLoraClusterOptions> options, IShardJobRunner runner, IShardReporter reporter, ILoggerFactory loggers)
    {
        FlatLoraClusterOptions o = options.Value;
        Devices = Discover(o);
        int cpuSlots = Devices.Count(d => d.StartsWith("cpu", StringComparison.Ordinal));
        if (cpuSlots > 0)
            torch.set_num_threads(o.TorchThreads ?? Math.Max(1, Environment.ProcessorCount / cpuSlots));
        ILogger logger = loggers.CreateLogger<DeviceWorker>();
        _workers = Devices.ToDictionary(d => d, d => new DeviceWorker(d, runner, reporter, o.HeartbeatInterval, logger), StringComparer.Ordinal);
    }

    public IReadOnlyList<string> Devices { get; }

    public DeviceWorker Get(string device) => _workers.TryGetValue(device, out DeviceWorker? worker)
        ? worker
        : throw new ArgumentException($"this silo has no device '{device}' (it has: {string.Join(", ", Devices)})", nameof(device));

    private static IReadOnlyList<string> Discover(FlatLoraClusterOptions o)
    {
        if (o.Devices.Length > 0)
        {
            string? bad = o.Devices.FirstOrDefault(d => !(d.StartsWith("cpu:", StringComparison.Ordinal) || d.StartsWith("cuda:", StringComparison.Ordinal)));
            return bad is null ? o.Devices : throw new ArgumentException($"FlatLora:Cluster:Devices: '{bad}' is not cpu:N or cuda:N");
        }
        if (o.Cuda is not ("auto" or "on" or "off"))
            throw new ArgumentException($"FlatLora:Cluster:Cuda must be auto, on or off (got '{o.Cuda}')");
        if (o.Cuda != "off" && torch.cuda.is_available())
            return Enumerable.Range(0, torch.cuda.device_count()).Select(i => $"cuda:{i}").ToList();
        if (o.Cuda == "on")
            throw new InvalidOperationException("FlatLora:Cluster:Cuda is 'on' but CUDA did not initialise in this silo");
        if (o.CpuSlots < 1)
            throw new ArgumentException($"FlatLora:Cluster:CpuSlots must be at least 1 (got {o.CpuSlots})");
        return Enumerable.Range(0, o.CpuSlots).Select(i => $"cpu:{i}").ToList();
    }

    /// <summary>Cancels every running job and waits (up to the timeout) for the device threads to go idle.</summary>
    public async Task StopAllAsync(TimeSpan timeout)
    {
        foreach (DeviceWorker worker in _workers.Values)
            worker.CancelCurrent();
        await Task.WhenAll(_workers.Values.Select(w => w.WaitIdleAsync(timeout))).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (DeviceWorker worker in _workers.Values)
            worker.Dispose();
    }
}
