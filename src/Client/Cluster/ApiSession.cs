using System.Runtime.CompilerServices;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Api.Mapping;
using FlatLora.Spec;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = FlatLora.Api.V1;

namespace FlatLora.Client.Cluster;

/// <summary>
/// A command's session with a cluster through its public API (flatlora.v1), remote or the in-process silo of --local:
/// every call the cluster verbs make, answered as the cluster's own records so the views render them unchanged.
/// Reads retry while the cluster cannot route them (<see cref="ApiRetry"/>).
/// </summary>
public sealed partial class ApiSession : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly LocalCluster? _local;
    private readonly TextWriter _notices;
    private readonly V1.Experiments.ExperimentsClient _experiments;
    private readonly V1.Sweeps.SweepsClient _sweeps;
    private readonly V1.Cluster.ClusterClient _cluster;
    private readonly V1.Artifacts.ArtifactsClient _artifacts;

    private ApiSession(GrpcChannel channel, LocalCluster? local, string where, TextWriter notices)
    {
        _channel = channel;
        _local = local;
        _notices = notices;
        Where = where;
        _experiments = new V1.Experiments.ExperimentsClient(channel);
        _sweeps = new V1.Sweeps.SweepsClient(channel);
        _cluster = new V1.Cluster.ClusterClient(channel);
        _artifacts = new V1.Artifacts.ArtifactsClient(channel);
    }

    /// <summary>The API this session speaks to, for messages ("the cluster API at 10.0.0.5:7443").</summary>
    public string Where { get; }

    /// <summary>The cluster is an in-process silo that lives as long as the command.</summary>
    public bool IsLocal => _local is not null;

    /// <summary>The caller, as the server identified it.</summary>
    public V1.Caller Caller { get; private set; } = new();

    /// <summary>Connects (or starts --local) and asks who the caller is, within the connect timeout: a cluster that does not answer, or refuses the caller, is said at once.</summary>
    public static async Task<ApiSession> OpenAsync(ApiOptions options, TextWriter notices, CancellationToken cancellationToken)
    {
        LocalCluster? local = options.Local ? await LocalCluster.StartAsync(options.LocalCpuSlots, cancellationToken).ConfigureAwait(false) : null;
        ApiOptions reach = local is null ? options : new ApiOptions { Api = local.ApiEndpoint, TlsDirectory = null, Token = null, ConnectTimeout = options.ConnectTimeout };
        GrpcChannel channel;
        try
        {
            channel = ApiChannel.Create(reach);
        }
        catch
        {
            if (local is not null)
                await local.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var session = new ApiSession(channel, local, local is null ? $"the cluster API at {options.Api}" : "the in-process silo", notices);
        try
        {
            session.Caller = await session._cluster.WhoAmIAsync(new V1.WhoAmIRequest(), deadline: DateTime.UtcNow + options.ConnectTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            if (local is not null)
                await session.WaitForDevicesAsync(options.LocalCpuSlots, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unimplemented)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw ApiErrorReport.Unreachable(session.Where, e, options);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WaitForDevicesAsync(int count, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 200; i++)
        {
            if ((await ClusterAsync(cancellationToken).ConfigureAwait(false)).Devices.Count >= count)
                return;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        throw new ClusterUnavailableException("the in-process silo did not register its devices in 10 s");
    }

    private Task<T> Read<T>(Func<Task<T>> call, CancellationToken cancellationToken) => ApiRetry.ReadAsync(call, _notices, cancellationToken);

    public async Task<ExperimentStatus> SubmitExperimentAsync(string spec, string name, IReadOnlyList<string> overrides, CancellationToken cancellationToken)
    {
        var request = new V1.SubmitExperimentRequest { Spec = spec, SpecName = name };
        request.Set.Add(overrides);
        return (await _experiments.SubmitAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain();
    }

    public async Task<SweepStatus> SubmitSweepAsync(SweepSpec sweep, string name, CancellationToken cancellationToken) =>
        (await _sweeps.SubmitAsync(new V1.SubmitSweepRequest { Sweep = SpecJson.ToSpecText(sweep), SweepName = name }, cancellationToken: cancellationToken)
            .ConfigureAwait(false)).ToDomain();

    public Task<ExperimentStatus> ExperimentAsync(string id, CancellationToken cancellationToken) =>
        Read(async () => (await _experiments.GetAsync(new V1.GetExperimentRequest { Id = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain(), cancellationToken);

    public Task<ExperimentResults> ExperimentResultsAsync(string id, CancellationToken cancellationToken) =>
        Read(async () => (await _experiments.GetResultsAsync(new V1.GetExperimentRequest { Id = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain(), cancellationToken);

    public Task<TrainSpec> ExperimentSpecAsync(string id, CancellationToken cancellationToken) =>
        Read(async () => SpecLoader.LoadText<TrainSpec>((await _experiments.GetSpecAsync(new V1.GetExperimentRequest { Id = id }, cancellationToken: cancellationToken)
            .ConfigureAwait(false)).Json, $"{id} (its spec)"), cancellationToken);

    public Task<SweepStatus> SweepAsync(string id, CancellationToken cancellationToken) =>
        Read(async () => (await _sweeps.GetAsync(new V1.GetSweepRequest { Id = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain(), cancellationToken);

    public Task<SweepResults> SweepResultsAsync(string id, CancellationToken cancellationToken) =>
        Read(async () => (await _sweeps.GetResultsAsync(new V1.GetSweepRequest { Id = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain(), cancellationToken);

    public async Task<RunState> CancelAsync(string id, CancellationToken cancellationToken) =>
        (await _experiments.CancelAsync(new V1.CancelRequest { Id = id }, cancellationToken: cancellationToken).ConfigureAwait(false)).State.ToDomain();

    /// <summary>
    /// Whether <paramref name="id"/> is a sweep (ids the API gives start "sweep-"), else an experiment. A sweep's trials
    /// are experiments named after it, "{sweep}-c004".
    /// </summary>
    public static bool IsSweepId(string id) => id.StartsWith("sweep-", StringComparison.Ordinal) && !TrialSuffix().IsMatch(id);

    [System.Text.RegularExpressions.GeneratedRegex(@"-c\d{3,}$")]
    private static partial System.Text.RegularExpressions.Regex TrialSuffix();

    /// <summary>The run's state, then live events until it ends; the stream closes at its end.</summary>
    public async IAsyncEnumerable<ProgressEvent> WatchAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using AsyncServerStreamingCall<V1.ProgressEvent> call = _experiments.Watch(new V1.WatchRequest { Id = id }, cancellationToken: cancellationToken);
        await foreach (V1.ProgressEvent e in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return e.ToDomain();
    }

    /// <summary>Every entry the caller may see (its own, or with <paramref name="all"/> everything it may read), newest first.</summary>
    public async Task<IReadOnlyList<RegistryEntry>> ListAsync(bool all, CancellationToken cancellationToken)
    {
        var entries = new List<RegistryEntry>();
        string token = "";
        do
        {
            V1.ListResponse page = await Read(() => _experiments.ListAsync(new V1.ListRequest { All = all, PageSize = 1000, PageToken = token },
                cancellationToken: cancellationToken).ResponseAsync, cancellationToken).ConfigureAwait(false);
            entries.AddRange(page.Entries.Select(e => e.ToDomain()));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return entries;
    }

    public Task<ClusterSnapshot> ClusterAsync(CancellationToken cancellationToken) =>
        Read(async () => (await _cluster.GetAsync(new V1.GetClusterRequest(), cancellationToken: cancellationToken).ConfigureAwait(false)).ToDomain(), cancellationToken);

    /// <summary>The adapter files of the experiment's completed seeds, chunk by chunk.</summary>
    public async IAsyncEnumerable<V1.FileChunk> ExportAsync(string id, long? seed, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new V1.ExportRequest { Id = id };
        if (seed is long only)
            request.Seed = only;
        using AsyncServerStreamingCall<V1.FileChunk> call = _artifacts.ExportAdapters(request, cancellationToken: cancellationToken);
        await foreach (V1.FileChunk chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return chunk;
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (_local is not null)
            await _local.DisposeAsync().ConfigureAwait(false);
    }
}
