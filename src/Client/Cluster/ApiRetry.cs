using Grpc.Core;

namespace FlatLora.Client.Cluster;

/// <summary>
/// Read-only API calls that outlive a lost silo: the API answers UNAVAILABLE while the cluster cannot route a call
/// (a dead silo not yet declared dead), and the channel moves to another API address when one stops answering. Such
/// reads are retried for a while, with one notice, instead of failing the command.
/// </summary>
public static class ApiRetry
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
            catch (RpcException e) when (IsTransient(e) && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                if (!noticed)
                    await notices.WriteLineAsync($"(cluster call refused: {e.Status.Detail}; a silo may have died, retrying for up to {Budget.TotalMinutes:F0} min)").ConfigureAwait(false);
                noticed = true;
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The cluster or the channel could not carry the call: nothing a service decided.</summary>
    public static bool IsTransient(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded;
}
