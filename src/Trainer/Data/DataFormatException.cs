namespace FlatLora.Trainer.Data;

/// <summary>A dataset line that cannot be used, with its file and 1-based line number.</summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string file, int line, string problem)
        : base($"{file}:{line}: {problem}")
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public string File { get; }
    public int Line { get; }
    public string Problem { get; }
}
