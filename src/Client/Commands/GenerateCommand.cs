using System.CommandLine;
using System.Text.Json;
using FlatLora.Trainer.Generation;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora generate`: continue prompts with a base model, optionally with a LoRA adapter.</summary>
internal sealed class GenerateCommand : FlatloraCommand
{
    private static readonly Option<string> ModelOption = new("--model", "-m")
    { Description = "Hugging Face model folder, or 'tiny' for the built-in model", Required = true };
    private static readonly Option<string?> AdapterOption = new("--adapter", "-a") { Description = "PEFT LoRA adapter folder" };
    private static readonly Option<string[]> PromptOption = new("--prompt", "-p")
    { Description = "Prompt text (repeatable: prompts are batched with left padding)", Required = true };
    private static readonly Option<bool> ChatOption = new("--chat") { Description = "Wrap each prompt as a user turn in the model's chat template" };
    private static readonly Option<int> MaxNewTokensOption = new("--max-new-tokens") { DefaultValueFactory = _ => 64 };
    private static readonly Option<double> TemperatureOption = new("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> TopPOption = new("--top-p") { DefaultValueFactory = _ => 1.0 };
    private static readonly Option<long> SeedOption = new("--seed") { DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> NoCacheOption = new("--no-cache") { Description = "Recompute all positions every step" };
    private static readonly Option<string> DeviceOption = new("--device") { DefaultValueFactory = _ => "cpu" };
    private static readonly Option<string> DtypeOption = new("--dtype") { DefaultValueFactory = _ => "float32" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "text or json", DefaultValueFactory = _ => "text" };

    public GenerateCommand() : base("generate", "Generate text with a model and an optional LoRA adapter")
    {
        FormatOption.AcceptOnlyFromAmong("text", "json");
        foreach (Option option in new Option[] { ModelOption, AdapterOption, PromptOption, ChatOption, MaxNewTokensOption, TemperatureOption,
                     TopPOption, SeedOption, NoCacheOption, DeviceOption, DtypeOption, FormatOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = parseResult.GetValue(MaxNewTokensOption),
            Temperature = parseResult.GetValue(TemperatureOption),
            TopP = parseResult.GetValue(TopPOption),
            Seed = parseResult.GetValue(SeedOption),
            UseCache = !parseResult.GetValue(NoCacheOption),
        };
        options.Validate();
        string[] prompts = parseResult.GetValue(PromptOption)!;
        BaseModel baseModel = BaseModelCatalog.Resolve(parseResult.GetValue(ModelOption)!, SilentObserver.Instance);
        IReadOnlyList<GenerationResult> results = await Task.Run(() =>
        {
            using var model = ModelLoader.Load(baseModel, parseResult.GetValue(AdapterOption),
                DeviceSelector.Dtype(parseResult.GetValue(DtypeOption)!), DeviceSelector.Resolve(parseResult.GetValue(DeviceOption)!), cancellationToken);
            var generator = new TextGenerator(model, baseModel.Tokenizer);
            return parseResult.GetValue(ChatOption)
                ? generator.GenerateChat(prompts.Select(p => (IReadOnlyList<ChatMessage>)[new ChatMessage("user", p)]).ToList(), options)
                : generator.Generate(prompts, options);
        }, cancellationToken).ConfigureAwait(false);

        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(FormatOption) == "json")
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(results.Select(r => new
            {
                prompt = r.Prompt, prompt_tokens = r.PromptTokens, text = r.Text, tokens = r.Tokens, finish_reason = r.FinishReason,
            }))).ConfigureAwait(false);
        }
        else
        {
            foreach (GenerationResult result in results)
                await output.WriteLineAsync(result.Prompt + result.Text).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }
}
