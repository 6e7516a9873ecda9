using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Places a singleton grain (the inventory, the registry) on the oldest active silo. Every placement and every status
/// goes through these grains, and each move costs the time Orleans takes to declare their silo dead: the silo that has
/// lived longest is the one least likely to be a new, still settling, or rolling-updated one. Silos agree on the choice
/// because a silo's generation is its start time.
/// </summary>
[GenerateSerializer]
public sealed class OldestSiloPlacement : PlacementStrategy
{
    public static readonly OldestSiloPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="OldestSiloPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OldestSiloPlacementAttribute() : PlacementAttribute(OldestSiloPlacement.Instance);

public sealed class OldestSiloPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ClusterMembershipSnapshot snapshot = membership.CurrentSnapshot;
        SiloAddress? oldest = context.GetCompatibleSilos(target)
            .Where(s => snapshot.Members.TryGetValue(s, out ClusterMember? m) && m.Status == SiloStatus.Active)
            .OrderBy(s => s.Generation).ThenBy(s => s.ToParsableString(), StringComparer.Ordinal)
            .FirstOrDefault();
        return Task.FromResult(oldest ?? context.GetCompatibleSilos(target).First());
    }
}
