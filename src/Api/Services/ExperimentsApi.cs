using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Api.Authorization;
using FlatLora.Api.Identity;
using FlatLora.Api.Mapping;
using FlatLora.Spec;
using Grpc.Core;

namespace FlatLora.Api.Services;

/// <summary>
/// flatlora.v1.Experiments on every silo: checks the caller against the policy, then asks the experiment's grain.
/// Ids are the server's to give; a submitted run belongs to the caller.
/// </summary>
public sealed class ExperimentsApi(IClusterClient cluster, ApiGate gate, RunLookup runs) : V1.Experiments.ExperimentsBase
{
    /// <summary>The largest spec text a submit may carry.</summary>
    public const int MaxSpecBytes = 1 << 20;

    public override async Task<V1.Experiment> Submit(V1.SubmitExperimentRequest request, ServerCallContext context)
    {
        gate.Require(context, ApiAction.Submit, null, "a new experiment", mutating: true);
        TrainSpec spec = ReadSpec<TrainSpec>(request.Spec, request.SpecName, request.Set);
        gate.RequireSchedulable(context, spec.Experiment.Priority, "an experiment");
        string id = RunIds.New("exp");
        ExperimentStatus status = await cluster.GetGrain<IExperimentGrain>(id)
            .SubmitAsync(new ExperimentRequest { Spec = spec, Owner = context.Caller().AsOwner }).ConfigureAwait(false);
        gate.Created(context, id);
        return status.ToProto();
    }

    public override async Task<V1.Experiment> Get(V1.GetExperimentRequest request, ServerCallContext context)
    {
        ExperimentStatus status = await runs.ExperimentAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Read, status.Owner, request.Id);
        return status.ToProto();
    }

    public override async Task<V1.ExperimentResults> GetResults(V1.GetExperimentRequest request, ServerCallContext context)
    {
        ExperimentStatus status = await runs.ExperimentAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Read, status.Owner, request.Id);
        return (await cluster.GetGrain<IExperimentGrain>(request.Id).GetResultsAsync().ConfigureAwait(false)).ToProto();
    }

    public override async Task<V1.ExperimentSpec> GetSpec(V1.GetExperimentRequest request, ServerCallContext context)
    {
        ExperimentStatus status = await runs.ExperimentAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Read, status.Owner, request.Id);
        return new V1.ExperimentSpec { Json = SpecJson.Serialize(await cluster.GetGrain<IExperimentGrain>(request.Id).GetSpecAsync().ConfigureAwait(false)) };
    }

    public override async Task<V1.CancelResponse> Cancel(V1.CancelRequest request, ServerCallContext context)
    {
        (RegistryKind kind, RunOwner owner) = await runs.FindAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Cancel, owner, request.Id, mutating: true);
        if (kind == RegistryKind.Sweep)
        {
            ISweepGrain sweep = cluster.GetGrain<ISweepGrain>(request.Id);
            await sweep.CancelAsync().ConfigureAwait(false);
            return new V1.CancelResponse { State = (await sweep.GetStatusAsync().ConfigureAwait(false)).State.ToProto() };
        }
        IExperimentGrain experiment = cluster.GetGrain<IExperimentGrain>(request.Id);
        await experiment.CancelAsync().ConfigureAwait(false);
        return new V1.CancelResponse { State = (await experiment.GetStatusAsync().ConfigureAwait(false)).State.ToProto() };
    }

    public override async Task Watch(V1.WatchRequest request, IServerStreamWriter<V1.ProgressEvent> responseStream, ServerCallContext context)
    {
        (RegistryKind kind, RunOwner owner) = await runs.FindAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Watch, owner, request.Id);
        IAsyncEnumerable<ProgressEvent> events = kind == RegistryKind.Sweep
            ? ProgressWatch.SweepAsync(cluster, request.Id, context.CancellationToken)
            : ProgressWatch.ExperimentAsync(cluster, request.Id, context.CancellationToken);
        await foreach (ProgressEvent e in events.ConfigureAwait(false))
            await responseStream.WriteAsync(e.ToProto(), context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<V1.ListResponse> List(V1.ListRequest request, ServerCallContext context)
    {
        Caller caller = context.Caller();
        int size = request.PageSize is > 0 and <= 1000 ? request.PageSize
            : request.PageSize == 0 ? 50 : throw new ArgumentException($"page_size: must be in [1, 1000] (got {request.PageSize})");
        int offset = request.PageToken.Length == 0 ? 0
            : int.TryParse(request.PageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int o) ? o
            : throw new ArgumentException("page_token: not a token this API gave out");
        AuthSettings settings = gate.Settings;
        var query = new RegistryQuery
        {
            Everything = request.All && AccessPolicy.IsClusterAdmin(caller, settings),
            Own = caller.AsOwner,
            Projects = request.All ? AccessPolicy.ReadableProjects(caller, settings) : [],
            Offset = offset,
            Count = size,
        };
        RegistryPage page = await cluster.GetGrain<IExperimentRegistryGrain>(0).PageAsync(query).ConfigureAwait(false);
        var response = new V1.ListResponse
        {
            NextPageToken = offset + page.Entries.Count < page.Total ? (offset + page.Entries.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
        };
        response.Entries.Add(page.Entries.Select(e => e.ToProto()));
        return response;
    }

    /// <summary>A spec from the wire: capped in size, read with the same checks as a file (every bad field named).</summary>
    internal static T ReadSpec<T>(string text, string name, IEnumerable<string> overrides) where T : class, new()
    {
        int bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxSpecBytes)
            throw new ArgumentException($"spec: {bytes / 1024.0 / 1024:F1} MB, more than the {MaxSpecBytes >> 20} MB a submitted spec may have");
        return SpecLoader.LoadText<T>(text, name.Length == 0 ? "(submitted spec)" : Path.GetFileName(name), overrides);
    }
}
