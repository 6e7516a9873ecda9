using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Experiments;

/// <summary>The jobs of one attempt of a seed run: one per rank, all with the same peers, secret and resume point.</summary>
internal static class ShardJobs
{
    /// <param name="secret">The attempt's ring secret, only in a cluster without a cluster key; else empty.</param>
    public static IReadOnlyList<ShardJob> For(string runKey, SeedRunGrainState state, byte[] secret)
    {
        var peers = state.Devices.Select(d => d.ShardKey).ToList();
        var endpoints = state.Devices.Select(d => d.Endpoint).ToList();
        return Enumerable.Range(0, state.Devices.Count).Select(rank => new ShardJob
        {
            RunKey = runKey,
            ExperimentId = state.Plan!.ExperimentId,
            Seed = state.Plan.Seed,
            Rank = rank,
            WorldSize = state.Devices.Count,
            Attempt = state.Attempt,
            Spec = state.Plan.Spec,
            Peers = peers,
            PeerEndpoints = endpoints,
            Secret = secret,
            ResumeCheckpoint = state.LastCheckpoint,
            Grant = state.Devices[rank].Grant,
        }).ToList();
    }
}
