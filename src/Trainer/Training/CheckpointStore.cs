using System.Globalization;

namespace FlatLora.Trainer.Training;

/// <summary>
/// Numbered checkpoint folders (<c>step-000050</c>) under one root. A checkpoint is written to a temporary folder
/// and renamed into place when complete, so a crash never leaves a half-written "latest" checkpoint. Only the
/// newest <c>keep</c> are kept.
/// </summary>
public sealed class CheckpointStore
{
    private const string Prefix = "step-";
    public const string StateFile = "trainer_state.json";

    public CheckpointStore(string root, int keep)
    {
        Root = root;
        Keep = Math.Max(1, keep);
    }

    public string Root { get; }
    public int Keep { get; }

    public string Save(long step, Action<string> writeContents)
    {
        Directory.CreateDirectory(Root);
        string final = Path.Combine(Root, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{step:D6}"));
        string temporary = $"{final}.tmp-{Environment.ProcessId}";
        if (Directory.Exists(temporary))
            Directory.Delete(temporary, recursive: true);
        try
        {
            Directory.CreateDirectory(temporary);
            writeContents(temporary);
            if (!File.Exists(Path.Combine(temporary, StateFile)))
                throw new InvalidOperationException($"checkpoint writer left no {StateFile} in {temporary}");
        }
        catch
        {
            // A full disk or a failed write: leave no half-written folder behind; the previous checkpoints stay as they are.
            TryDelete(temporary);
            throw;
        }
        if (Directory.Exists(final))
            Directory.Delete(final, recursive: true);
        Directory.Move(temporary, final);
        Prune();
        return final;
    }

    /// <summary>Complete checkpoints, oldest first.</summary>
    public IReadOnlyList<string> All()
    {
        if (!Directory.Exists(Root))
            return [];
        return Directory.GetDirectories(Root, Prefix + "*")
            .Where(d => !Path.GetFileName(d).Contains(".tmp", StringComparison.Ordinal))
            .Where(d => File.Exists(Path.Combine(d, StateFile)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: All() never lists a .tmp folder, and the next save replaces it.
        }
    }

    public string? Latest() => All() is { Count: > 0 } all ? all[^1] : null;

    private void Prune()
    {
        IReadOnlyList<string> all = All();
        foreach (string old in all.Take(Math.Max(0, all.Count - Keep)))
            Directory.Delete(old, recursive: true);
    }
}
