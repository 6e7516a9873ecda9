using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Persistence;

/// <summary>
/// A grain's own copy of its state, which stays what the grain sees while a write recovers from lost storage. The
/// recovery (<see cref="DurableState"/>) re-reads the vanished record for its etag, which briefly leaves an empty state
/// and "no record" in the bridge; a status query interleaved with that write (an [AlwaysInterleave] read) saw "no
/// experiment". Through this it sees the copy being written back.
/// </summary>
public sealed class ActiveState<T>(IPersistentState<T> stored)
{
    private T? _active;
    private bool? _existedAtActivation;
    private bool _written;

    /// <summary>The active copy (the activation's state, read once by Orleans before the grain's first turn).</summary>
    public T State => _active ??= stored.State;

    /// <summary>Whether the grain's state is stored: it was when the grain activated, or the grain has written it since.</summary>
    public bool Exists => _written || (_existedAtActivation ??= stored.RecordExists);

    /// <summary>Writes the active copy (see <see cref="DurableState.WriteDurablyAsync{T}"/>); true when it had vanished from storage.</summary>
    public async Task<bool> WriteAsync(StorageHealth health, string grain, ILogger logger)
    {
        _active = State;
        _ = Exists;   // pinned before the write can empty the bridge
        bool vanished = await stored.WriteDurablyAsync(health, grain, logger);
        _written = true;
        return vanished;
    }
}
