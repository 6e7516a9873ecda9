namespace FlatLora.Trainer.Data;

/// <summary>How records become prompt text. The alpaca template is Stanford Alpaca's, verbatim.</summary>
public static class PromptTemplates
{
    public static string Instruction(string template, string instruction, string? input) => template switch
    {
        "alpaca" when string.IsNullOrEmpty(input) =>
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
            $"### Instruction:\n{instruction}\n\n### Response:\n",
        "alpaca" =>
            "Below is an instruction that describes a task, paired with an input that provides further context. " +
            "Write a response that appropriately completes the request.\n\n" +
            $"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        "plain" when string.IsNullOrEmpty(input) => $"{instruction}\n",
        "plain" => $"{instruction}\n{input}\n",
        _ => throw new ArgumentException($"unknown prompt template '{template}'", nameof(template)),
    };

    /// <summary>Classification as generation: the label word follows the text.</summary>
    public static string ClassificationPrompt(string text) => $"{text}\nLabel:";

    public static string ClassificationTarget(string label) => $" {label}";
}
