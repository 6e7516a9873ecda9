using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Api.V1;
using RunState = FlatLora.Abstractions.Experiments.RunState;
using FlatLora.Client.Cluster;
using FlatLora.Spec;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora export ID --out DIR [--merged]`: download an experiment's adapters (PEFT format) through the cluster's API,
/// or merge them here into the base model as plain Hugging Face folders (the base model must be reachable here: the
/// built-in one, or the same folder or hub id).
/// </summary>
internal sealed class ExportCommand : ClusterCommand
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

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        if (ApiSession.IsSweepId(id))
            throw new ArgumentException($"export takes an experiment id; `flatlora results {id}` lists each configuration's experiment");
        ExperimentStatus status = await cluster.ExperimentAsync(id, cancellationToken).ConfigureAwait(false);
        long? only = parseResult.GetValue(SeedOption);
        var seeds = status.Seeds.Where(s => s.State == RunState.Completed && s.Metrics?.AdapterDirectory is not null && (only is null || s.Seed == only)).ToList();
        if (seeds.Count == 0)
            throw new ArgumentException(only is null ? $"{id} has no completed seed to export (state {status.State})" : $"{id} has no completed seed {only}");
        string outDirectory = parseResult.GetValue(OutOption)!;
        bool merged = parseResult.GetValue(MergedOption);
        string Target(long seed) => seeds.Count == 1 ? outDirectory : Path.Combine(outDirectory, $"seed-{seed}");
        // Adapters come down first, each into a staging folder that becomes the target (or the merge's input) once complete.
        string staging = Path.Combine(outDirectory, $".download-{Guid.NewGuid():N}");
        try
        {
            await DownloadAsync(cluster, id, only, staging, cancellationToken).ConfigureAwait(false);
            TrainSpec? spec = merged ? await cluster.ExperimentSpecAsync(id, cancellationToken).ConfigureAwait(false) : null;
            foreach (SeedRunStatus seed in seeds)
            {
                string adapter = Path.Combine(staging, seed.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
                string target = Target(seed.Seed);
                if (spec is not null)
                    await Task.Run(() => Merge(spec, adapter, target), cancellationToken).ConfigureAwait(false);
                else
                    MoveAdapter(adapter, target);
                await parseResult.InvocationConfiguration.Output.WriteLineAsync($"seed {seed.Seed}: {(merged ? "merged model" : "adapter")} written to {target}").ConfigureAwait(false);
            }
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
        return ExitCodes.Success;
    }

    private static async Task DownloadAsync(ApiSession cluster, string id, long? seed, string staging, CancellationToken cancellationToken)
    {
        FileStream? open = null;
        try
        {
            await foreach (FileChunk chunk in cluster.ExportAsync(id, seed, cancellationToken).ConfigureAwait(false))
            {
                // The server names files by their name in the adapter folder: nothing else may come of it.
                string name = Path.GetFileName(chunk.Path);
                if (name.Length == 0 || name != chunk.Path || name is "." or "..")
                    throw new InvalidDataException($"the cluster sent a file named '{chunk.Path}', which is not a file name");
                string file = Path.Combine(staging, chunk.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture), name);
                if (chunk.Offset == 0)
                {
                    if (open is not null)
                        await open.DisposeAsync().ConfigureAwait(false);
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    open = new FileStream(file, FileMode.CreateNew, FileAccess.Write);
                }
                else if (open is null || open.Name != file || open.Position != chunk.Offset)
                {
                    throw new InvalidDataException($"the cluster sent {chunk.Path} out of order (offset {chunk.Offset})");
                }
                await open.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (open is not null)
                await open.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void MoveAdapter(string adapter, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in new[] { PeftAdapter.ConfigFile, PeftAdapter.WeightsFile })
        {
            string source = Path.Combine(adapter, file);
            if (!File.Exists(source))
                throw new InvalidDataException($"the cluster's adapter has no {file}");
            File.Move(source, Path.Combine(target, file), overwrite: true);
        }
    }

    private static void Merge(TrainSpec spec, string adapter, string target)
    {
        BaseModel baseModel = BaseModelCatalog.Resolve(spec.Model, SilentObserver.Instance);
        using var model = ModelLoader.Load(baseModel, adapter, DeviceSelector.Dtype(spec.Model.Dtype), TorchSharp.torch.CPU);
        MergedExport.Write(model, target, spec.Model.Path is null ? null : HubCache.Resolve(spec.Model.Path));
    }
}
