using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Grains.Statistics;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

[Collection(ClusterTests.Name)]
public class SweepTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static TrainSpec Base => new()
    {
        Training = new TrainingSpec { MaxSteps = 4 },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    [Fact]
    public async Task Successive_halving_stops_weak_trials_from_the_evaluations_on_the_sweep_stream()
    {
        // Exact match is 0.1·(seed mod 5): seed 9 is best, seed 5 worst. One configuration per seed, run one at a time
        // best first (max_concurrent 1), so each later trial reaches the rung behind better ones and is stopped there.
        // (Seeds of one configuration would race for the devices, and a worse trial judged first is never stopped.)
        string id = ClusterWaits.NewId("asha");
        var spec = new SweepSpec
        {
            Name = "asha",
            Grid = new() { ["seed"] = ["9", "8", "7", "6", "5"] },
            MaxConcurrent = 1,
            Asha = new AshaSpec { Metric = "eval_exact_match", Mode = "max", Rungs = [4], Reduction = 2 },
            Metrics = ["eval_exact_match"],
        };
        // 100 fake steps (2 s): a stop decided at step 4 lands long before the trial could finish on its own.
        TrainSpec baseSpec = Base with { Training = Base.Training with { MaxSteps = 100, EvalEvery = 4 } };
        ISweepGrain sweep = Grains.GetGrain<ISweepGrain>(id);
        await sweep.SubmitAsync(new SweepRequest(spec, baseSpec));
        SweepStatus final = await ClusterWaits.UntilAsync(sweep.GetStatusAsync, s => s.State.IsFinal(), "the sweep to end", TimeSpan.FromSeconds(60));
        Assert.Equal(RunState.Completed, final.State);
        var states = new Dictionary<long, RunState>();
        foreach (var configuration in final.Configurations)
        {
            ExperimentStatus trial = await Grains.GetGrain<IExperimentGrain>(configuration.ExperimentId!).GetStatusAsync();
            states[trial.Seeds.Single().Seed] = trial.Seeds.Single().State;
        }
        Assert.Equal(RunState.Completed, states[9]);
        Assert.All(new long[] { 8, 7, 6, 5 }, seed => Assert.Equal(RunState.Stopped, states[seed]));
        Assert.Equal(4, final.EarlyStopped);
    }

    [Fact]
    public void A_grid_expands_to_its_cartesian_product_with_every_seed()
    {
        var sweep = new SweepSpec
        {
            Grid = new() { ["method.name"] = ["lora", "flat"], ["lora.rank"] = ["4", "8", "16"] },
            Random = new RandomSearchSpec { Trials = 2, Seed = 3, Space = new() { ["optimizer.lr"] = new DistributionSpec { LogUniform = [1e-4, 1e-2] } } },
            Seeds = [1, 2],
        };
        var configurations = SweepPlanner.Expand(sweep, Base);
        Assert.Equal(2 * 3 * 2, configurations.Count);
        Assert.Equal(12, configurations.Select(c => c.Label).Distinct().Count());
        Assert.All(configurations, c => Assert.Equal([1L, 2L], c.Spec.Experiment.Seeds));
        Assert.All(configurations, c => Assert.InRange(c.Spec.Optimizer.Lr, 1e-4, 1e-2));
        Assert.Contains(configurations, c => c.Spec.Lora.Rank == 16 && c.Spec.Method.Name == "flat");
        Assert.Equal(5e-4, Base.Optimizer.Lr);   // the base spec is untouched
    }

    [Fact]
    public void A_bad_grid_field_or_value_names_the_configuration()
    {
        var badField = new SweepSpec { Grid = new() { ["lora.rnak"] = ["4"] } };
        var error = Assert.Throws<SpecException>(() => SweepPlanner.Expand(badField, Base));
        Assert.Contains("lora.rnak", error.Message);
        var badValue = new SweepSpec { Grid = new() { ["lora.rank"] = ["8", "0"] } };
        var invalid = Assert.Throws<SpecException>(() => SweepPlanner.Expand(badValue, Base));
        Assert.Contains("configuration lora.rank=0", invalid.Message);
        Assert.Contains("lora.rank: must be at least 1", invalid.Message);
        var badCompare = new SweepSpec { Grid = new() { ["method.name"] = ["lora"] }, Compare = new CompareSpec() };
        Assert.Contains("must contain both", Assert.Throws<SpecException>(() => SweepPlanner.Expand(badCompare, Base)).Message);
    }

    [Fact]
    public async Task A_sweep_runs_every_configuration_and_compares_the_arms_with_welch()
    {
        string id = ClusterWaits.NewId("sweep");
        ISweepGrain sweep = Grains.GetGrain<ISweepGrain>(id);
        var spec = new SweepSpec
        {
            Name = "lora vs flat",
            Grid = new() { ["method.name"] = ["lora", "flat"] },
            Seeds = [1, 2, 3],
            MaxConcurrent = 1,
            Compare = new CompareSpec { Field = "method.name", A = "lora", B = "flat" },
            Metrics = ["eval_exact_match"],
        };
        SweepStatus submitted = await sweep.SubmitAsync(new SweepRequest(spec, Base));
        Assert.Equal(2, submitted.Configurations.Count);
        // max_concurrent 1: the second configuration waits for the first.
        Assert.Null(submitted.Configurations[1].ExperimentId);

        await foreach (ProgressEvent _ in ProgressWatch.SweepAsync(fixture.Cluster.Client, id))
        {
        }
        SweepResults results = await sweep.GetResultsAsync();
        Assert.Equal(RunState.Completed, results.Status.State);
        Assert.All(results.Rows, r => Assert.Equal(3, r.Seeds));
        double[] lora = [.. new long[] { 1, 2, 3 }.Select(s => FakeShardJobRunner.ExactMatch(s, "lora"))];
        double[] flat = [.. new long[] { 1, 2, 3 }.Select(s => FakeShardJobRunner.ExactMatch(s, "flat"))];
        Assert.Equal(lora.Average(), results.Rows.Single(r => r.Label == "method.name=lora").Metrics[0].Mean, 12);
        Comparison comparison = Assert.Single(results.Comparisons);
        WelchTTest.Result expected = WelchTTest.Test(lora, flat);
        Assert.Equal(expected.T, comparison.T, 12);
        Assert.Equal(expected.P, comparison.P, 12);
        Assert.Equal("method.name=lora", comparison.LabelA);
        Assert.Equal(3, results.Rows[0].AdapterDirectories.Count);
    }

    [Fact]
    public async Task Sharpness_at_sigma_flows_into_the_results_and_the_welch_test_between_arms()
    {
        string id = ClusterWaits.NewId("flatness");
        ISweepGrain sweep = Grains.GetGrain<ISweepGrain>(id);
        var spec = new SweepSpec
        {
            Grid = new() { ["method.name"] = ["lora", "flat"] },
            Set = new() { ["evaluation.flatness.sigma"] = "[0.05, 0.1]" },
            Seeds = [1, 2, 3],
            MaxConcurrent = 2,
            Compare = new CompareSpec { Field = "method.name", A = "lora", B = "flat" },
            Metrics = ["sharpness@0.05"],
        };
        await sweep.SubmitAsync(new SweepRequest(spec, Base));
        await foreach (ProgressEvent _ in ProgressWatch.SweepAsync(fixture.Cluster.Client, id))
        {
        }
        SweepResults results = await sweep.GetResultsAsync();
        Assert.Equal(RunState.Completed, results.Status.State);
        double[] lora = [.. new long[] { 1, 2, 3 }.Select(s => FakeShardJobRunner.Sharpness(s, "lora", 0.05))];
        double[] flat = [.. new long[] { 1, 2, 3 }.Select(s => FakeShardJobRunner.Sharpness(s, "flat", 0.05))];
        MetricSummary row = results.Rows.Single(r => r.Label == "method.name=flat").Metrics.Single();
        Assert.Equal("sharpness@0.05", row.Metric);
        Assert.Equal(flat.Average(), row.Mean, 12);
        Comparison comparison = Assert.Single(results.Comparisons);
        Assert.Equal(WelchTTest.Test(lora, flat).P, comparison.P, 12);
        // Each configuration's experiment summarises every sharpness@σ its seeds measured.
        ExperimentResults experiment = await Grains.GetGrain<IExperimentGrain>(results.Rows[0].ExperimentId!).GetResultsAsync();
        Assert.Contains(experiment.Summary, m => m.Metric == "sharpness@0.1" && m.Count == 3);
    }

    [Fact]
    public void A_sharpness_metric_needs_its_sigma_measured_and_unknown_metrics_are_refused()
    {
        var unmeasured = new SweepSpec { Grid = new() { ["method.name"] = ["lora"] }, Metrics = ["sharpness@0.05"] };
        var error = Assert.Throws<SpecException>(() => SweepPlanner.Expand(unmeasured, Base));
        Assert.Contains("metrics.0: sharpness@0.05 needs evaluation.flatness.sigma to list 0.05", error.Message);
        var unknown = new SweepSpec { Grid = new() { ["method.name"] = ["lora"] }, Metrics = ["eval_acc"] };
        Assert.Contains("metrics.0: unknown metric 'eval_acc'", Assert.Throws<SpecException>(() => SweepPlanner.Expand(unknown, Base)).Message);
        var badSet = new SweepSpec { Grid = new() { ["method.name"] = ["lora"] }, Set = new() { ["evaluation.flatness.sigmas"] = "[0.1]" } };
        Assert.Contains("set.", Assert.Throws<SpecException>(() => SweepPlanner.Expand(badSet, Base)).Message);
        var set = new SweepSpec { Grid = new() { ["method.name"] = ["lora"] }, Set = new() { ["evaluation.flatness.sigma"] = "[0.1]" }, Metrics = ["sharpness@0.1"] };
        SweepConfiguration only = Assert.Single(SweepPlanner.Expand(set, Base));
        Assert.Equal([0.1], only.Spec.Evaluation.Flatness.Sigma);
        Assert.Equal("method.name=lora", only.Label);   // set fields are not part of the label
    }

    [Fact]
    public async Task An_invalid_sweep_is_refused_before_anything_runs()
    {
        string id = ClusterWaits.NewId("badsweep");
        var spec = new SweepSpec { Grid = new() { ["method.rho"] = ["0.05", "-1"] } };
        var error = await Assert.ThrowsAsync<SpecRejectedException>(() => Grains.GetGrain<ISweepGrain>(id).SubmitAsync(new SweepRequest(spec, Base)));
        Assert.Contains(error.Errors, e => e.Contains("method.rho", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<Exception>(() => Grains.GetGrain<ISweepGrain>(id).GetStatusAsync());
    }
}
