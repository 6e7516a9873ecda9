using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;
using FlatLora.Spec;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Models;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora export ID --out DIR [--merged]`: copy an experiment's adapters (PEFT format), or merge them into the base
/// model as plain Hugging Face folders. Reads the adapters where the silos wrote them (shared storage).
/// </summary>
internal sealed class ExportCommand : ClusterCommandBase
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment id" };
    private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "Output folder", Required = true }.OutputFolder();
    private static readonly Option<bool> MergedOption = new("--merged") { Description = "Write base + adapter merged (transformers layout)" };
    private static readonly Option<long?> SeedOption = new("--seed") { Description = "Only this seed (default: every completed seed)" };

    public ExportCommand() : base("export", "Export an experiment's adapters, or merged models")
    {
        Arguments.Add(IdArgument);
        Options.Add(OutOption);
        Options.Add(MergedOption);
        Options.Add(SeedOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        if (await KindOfAsync(cluster, id, parseResult.InvocationConfiguration.Error).ConfigureAwait(false) == RegistryKind.Sweep)
            throw new ArgumentException($"export takes an experiment id; `flatlora results {id}` lists each configuration's experiment");
        IExperimentGrain experiment = cluster.Grains.GetGrain<IExperimentGrain>(id);
        ExperimentStatus status = await ClusterRetry.ReadAsync(experiment.GetStatusAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        long? only = parseResult.GetValue(SeedOption);
        var seeds = status.Seeds.Where(s => s.State == RunState.Completed && s.Metrics?.AdapterDirectory is not null && (only is null || s.Seed == only)).ToList();
        if (seeds.Count == 0)
            throw new ArgumentException(only is null ? $"{id} has no completed seed to export (state {status.State})" : $"{id} has no completed seed {only}");
        string outDirectory = parseResult.GetValue(OutOption)!;
        TrainSpec spec = await experiment.GetSpecAsync().ConfigureAwait(false);
        bool merged = parseResult.GetValue(MergedOption);
        foreach (SeedRunStatus seed in seeds)
        {
            string adapter = seed.Metrics!.AdapterDirectory!;
            if (!Directory.Exists(adapter))
                throw new DirectoryNotFoundException($"seed {seed.Seed}'s adapter {adapter} is not reachable from here; export on a machine that shares the silos' output storage");
            string target = seeds.Count == 1 ? outDirectory : Path.Combine(outDirectory, $"seed-{seed.Seed}");
            if (merged)
                await Task.Run(() => Merge(spec, adapter, target), cancellationToken).ConfigureAwait(false);
            else
                CopyAdapter(adapter, target);
            await parseResult.InvocationConfiguration.Output.WriteLineAsync($"seed {seed.Seed}: {(merged ? "merged model" : "adapter")} written to {target}").ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }

    private static void CopyAdapter(string adapter, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in new[] { PeftAdapter.ConfigFile, PeftAdapter.WeightsFile })
            File.Copy(Path.Combine(adapter, file), Path.Combine(target, file), overwrite: true);
    }

    private static void Merge(TrainSpec spec, string adapter, string target)
    {
        BaseModel baseModel = BaseModelCatalog.Resolve(spec.Model, SilentObserver.Instance);
        using var model = ModelLoader.Load(baseModel, adapter, DeviceSelector.Dtype(spec.Model.Dtype), TorchSharp.torch.CPU);
        MergedExport.Write(model, target, spec.Model.Path is null ? null : HubCache.Resolve(spec.Model.Path));
    }
}
