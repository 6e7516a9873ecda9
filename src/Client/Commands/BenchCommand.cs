using System.CommandLine;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora bench ...`: performance measurements that print JSON (never timed unit tests).</summary>
internal sealed class BenchCommand : Command
{
    public BenchCommand() : base("bench", "Benchmarks; each prints its figures as JSON with --json")
    {
        Subcommands.Add(new BenchTrainCommand());
        Subcommands.Add(new BenchAllReduceCommand());
        Subcommands.Add(new BenchAllReduceWorkerCommand());
        Subcommands.Add(new BenchClusterCommand());
        Subcommands.Add(new BenchApiCommand());
    }
}
