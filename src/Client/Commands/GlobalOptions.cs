using System.CommandLine;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>Options every cluster command understands (recursive on the root command).</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Local = new("--local")
    { Description = "Start an in-process silo instead of connecting to a cluster (the run ends with the command)", Recursive = true };
    public static readonly Option<string?> Api = new("--api")
    { Description = "The cluster's API, host:port (several: comma-separated); default 127.0.0.1:7443, or $FLATLORA_API", Recursive = true };
    public static readonly Option<int> LocalSlots = new("--slots") { Description = "CPU slots of the --local silo", DefaultValueFactory = _ => 1, Recursive = true };
    public static readonly Option<double> ConnectTimeout = new("--connect-timeout") { Description = "Seconds to wait for the cluster", DefaultValueFactory = _ => 15, Recursive = true };

    public static readonly Option<string?> TlsDir = new("--tls-dir")
    { Description = "Folder with ca.crt, and client.crt and client.key to be identified by, for a TLS cluster ($FLATLORA_TLS_DIR)", Recursive = true };

    public static readonly Option<string?> Token = new("--token")
    { Description = "An OpenID Connect bearer token, for a cluster that identifies callers by tokens ($FLATLORA_TOKEN)", Recursive = true };

    public static readonly Option<string?> LibTorch = new("--libtorch")
    { Description = "Folder of the libtorch to run on, e.g. PyTorch's torch/lib for CUDA ($FLATLORA_LIBTORCH)", Recursive = true };

    public static readonly Option<bool> Verbose = new("--verbose") { Description = "On an error, print the full exception (stack trace) after the one-line message", Recursive = true };

    public static IEnumerable<Option> All => [Local, Api, LocalSlots, ConnectTimeout, TlsDir, Token, LibTorch, Verbose];

    public static ApiOptions Connection(ParseResult parseResult)
    {
        var options = new ApiOptions
        {
            Local = parseResult.GetValue(Local),
            LocalCpuSlots = Math.Max(1, parseResult.GetValue(LocalSlots)),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(1, parseResult.GetValue(ConnectTimeout))),
        };
        if (parseResult.GetValue(Api) is string api)
            options = options with { Api = api };
        if (parseResult.GetValue(TlsDir) is string tls)
            options = options with { TlsDirectory = tls };
        if (parseResult.GetValue(Token) is string token)
            options = options with { Token = token };
        return options;
    }
}
