using FlatLora.Abstractions.Experiments;

namespace FlatLora.Silo;

/// <summary>
/// The persistent progress-stream provider: Azure Storage queues (Azurite in the tests). A progress event waits in a
/// queue until a silo's pulling agent delivers it, so the events of a silo that died are delivered by the silo that
/// takes its queues over; with memory streams they die with the silo. Watchers and sweeps subscribe as before.
/// </summary>
public static class ProgressQueues
{
    /// <summary>Queues per cluster: the stream's events are spread over them by stream id.</summary>
    public const int Count = 4;

    /// <summary>Queue names are per cluster id, lower case, 3–63 characters (Azure's rules).</summary>
    public static IReadOnlyList<string> Names(string clusterId) =>
        [.. Enumerable.Range(0, Count).Select(i => $"flatlora-progress-{Sanitize(clusterId)}-{i}")];

    public static ISiloBuilder AddProgressQueues(this ISiloBuilder silo, string connectionString, string clusterId) =>
        silo.AddAzureQueueStreams(ProgressStreams.Provider, options => options.Configure(o =>
        {
            o.QueueServiceClient = new Azure.Storage.Queues.QueueServiceClient(connectionString);
            o.QueueNames = [.. Names(clusterId)];
        }));

    private static string Sanitize(string clusterId)
    {
        string name = new([.. clusterId.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        return name.Length > 30 ? name[..30] : name;
    }
}
