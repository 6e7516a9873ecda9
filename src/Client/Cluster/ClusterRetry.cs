using FlatLora.Abstractions.Cluster;

namespace FlatLora.Client.Cluster;

/// <summary>
/// Read-only cluster calls that outlive a lost silo: until Orleans membership declares a dead silo dead, calls to
/// grains that lived there are refused; afterwards those grains reactivate elsewhere from storage. Such calls are
/// retried for a while, with a notice, instead of failing the command.
/// </summary>
public static class ClusterRetry
{
    public static readonly TimeSpan Budget = TimeSpan.FromMinutes(2);

    public static async Task<T> ReadAsync<T>(Func<Task<T>> call, TextWriter notices, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + Budget;
        bool noticed = false;
        while (true)
        {
            try
            {
                return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow < deadline)
            {
                if (!noticed)
                    await notices.WriteLineAsync($"(cluster call refused: {e.GetBaseException().Message}; a silo may have died, retrying for up to {Budget.TotalMinutes:F0} min)").ConfigureAwait(false);
                noticed = true;
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Calls that never reached their grain, response timeouts and lost connections: not errors a grain raised.</summary>
    public static bool IsTransient(Exception e) => UnroutedCall.Is(e) || e is TimeoutException
        || e is OrleansException { InnerException: Orleans.Runtime.Messaging.ConnectionFailedException };
}
