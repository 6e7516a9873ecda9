namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>One perturbation at one severity, as written in specs and on the command line: "typo:heavy".</summary>
public sealed record PerturbationChoice(IPromptPerturbation Perturbation, PerturbationSeverity Severity)
{
    public string Label => $"{Perturbation.Name}:{Severity.ToString().ToLowerInvariant()}";

    public PerturbedText Apply(string text, ref PerturbationRandom random) => Perturbation.Apply(text, Severity, ref random);
}

/// <summary>The built-in perturbations by name, and the parser for "name[:light|heavy]" lists.</summary>
public static class PerturbationCatalog
{
    public static readonly IReadOnlyList<IPromptPerturbation> All =
    [
        new TypoPerturbation(), new SpacingPerturbation(), new PunctuationPerturbation(), new ConfusablePerturbation(),
        new EmojiPerturbation(), new CasingPerturbation(), new WordDeletionPerturbation(), new SynonymPerturbation(),
    ];

    public static IReadOnlyList<string> Names => All.Select(p => p.Name).ToList();

    /// <summary>Parses "typo:heavy,confusable:light" (severity defaults to light); <paramref name="field"/> names the source in errors.</summary>
    public static IReadOnlyList<PerturbationChoice> Parse(string list, string field = "--perturb") =>
        Parse(list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), field);

    public static IReadOnlyList<PerturbationChoice> Parse(IReadOnlyList<string> items, string field)
    {
        if (items.Count == 0)
            throw new ArgumentException($"{field}: name at least one perturbation ({string.Join(", ", Names)})");
        var choices = new List<PerturbationChoice>();
        foreach (string item in items)
        {
            string[] parts = item.Split(':');
            IPromptPerturbation perturbation = All.FirstOrDefault(p => p.Name == parts[0])
                ?? throw new ArgumentException($"{field}: unknown perturbation '{parts[0]}' in '{item}' (known: {string.Join(", ", Names)})");
            PerturbationSeverity severity = parts.Length switch
            {
                1 => PerturbationSeverity.Light,
                2 when parts[1] == "light" => PerturbationSeverity.Light,
                2 when parts[1] == "heavy" => PerturbationSeverity.Heavy,
                _ => throw new ArgumentException($"{field}: '{item}' must be name, name:light or name:heavy"),
            };
            choices.Add(new PerturbationChoice(perturbation, severity));
        }
        return choices;
    }

    /// <summary>Applies several perturbations in turn; each edit's position refers to the text that perturbation saw.</summary>
    public static PerturbedText Compose(string text, IReadOnlyList<PerturbationChoice> choices, ref PerturbationRandom random)
    {
        string current = text;
        var edits = new List<PerturbationEdit>();
        foreach (PerturbationChoice choice in choices)
        {
            PerturbedText step = choice.Apply(current, ref random);
            edits.AddRange(step.Edits);
            current = step.Text;
        }
        return new PerturbedText(text, current, edits);
    }
}
