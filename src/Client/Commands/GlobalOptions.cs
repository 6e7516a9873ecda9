using System.CommandLine;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>Options every cluster command understands (recursive on the root command).</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Local = new("--local")
    { Description = "Start an in-process silo instead of connecting to a gateway (the run ends with the command)", Recursive = true };
    public static readonly Option<string?> Gateway = new("--gateway") { Description = "Silo gateway host:port (default 127.0.0.1:30000, $FLATLORA_GATEWAY)", Recursive = true };
    public static readonly Option<string?> Redis = new("--redis") { Description = "Find the cluster through Redis clustering ($FLATLORA_REDIS)", Recursive = true };
    public static readonly Option<string> ClusterId = new("--cluster-id") { DefaultValueFactory = _ => "flatlora", Recursive = true };
    public static readonly Option<int> LocalSlots = new("--slots") { Description = "CPU slots of the --local silo", DefaultValueFactory = _ => 1, Recursive = true };
    public static readonly Option<double> ConnectTimeout = new("--connect-timeout") { Description = "Seconds to wait for the cluster", DefaultValueFactory = _ => 15, Recursive = true };

    public static readonly Option<string?> TlsDir = new("--tls-dir")
    { Description = "Folder with ca.crt, client.crt and client.key for a TLS cluster ($FLATLORA_TLS_DIR)", Recursive = true };

    public static readonly Option<string?> LibTorch = new("--libtorch")
    { Description = "Folder of the libtorch to run on, e.g. PyTorch's torch/lib for CUDA ($FLATLORA_LIBTORCH)", Recursive = true };

    public static readonly Option<bool> Verbose = new("--verbose") { Description = "On an error, print the full exception (stack trace) after the one-line message", Recursive = true };

    public static IEnumerable<Option> All => [Local, Gateway, Redis, ClusterId, LocalSlots, ConnectTimeout, TlsDir, LibTorch, Verbose];

    public static ConnectionOptions Connection(ParseResult parseResult)
    {
        var options = new ConnectionOptions
        {
            Local = parseResult.GetValue(Local),
            ClusterId = parseResult.GetValue(ClusterId)!,
            ServiceId = parseResult.GetValue(ClusterId)!,
            LocalCpuSlots = Math.Max(1, parseResult.GetValue(LocalSlots)),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(1, parseResult.GetValue(ConnectTimeout))),
        };
        if (parseResult.GetValue(Gateway) is string gateway)
            options = options with { Gateway = gateway };
        if (parseResult.GetValue(Redis) is string redis)
            options = options with { Redis = redis };
        if (parseResult.GetValue(TlsDir) is string tls)
            options = options with { TlsDirectory = tls };
        return options;
    }
}
