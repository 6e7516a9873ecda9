using FlatLora.Grains.Hosting;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// How many seed runs this silo's experiments start at once (<see cref="FlatLoraClusterOptions.SeedStartsInFlight"/>).
/// Ten thousand trials submitted together would otherwise put ten thousand activations, writes and queue requests on
/// the thread pool at once, and every device's "freed" report would wait behind them: placement stalled for seconds
/// while the queue filled. Held only for one seed's start (activate, persist, queue), never while it waits or runs.
/// </summary>
public sealed class SeedStartGate(IOptions<FlatLoraClusterOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.SeedStartsInFlight));

    /// <summary>Longest a start holds its slot: a seed whose silo just died must not hold the gate for a response timeout.</summary>
    public TimeSpan SlotTimeout { get; } = TimeSpan.FromSeconds(5);

    public async Task<Slot> EnterAsync()
    {
        await _slots.WaitAsync();
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>A held slot; disposing it lets the next start in.</summary>
    public readonly struct Slot(SemaphoreSlim slots) : IDisposable
    {
        public void Dispose() => slots.Release();
    }
}
