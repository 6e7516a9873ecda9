namespace FlatLora.Benchmarks.Training;

/// <summary>Peak resident memory of this process (Linux VmHWM), the CPU analogue of a GPU's peak allocation.</summary>
public static class PeakMemory
{
    public static double? HostGiB()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
            return null;
        string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? null : ParseStatusLine(line);
    }

    /// <summary>GiB of a /proc status line such as "VmHWM:\t  612345 kB".</summary>
    internal static double? ParseStatusLine(string line)
    {
        // A tab, then padding that vanishes once the value has 8 digits (10 GB and more).
        string[] parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], out long kib) ? kib / 1024.0 / 1024.0 : null;
    }
}
