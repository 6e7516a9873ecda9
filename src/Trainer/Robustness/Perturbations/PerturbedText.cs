namespace FlatLora.Trainer.Robustness.Perturbations;

public enum PerturbationSeverity
{
    Light,
    Heavy,
}

/// <summary>One change a perturbation made: at <see cref="Position"/> (a char index into its input), <see cref="Original"/> became <see cref="Replacement"/>.</summary>
public sealed record PerturbationEdit(string Perturbation, string Operation, int Position, string Original, string Replacement);

/// <summary>A perturbed prompt and what changed.</summary>
public sealed record PerturbedText(string Original, string Text, IReadOnlyList<PerturbationEdit> Edits)
{
    public bool Changed => Text != Original;
}

/// <summary>
/// A seeded prompt perturbation. The same text, severity and generator state give the same output; each call
/// reports its edits. Outputs are valid Unicode (no split surrogate pairs), so they encode to valid UTF-8.
/// </summary>
public interface IPromptPerturbation
{
    /// <summary>Name used in specs and on the command line ("typo", "confusable", ...).</summary>
    string Name { get; }

    PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random);
}
