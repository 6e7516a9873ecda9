using FlatLora.Abstractions.Sweeps;
using FlatLora.Api.Authorization;
using FlatLora.Api.Identity;
using FlatLora.Api.Mapping;
using FlatLora.Spec;
using Grpc.Core;

namespace FlatLora.Api.Services;

/// <summary>flatlora.v1.Sweeps on every silo: a sweep arrives with its base spec inline, belongs to its caller, and is expanded and checked by its grain.</summary>
public sealed class SweepsApi(IClusterClient cluster, ApiGate gate, RunLookup runs) : V1.Sweeps.SweepsBase
{
    public override async Task<V1.Sweep> Submit(V1.SubmitSweepRequest request, ServerCallContext context)
    {
        gate.Require(context, ApiAction.Submit, null, "a new sweep", mutating: true);
        SweepSpec sweep = ExperimentsApi.ReadSpec<SweepSpec>(request.Sweep, request.SweepName, []);
        if (sweep.Base is not null)
            throw new SpecException("base", $"'{sweep.Base}' is a path on the submitting machine; a sweep sent to the cluster carries its base spec inline (spec: ...)");
        foreach (string varied in new[] { "experiment.priority", "experiment.preemptible" })
        {
            if (sweep.Grid.ContainsKey(varied) || sweep.Random.Space.ContainsKey(varied))
                throw new SpecException(varied, "is the sweep's, not a trial's: set it in the base spec or under set:, not in grid or random.space");
        }
        gate.RequireSchedulable(context, sweep.Set.GetValueOrDefault("experiment.priority") ?? sweep.Spec?.Experiment.Priority, "a sweep");
        string id = RunIds.New("sweep");
        SweepStatus status = await cluster.GetGrain<ISweepGrain>(id)
            .SubmitAsync(new SweepRequest(sweep, sweep.Spec ?? new TrainSpec(), context.Caller().AsOwner)).ConfigureAwait(false);
        gate.Created(context, id);
        return status.ToProto();
    }

    public override async Task<V1.Sweep> Get(V1.GetSweepRequest request, ServerCallContext context)
    {
        SweepStatus status = await runs.SweepAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Read, status.Owner, request.Id);
        return status.ToProto();
    }

    public override async Task<V1.SweepResults> GetResults(V1.GetSweepRequest request, ServerCallContext context)
    {
        SweepStatus status = await runs.SweepAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Read, status.Owner, request.Id);
        return (await cluster.GetGrain<ISweepGrain>(request.Id).GetResultsAsync().ConfigureAwait(false)).ToProto();
    }
}
