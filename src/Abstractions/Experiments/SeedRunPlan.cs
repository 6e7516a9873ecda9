using FlatLora.Spec;

namespace FlatLora.Abstractions.Experiments;

/// <summary>What a seeded run needs: its spec (seed and output folder already set) and how to run it.</summary>
[GenerateSerializer]
public sealed record SeedRunPlan
{
    [Id(0)] public required string ExperimentId { get; init; }
    [Id(1)] public long Seed { get; init; }
    [Id(2)] public required TrainSpec Spec { get; init; }
    [Id(3)] public int WorldSize { get; init; } = 1;
    [Id(4)] public int MaxRetries { get; init; }

    /// <summary>The fewest ranks a resumed attempt may run on when devices were lost (see experiment.min_world_size).</summary>
    [Id(5)] public int MinWorldSize { get; init; } = 1;

    /// <summary>The sweep the experiment belongs to, if any (its watchers and successive halving follow the seed too).</summary>
    [Id(6)] public string? SweepId { get; init; }

    /// <summary>Who submitted it: the project its devices are charged to (null in plans stored before owners existed).</summary>
    [Id(7)] public RunOwner? Owner { get; init; }

    [Id(8)] public PriorityClass Priority { get; init; } = PriorityClass.Normal;

    /// <summary>See experiment.preemptible.</summary>
    [Id(9)] public bool Preemptible { get; init; } = true;

    /// <summary>The seed-run grain key: "{experiment}/{seed}".</summary>
    public string RunKey => KeyOf(ExperimentId, Seed);

    public static string KeyOf(string experimentId, long seed) => new SeedRunKey(experimentId, seed).ToString();
}
