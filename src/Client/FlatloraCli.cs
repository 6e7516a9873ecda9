using System.CommandLine;
using FlatLora.Client.Commands;

namespace FlatLora.Client;

/// <summary>The `flatlora` command tree.</summary>
public static class FlatloraCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("flatlora: LoRA and Flat-LoRA fine-tuning of Llama-family models, on one machine or an Orleans cluster")
        {
            new DemoCommand(),
            new TrainCommand(),
            new SubmitCommand(),
            new SweepCommand(),
            new StatusCommand(),
            new WatchCommand(),
            new CancelCommand(),
            new ResultsCommand(),
            new ExportCommand(),
            new ClusterInfoCommand(),
            new GenerateCommand(),
            new MergeCommand(),
            new RobustnessCommand(),
            new BenchCommand(),
        };
        foreach (Option option in GlobalOptions.All)
            root.Options.Add(option);
        return root;
    }
}
