using System.Diagnostics.Metrics;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Telemetry;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

/// <summary>
/// The cluster gauges (experiments by state, devices, queue) as Prometheus would read them: summed over every silo's
/// meter, they count each experiment and device once.
/// </summary>
[Collection(ClusterTests.Name)]
public class ClusterMetricsTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Gauges_count_experiments_by_state_and_devices_once_across_silos()
    {
        int completedBefore = Read("flatlora.experiments").Where(m => m.Tags["state"] == "completed").Sum(m => m.Value);
        string id = ClusterWaits.NewId("metrics");
        var spec = new TrainSpec
        {
            Method = new MethodSpec { Name = "lora" },
            Training = new TrainingSpec { MaxSteps = 3 },
            Experiment = new ExperimentSection { Name = "metrics", Seeds = [1] },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
        };
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = spec });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Completed, final.State);

        var experiments = Read("flatlora.experiments");
        Assert.Equal(completedBefore + 1, experiments.Where(m => m.Tags["state"] == "completed").Sum(m => m.Value));
        // Every state is exported (zeros included) by exactly one silo.
        Assert.Equal(Enum.GetValues<RunState>().Length, experiments.Count);
        Assert.Equal(Enum.GetNames<RunState>().Select(n => n.ToLowerInvariant()).Order(), experiments.Select(m => m.Tags["state"]).Order());

        ClusterSnapshot snapshot = await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync();
        var devices = Read("flatlora.devices");
        Assert.Equal(snapshot.Devices.Count, devices.Sum(m => m.Value));
        foreach (string silo in snapshot.Silos)
        {
            int free = snapshot.Devices.Count(d => d.Silo == silo && d.State == DeviceState.Free);
            Assert.Equal(free, devices.Where(m => m.Tags["node"] == silo && m.Tags["state"] == "free").Sum(m => m.Value));
        }
        Assert.Equal(snapshot.Queue.Count, Read("flatlora.queue.depth").Sum(m => m.Value));
    }

    [Fact]
    public async Task A_diverged_run_counts_one_nonfinite_loss_on_a_series_that_started_at_zero()
    {
        string id = ClusterWaits.NewId("nan");
        var additions = new System.Collections.Concurrent.ConcurrentQueue<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (published, l) =>
        {
            if (published.Meter.Name == TrainingMeter.Name && published.Name == "flatlora.training.nonfinite_losses")
                l.EnableMeasurementEvents(published);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "experiment" && (string?)tag.Value == id)
                    additions.Enqueue(value);
            }
        });
        listener.Start();
        var spec = new TrainSpec
        {
            Method = new MethodSpec { Name = "lora" },
            Training = new TrainingSpec { MaxSteps = 5 },
            Experiment = new ExperimentSection { Name = "fail", Seeds = [1], MaxRetries = 0 },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
        };
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = spec });
        Assert.Equal(RunState.Failed, (await ClusterWaits.FinalAsync(Grains, id)).State);
        // 0 when the first step is reported (so Prometheus' increase() sees the step), then 1 when the run diverges.
        Assert.Equal([0L, 1L], additions.ToArray());
    }

    private sealed record Reading(int Value, IReadOnlyDictionary<string, string> Tags);

    /// <summary>One collection of an instrument of the cluster meter, over every silo in this process.</summary>
    private static List<Reading> Read(string instrument)
    {
        var readings = new List<Reading>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (published, l) =>
        {
            if (published.Meter.Name == ClusterMeter.Name && published.Name == instrument)
                l.EnableMeasurementEvents(published);
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            readings.Add(new Reading(value, tags.ToArray().ToDictionary(t => t.Key, t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)!))));
        listener.Start();
        listener.RecordObservableInstruments();
        return readings;
    }
}
