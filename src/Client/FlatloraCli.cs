using System.CommandLine;
using FlatLora.Client.Commands;

namespace FlatLora.Client;

/// <summary>The `flatlora` command tree.</summary>
public static class FlatloraCli
{
    public static RootCommand Build() => new("flatlora: LoRA and Flat-LoRA fine-tuning of Llama-family models")
    {
        new TrainCommand(),
        new GenerateCommand(),
        new MergeCommand(),
        new BenchCommand(),
    };
}
