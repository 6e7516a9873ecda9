using FlatLora.Abstractions.Experiments;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// Publishes progress on the experiment's stream and, for an experiment of a sweep, on the sweep's too. Publishing never
/// fails the grain's turn: progress is for watchers and successive halving, and a lost event changes no state.
/// </summary>
internal sealed partial class ProgressPublisher(IStreamProvider provider, string experimentId, string? sweepId, ILogger logger)
{
    public async Task PublishAsync(ProgressEvent progress)
    {
        try
        {
            await provider.GetStream<ProgressEvent>(ProgressStreams.Experiment(experimentId)).OnNextAsync(progress);
            if (sweepId is not null)
                await provider.GetStream<ProgressEvent>(ProgressStreams.Sweep(sweepId)).OnNextAsync(progress);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogDropped(logger, experimentId, progress.Kind, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Experiment {Id}: a {Kind} progress event was not published: {Error}")]
    private static partial void LogDropped(ILogger logger, string id, ProgressKind kind, string error);
}
