using System.Globalization;
using FlatLora.Spec.Reporting;

namespace FlatLora.Spec;

/// <summary>Loads, validates and expands sweeps. Every configuration is a full, validated spec before anything runs.</summary>
public static class SweepPlanner
{
    public static readonly string[] AshaMetrics = ["eval_loss", "eval_exact_match", "eval_token_accuracy"];

    /// <summary>Reads a sweep file; a relative <c>base</c> path is taken from the sweep file's folder.</summary>
    public static (SweepSpec Sweep, TrainSpec Base) Load(string path)
    {
        SweepSpec sweep = SpecLoader.LoadFile<SweepSpec>(path);
        if (sweep.Base is not null && sweep.Spec is not null)
            throw new SpecException("base", "give the base spec either as a file (base) or inline (spec), not both", path);
        TrainSpec baseSpec = sweep.Spec
            ?? (sweep.Base is null ? new TrainSpec() : SpecLoader.LoadFile<TrainSpec>(
                Path.IsPathRooted(sweep.Base) ? sweep.Base : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, sweep.Base)));
        return (sweep with { Spec = baseSpec, Base = null }, baseSpec);
    }

    /// <summary>Grid × random trials, each with the sweep's seeds; throws listing every invalid field or configuration.</summary>
    /// <param name="paths">On a cluster: every configuration's paths are confined to its roots before anything checks a file.</param>
    /// <param name="checkFiles">False where the sweep runs elsewhere: its files are the cluster's to check (see <see cref="TrainSpecValidator.Validate"/>).</param>
    public static IReadOnlyList<SweepConfiguration> Expand(SweepSpec sweep, TrainSpec baseSpec, ClusterPaths? paths = null, bool checkFiles = true)
    {
        var errors = new List<SpecError>(Validate(sweep));
        SpecException.ThrowIfAny(errors);
        if (sweep.Set.Count > 0)
        {
            try
            {
                baseSpec = SpecLoader.WithOverrides(baseSpec, sweep.Set.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));
            }
            catch (SpecException e)
            {
                throw new SpecException(e.Errors.Select(x => x with { Field = $"set.{x.Field}" }).ToList());
            }
        }

        var points = new List<List<KeyValuePair<string, string>>> { new() };
        foreach ((string field, string[] values) in sweep.Grid.OrderBy(g => g.Key, StringComparer.Ordinal))
            points = points.SelectMany(p => values.Select(v => new List<KeyValuePair<string, string>>(p) { new(field, v) })).ToList();
        if (sweep.Random.Trials > 0)
        {
            var random = new Random(unchecked((int)sweep.Random.Seed));
            var draws = Enumerable.Range(0, sweep.Random.Trials)
                .Select(_ => sweep.Random.Space.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new KeyValuePair<string, string>(s.Key, Draw(s.Value, random))).ToList())
                .ToList();
            points = points.SelectMany(p => draws.Select(d => p.Concat(d).ToList())).ToList();
        }

        var configurations = new List<SweepConfiguration>();
        foreach (var overrides in points)
        {
            TrainSpec spec = sweep.Seeds.Length > 0 ? baseSpec with { Experiment = baseSpec.Experiment with { Seeds = sweep.Seeds } } : baseSpec;
            var configuration = new SweepConfiguration(configurations.Count, overrides, spec);
            try
            {
                configuration = configuration with { Spec = SpecLoader.WithOverrides(spec, overrides.Select(o => $"{o.Key}={o.Value}")) };
                if (paths is not null)
                    configuration = configuration with { Spec = paths.Confine(configuration.Spec) };
            }
            catch (SpecException e)
            {
                errors.AddRange(e.Errors.Select(x => x with { Location = $"configuration {configuration.Label}" }));
                continue;
            }
            errors.AddRange(TrainSpecValidator.Validate(configuration.Spec, checkFiles).Select(x => x with { Location = $"configuration {configuration.Label}" }));
            for (int i = 0; i < sweep.Metrics.Length; i++)
            {
                if (FlatnessMetrics.Sigma(sweep.Metrics[i]) is double sigma && !configuration.Spec.Evaluation.Flatness.Sigma.Contains(sigma))
                    errors.Add(new SpecError($"metrics.{i}", $"{sweep.Metrics[i]} needs evaluation.flatness.sigma to list {sigma.ToString(CultureInfo.InvariantCulture)}")
                    { Location = $"configuration {configuration.Label}" });
            }
            configurations.Add(configuration);
        }
        SpecException.ThrowIfAny(errors);
        return configurations;
    }

    public static IReadOnlyList<SpecError> Validate(SweepSpec sweep)
    {
        var errors = new List<SpecError>();
        void Check(bool ok, string field, string message)
        {
            if (!ok)
                errors.Add(new SpecError(field, message));
        }
        for (int i = 0; i < sweep.Metrics.Length; i++)
        {
            string metric = sweep.Metrics[i];
            Check(RunMetrics.Names.Contains(metric) || FlatnessMetrics.Sigma(metric) is not null, $"metrics.{i}",
                $"unknown metric '{metric}' (known: {string.Join(", ", RunMetrics.Names)}, sharpness@σ)");
        }
        Check(sweep.Metrics.Distinct().Count() == sweep.Metrics.Length, "metrics", "lists a metric twice");
        foreach ((string field, string[] values) in sweep.Grid)
            Check(values.Length > 0 && values.Distinct().Count() == values.Length, $"grid.{field}", "needs at least one value and no repeats");
        Check(sweep.Random.Trials is >= 0 and <= 1000, "random.trials", $"must be in [0, 1000] (got {sweep.Random.Trials})");
        Check(sweep.Random.Trials == 0 || sweep.Random.Space.Count > 0, "random.space", "random.trials > 0 needs a search space");
        foreach ((string field, DistributionSpec d) in sweep.Random.Space)
        {
            int kinds = new object?[] { d.Uniform, d.LogUniform, d.IntUniform, d.Choice }.Count(x => x is not null);
            Check(kinds == 1, $"random.space.{field}", "give exactly one of uniform, log_uniform, int_uniform, choice");
            Check(d.Uniform is null || (d.Uniform.Length == 2 && d.Uniform[0] < d.Uniform[1]), $"random.space.{field}.uniform", "needs [low, high] with low < high");
            Check(d.LogUniform is null || (d.LogUniform.Length == 2 && d.LogUniform[0] > 0 && d.LogUniform[0] < d.LogUniform[1]), $"random.space.{field}.log_uniform", "needs [low, high] with 0 < low < high");
            Check(d.IntUniform is null || (d.IntUniform.Length == 2 && d.IntUniform[0] <= d.IntUniform[1]), $"random.space.{field}.int_uniform", "needs [low, high] with low ≤ high");
            Check(d.Choice is null || d.Choice.Length > 0, $"random.space.{field}.choice", "needs at least one value");
            Check(!sweep.Grid.ContainsKey(field), $"random.space.{field}", "is also a grid field");
        }
        Check(sweep.Seeds.Distinct().Count() == sweep.Seeds.Length, "seeds", "lists a seed twice");
        Check(sweep.MaxConcurrent is >= 1 and <= 1024, "max_concurrent", $"must be in [1, 1024] (got {sweep.MaxConcurrent})");
        if (sweep.Asha is AshaSpec asha)
        {
            Check(AshaMetrics.Contains(asha.Metric), "asha.metric", $"must be one of {string.Join(", ", AshaMetrics)} (got '{asha.Metric}')");
            Check(asha.Mode is "min" or "max", "asha.mode", $"must be min or max (got '{asha.Mode}')");
            Check(asha.Rungs.Length > 0 && asha.Rungs.All(r => r > 0) && asha.Rungs.SequenceEqual(asha.Rungs.Order()), "asha.rungs",
                "needs increasing positive optimizer steps");
            Check(asha.Reduction >= 2, "asha.reduction", $"must be at least 2 (got {asha.Reduction})");
        }
        if (sweep.Compare is CompareSpec compare)
        {
            Check(compare.A != compare.B, "compare", "a and b must differ");
            Check(!sweep.Grid.TryGetValue(compare.Field, out string[]? values) || (values.Contains(compare.A) && values.Contains(compare.B)),
                "compare", $"grid.{compare.Field} must contain both '{compare.A}' and '{compare.B}'");
        }
        return errors;
    }

    private static string Draw(DistributionSpec d, Random random)
    {
        if (d.Uniform is { } u)
            return (u[0] + random.NextDouble() * (u[1] - u[0])).ToString("G6", CultureInfo.InvariantCulture);
        if (d.LogUniform is { } l)
            return Math.Exp(Math.Log(l[0]) + random.NextDouble() * (Math.Log(l[1]) - Math.Log(l[0]))).ToString("G6", CultureInfo.InvariantCulture);
        if (d.IntUniform is { } i)
            return random.NextInt64(i[0], i[1] + 1).ToString(CultureInfo.InvariantCulture);
        return d.Choice![random.Next(d.Choice.Length)];
    }
}
