namespace FlatLora.Trainer.Bench;

/// <summary>Peak resident memory of this process (Linux VmHWM), the CPU analogue of a GPU's peak allocation.</summary>
public static class PeakMemory
{
    public static double? HostGiB()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
            return null;
        string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is null)
            return null;
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.TryParse(parts[1], out long kib) ? kib / 1024.0 / 1024.0 : null;
    }
}
