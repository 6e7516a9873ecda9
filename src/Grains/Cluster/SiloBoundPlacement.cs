using FlatLora.Abstractions.Cluster;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Places a grain on the silo named by the first segment of its key ("{silo}/{device}"), so a shard grain always
/// lives next to the device it drives. Orleans' role-based placement keys on assembly names, which does not fit.
/// </summary>
[GenerateSerializer]
public sealed class SiloBoundPlacement : PlacementStrategy
{
    public static readonly SiloBoundPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="SiloBoundPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloBoundPlacementAttribute() : PlacementAttribute(SiloBoundPlacement.Instance);

/// <summary>Finds the active silo whose configured name matches the key's first segment.</summary>
public sealed class SiloBoundPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString()!;
        string silo;
        try
        {
            silo = ShardKey.Parse(key).Silo;
        }
        catch (FormatException e)
        {
            throw new OrleansException($"cannot place '{key}': {e.Message}", e);
        }
        ClusterMembershipSnapshot snapshot = membership.CurrentSnapshot;
        foreach (SiloAddress candidate in context.GetCompatibleSilos(target))
        {
            if (snapshot.Members.TryGetValue(candidate, out ClusterMember? member) && member.Name == silo && member.Status == SiloStatus.Active)
                return Task.FromResult(candidate);
        }
        throw new OrleansException($"cannot place '{key}': silo '{silo}' is not an active member of the cluster");
    }
}
