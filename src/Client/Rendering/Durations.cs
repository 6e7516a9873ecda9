using System.Globalization;

namespace FlatLora.Client.Rendering;

/// <summary>Durations for people. A clock past 24 h keeps counting hours ("31:05:09"), it never wraps to "07:05:09".</summary>
public static class Durations
{
    public static string Clock(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
            return "--:--:--";
        long total = (long)Math.Round(Math.Min(seconds, 359_999_999));   // under 100,000 hours
        return string.Create(CultureInfo.InvariantCulture, $"{total / 3600:00}:{total / 60 % 60:00}:{total % 60:00}");
    }
}
