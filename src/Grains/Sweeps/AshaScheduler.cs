using FlatLora.Spec;

namespace FlatLora.Grains.Sweeps;

/// <summary>
/// Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020). A trial
/// (one configuration × seed) is judged the first time it reports the metric at or past each rung: it continues only
/// if it ranks within the best ⌈n / reduction⌉ of the n trials judged at that rung so far. The first trials at a rung
/// always continue, as in ASHA; later ones face a stiffer field.
/// </summary>
public sealed class AshaScheduler(AshaSpec spec, IDictionary<long, List<AshaRecord>>? records = null)
{
    private readonly IDictionary<long, List<AshaRecord>> _records = records ?? new Dictionary<long, List<AshaRecord>>();

    /// <summary>Per rung, the trials judged there; grain state keeps it across activations.</summary>
    public IDictionary<long, List<AshaRecord>> Records => _records;

    /// <summary>Reports a trial's metric at an optimizer step; returns the rung it failed at, or null to continue.</summary>
    public long? Report(string trial, long step, double value)
    {
        if (!double.IsFinite(value))
            return spec.Rungs.FirstOrDefault(r => step >= r) is long rung and > 0 ? rung : null;
        foreach (long rung in spec.Rungs.Where(r => step >= r))
        {
            List<AshaRecord> judged = Records.TryGetValue(rung, out var existing) ? existing : (Records[rung] = []);
            if (judged.Any(r => r.Trial == trial))
                continue;
            judged.Add(new AshaRecord(trial, value));
            int keep = (int)Math.Ceiling(judged.Count / (double)spec.Reduction);
            var ranked = spec.Mode == "min" ? judged.OrderBy(r => r.Value) : judged.OrderByDescending(r => r.Value);
            if (!ranked.Take(keep).Any(r => r.Trial == trial))
                return rung;
        }
        return null;
    }
}

/// <summary>A trial's metric when it was judged at a rung.</summary>
[GenerateSerializer]
public sealed record AshaRecord([property: Id(0)] string Trial, [property: Id(1)] double Value);
