namespace FlatLora.Grains.Experiments;

/// <summary>
/// Which ranks of the current attempt still owe heartbeats. A rank that finished owes none: rank 0's tail (final
/// evaluation, checkpoint, adapter) can outlast the heartbeat timeout after the others ended, and that is not silence.
/// Time is passed in, so this is tested without a cluster or a clock.
/// </summary>
internal sealed class RankLiveness
{
    private readonly Dictionary<int, DateTime> _lastHeard = [];
    private readonly HashSet<int> _finished = [];

    /// <summary>A new attempt of <paramref name="ranks"/> ranks, every one heard from now.</summary>
    public void Start(int ranks, DateTime now)
    {
        _lastHeard.Clear();
        _finished.Clear();
        for (int rank = 0; rank < ranks; rank++)
            _lastHeard[rank] = now;
    }

    public void Heard(int rank, DateTime now)
    {
        if (_lastHeard.ContainsKey(rank))
            _lastHeard[rank] = now;
    }

    /// <summary>The rank ended (completed or cancelled as asked): it is neither alive nor silent any more.</summary>
    public void Finished(int rank)
    {
        _lastHeard.Remove(rank);
        _finished.Add(rank);
    }

    public int FinishedCount => _finished.Count;

    /// <summary>Ranks not finished and not heard from for longer than <paramref name="timeout"/>, lowest first.</summary>
    public IReadOnlyList<int> Silent(DateTime now, TimeSpan timeout) =>
        _lastHeard.Where(h => now - h.Value > timeout).Select(h => h.Key).Order().ToList();
}
