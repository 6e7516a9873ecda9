using System.CommandLine;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora merge`: fold a LoRA adapter into its base and write a plain Hugging Face model folder.</summary>
internal sealed class MergeCommand : FlatloraCommand
{
    private static readonly Option<string> ModelOption = new("--model", "-m") { Description = "Base model folder, or 'tiny'", Required = true };
    private static readonly Option<string> AdapterOption = new("--adapter", "-a") { Description = "PEFT LoRA adapter folder", Required = true };
    private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "Output folder", Required = true }.OutputFolder();
    private static readonly Option<string> DtypeOption = new("--dtype") { Description = "Weights dtype of the output", DefaultValueFactory = _ => "float32" };
    private static readonly Option<double> ShardOption = new("--max-shard-gb")
    { Description = "Split the weights into shards of at most this many GiB", DefaultValueFactory = _ => 5.0 };

    public MergeCommand() : base("merge", "Merge a LoRA adapter into its base model (Hugging Face layout)")
    {
        foreach (Option option in new Option[] { ModelOption, AdapterOption, OutOption, DtypeOption, ShardOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string modelArgument = parseResult.GetValue(ModelOption)!;
        string outDirectory = parseResult.GetValue(OutOption)!;
        long shardBytes = (long)(parseResult.GetValue(ShardOption) * (1L << 30));
        IReadOnlyList<string> files = await Task.Run(() =>
        {
            BaseModel baseModel = BaseModelCatalog.Resolve(modelArgument, SilentObserver.Instance);
            using var model = ModelLoader.Load(baseModel, parseResult.GetValue(AdapterOption), DeviceSelector.Dtype(parseResult.GetValue(DtypeOption)!), TorchSharp.torch.CPU, cancellationToken);
            return MergedExport.Write(model, outDirectory, Directory.Exists(baseModel.Name) ? baseModel.Name : null, shardBytes, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
        await parseResult.InvocationConfiguration.Output.WriteLineAsync(
            $"Merged model written to {outDirectory} ({files.Count} weight file{(files.Count == 1 ? "" : "s")}).").ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
