namespace FlatLora.Grains.Hosting;

/// <summary>A silo's devices and the cluster's timing (section "FlatLora:Cluster" in appsettings / environment).</summary>
public sealed class FlatLoraClusterOptions
{
    /// <summary>Explicit device list ("cuda:0", "cpu:0", ...); empty means discover.</summary>
    public string[] Devices { get; set; } = [];

    /// <summary>CPU slots to offer when there is no GPU (or <see cref="Cuda"/> is off).</summary>
    public int CpuSlots { get; set; } = 1;

    /// <summary>auto (use CUDA devices when CUDA initialises), on (require it) or off.</summary>
    public string Cuda { get; set; } = "auto";

    /// <summary>Intra-op threads for CPU training; default: processor count / CPU slots.</summary>
    public int? TorchThreads { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A rank silent this long is presumed dead; its run resumes from its last checkpoint.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MembershipCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}
