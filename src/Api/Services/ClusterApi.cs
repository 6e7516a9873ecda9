using FlatLora.Abstractions.Cluster;
using FlatLora.Api.Authorization;
using FlatLora.Api.Identity;
using FlatLora.Api.Mapping;
using Grpc.Core;

namespace FlatLora.Api.Services;

/// <summary>flatlora.v1.Cluster on every silo: devices, queue and health for anyone identified, and who the server takes the caller to be.</summary>
public sealed class ClusterApi(IClusterClient cluster, ApiGate gate) : V1.Cluster.ClusterBase
{
    public override async Task<V1.ClusterInfo> Get(V1.GetClusterRequest request, ServerCallContext context)
    {
        gate.Require(context, ApiAction.ReadCluster, null, null);
        return (await cluster.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync().ConfigureAwait(false)).ToProto();
    }

    public override Task<V1.Caller> WhoAmI(V1.WhoAmIRequest request, ServerCallContext context)
    {
        Caller caller = context.Caller();
        AuthSettings settings = gate.Settings;
        var answer = new V1.Caller
        {
            User = caller.User,
            Project = caller.Project,
            ClusterAdmin = AccessPolicy.IsClusterAdmin(caller, settings),
            AuthenticatedBy = caller.AuthenticatedBy,
        };
        answer.ProjectAdminOf.Add(settings.Projects.Where(p => AccessPolicy.IsProjectAdmin(caller.User, p.Key, settings)).Select(p => p.Key).Order(StringComparer.Ordinal));
        return Task.FromResult(answer);
    }
}
