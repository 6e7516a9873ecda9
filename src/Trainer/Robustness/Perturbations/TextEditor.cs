using System.Text;
using System.Text.RegularExpressions;

namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>
/// Collects non-overlapping replacements of spans of one input and builds the output, recording every edit. Words
/// are runs of letters and combining marks, so a perturbation never cuts a word's accent or a surrogate pair.
/// </summary>
internal sealed partial class TextEditor(string perturbation, string text)
{
    private readonly List<(int Start, int Length, string Replacement, string Operation)> _changes = [];

    public string Text { get; } = text;

    [GeneratedRegex(@"[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*")]
    private static partial Regex WordPattern();

    public static IReadOnlyList<(int Start, int Length)> Words(string text) =>
        WordPattern().Matches(text).Select(m => (m.Index, m.Length)).ToList();

    public void Replace(int start, int length, string replacement, string operation) => _changes.Add((start, length, replacement, operation));

    public void Insert(int position, string inserted, string operation) => Replace(position, 0, inserted, operation);

    public PerturbedText Build()
    {
        var edits = new List<PerturbationEdit>();
        var output = new StringBuilder(Text.Length + 16);
        int cursor = 0;
        foreach (var change in _changes.OrderBy(c => c.Start).ThenBy(c => c.Length))
        {
            if (change.Start < cursor)
                continue;   // overlaps an earlier change: the first one wins
            output.Append(Text, cursor, change.Start - cursor).Append(change.Replacement);
            edits.Add(new PerturbationEdit(perturbation, change.Operation, change.Start, Text.Substring(change.Start, change.Length), change.Replacement));
            cursor = change.Start + change.Length;
        }
        output.Append(Text, cursor, Text.Length - cursor);
        return new PerturbedText(Text, output.ToString(), edits);
    }
}
