using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace FlatLora.Grains.Persistence;

/// <summary>
/// Writes grain state so that lost storage does not strand work. An active grain holds the newest copy of its state:
/// when storage lost the record or holds another version (its etag no longer matches), the grain re-reads it for
/// the current etag and writes its own copy back, and says so. A storage outage is retried for a while before the
/// write fails. Either way the condition goes to <see cref="StorageHealth"/> (/health, `flatlora cluster`).
/// </summary>
public static partial class DurableState
{
    private static readonly TimeSpan[] OutageBackoff = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5)];

    /// <returns>True when the stored record had vanished and was written back from memory.</returns>
    public static async Task<bool> WriteDurablyAsync<T>(this IPersistentState<T> state, StorageHealth health, string grain, ILogger logger)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                bool vanished = false;
                try
                {
                    await state.WriteStateAsync();
                }
                catch (InconsistentStateException e)
                {
                    T mine = state.State;
                    await state.ReadStateAsync();
                    vanished = !state.RecordExists;
                    state.State = mine;
                    await state.WriteStateAsync();
                    string what = vanished
                        ? "its stored state had vanished (storage restarted empty?); written back from memory"
                        : $"its stored state had changed behind it ({e.Message}); overwritten with the active copy";
                    health.Restored(grain, what);
                    LogRestored(logger, grain, what);
                }
                health.Succeeded(grain);
                return vanished;
            }
            catch (Exception e) when (e is not InconsistentStateException && e is not OutOfMemoryException && attempt < OutageBackoff.Length)
            {
                health.Failing(grain, $"storage write failed, retrying: {e.GetBaseException().Message}");
                LogRetrying(logger, grain, e.GetBaseException().Message);
                await Task.Delay(OutageBackoff[attempt]);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Grain}: {What}")]
    private static partial void LogRestored(ILogger logger, string grain, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Grain}: storage write failed, retrying: {Error}")]
    private static partial void LogRetrying(ILogger logger, string grain, string error);
}
