using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// One step's gradient exchange overlapped with backward. The LoRA parameters are bucketed from the last decoder layer
/// to the first, the order in which backward finishes them. A thread of its own takes bucket after bucket as soon as
/// backward has passed its earliest layer: reads the parameters' gradients (final by then), packs, all-reduces and
/// writes them back, while backward goes on through earlier layers. The last bucket also carries the step's loss
/// sums, so it waits for <see cref="Finish"/>. Every rank forms the same buckets and takes them in the same order.
/// </summary>
internal sealed class OverlappedStep : IOverlappedExchange
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly List<(int[] Members, int EarliestLayer)> _buckets;
    private readonly Func<int, IReadOnlyList<Tensor>, double[]?, CancellationToken, TimeSpan> _exchangeBucket;
    private readonly CancellationTokenSource _abort;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private readonly Dictionary<int, int> _pendingProbes = [];
    private int _final = int.MaxValue;   // every layer ≥ this one is final
    private double[]? _scalars;
    private Exception? _error;
    private TimeSpan _work;

    /// <param name="exchangeBucket">Packs, all-reduces and unpacks bucket b of these gradients (and the scalars, for the last); returns its time.</param>
    public OverlappedStep(IReadOnlyList<Parameter> parameters, IReadOnlyList<int> layers, long bucketFloats,
        Func<int, IReadOnlyList<Tensor>, double[]?, CancellationToken, TimeSpan> exchangeBucket, CancellationToken cancellationToken)
    {
        _parameters = parameters;
        _exchangeBucket = exchangeBucket;
        _buckets = Bucket(parameters, layers, bucketFloats);
        _abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _thread = new Thread(Run) { IsBackground = true, Name = "gradient buckets" };
        _thread.Start();
    }

    /// <summary>Time spent exchanging buckets, hidden behind backward or not.</summary>
    public TimeSpan Work => _work;

    /// <summary>Buckets of this step.</summary>
    public int Buckets => _buckets.Count;

    /// <summary>Buckets that went out while backward was still running.</summary>
    public int StartedDuringBackward { get; private set; }

    // Last layer first; within a layer, model order. A bucket closes once it holds bucketFloats values.
    private static List<(int[] Members, int EarliestLayer)> Bucket(IReadOnlyList<Parameter> parameters, IReadOnlyList<int> layers, long bucketFloats)
    {
        int[] order = [.. Enumerable.Range(0, parameters.Count).OrderByDescending(i => layers[i]).ThenBy(i => i)];
        var buckets = new List<(int[], int)>();
        var current = new List<int>();
        long floats = 0;
        foreach (int i in order)
        {
            current.Add(i);
            floats += parameters[i].numel();
            if (floats >= bucketFloats)
            {
                buckets.Add(([.. current], current.Min(m => layers[m])));
                current.Clear();
                floats = 0;
            }
        }
        if (current.Count > 0 || buckets.Count == 0)
            buckets.Add(([.. current], current.Count == 0 ? 0 : current.Min(m => layers[m])));
        return buckets;
    }

    public void Probed(int layer)
    {
        lock (_gate)
            _pendingProbes[layer] = _pendingProbes.GetValueOrDefault(layer) + 1;
    }

    public void Reached(int layer)
    {
        lock (_gate)
        {
            if (_pendingProbes.TryGetValue(layer, out int pending) && pending > 0)
                _pendingProbes[layer] = pending - 1;
            // Final down to the lowest layer with no probe still ahead of backward at it or above it.
            int final = int.MaxValue;
            foreach (int probed in _pendingProbes.Keys.OrderDescending())
            {
                if (_pendingProbes[probed] > 0)
                    break;
                final = probed;
            }
            _final = final;
            Monitor.PulseAll(_gate);
        }
    }

    public void Finish(double[] scalars)
    {
        lock (_gate)
        {
            _scalars = scalars;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        if (_error is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
    }

    private void Run()
    {
        try
        {
            for (int b = 0; b < _buckets.Count; b++)
            {
                bool last = b == _buckets.Count - 1;
                double[]? scalars = WaitFor(_buckets[b].EarliestLayer, last);
                if (scalars is null && _abort.IsCancellationRequested)
                    return;
                if (scalars is null)
                    StartedDuringBackward++;
                using var scope = NewDisposeScope();
                var gradients = _buckets[b].Members.Select(Gradient).ToList();
                _work += _exchangeBucket(b, gradients, last ? scalars : null, _abort.Token);
            }
        }
        catch (Exception e)
        {
            _error = e;
        }
    }

    // Until backward has passed the bucket's earliest layer, or has returned (Finish); the last bucket waits for Finish.
    private double[]? WaitFor(int earliestLayer, bool last)
    {
        lock (_gate)
        {
            while (_scalars is null && (last || _final > earliestLayer) && !_abort.IsCancellationRequested)
                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(200));
            return _scalars;
        }
    }

    // Read now, not before: autograd may replace a gradient tensor while it still accumulates into it.
    private Tensor Gradient(int member)
    {
        Parameter parameter = _parameters[member];
        if (parameter.grad is null)
            parameter.grad = zeros_like(parameter).DetachFromDisposeScope();   // no gradient reached it (an empty share)
        return parameter.grad!;
    }

    public void Dispose()
    {
        _abort.Cancel();
        lock (_gate)
            Monitor.PulseAll(_gate);
        _thread.Join(TimeSpan.FromSeconds(30));
        _abort.Dispose();
    }
}
