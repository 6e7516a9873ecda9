using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace FlatLora.Trainer.Flat;

/// <summary>
/// Exceptions raised inside custom backward functions, which cannot propagate through libtorch's native autograd
/// engine. One instance per run, so concurrent runs in one process never see each other's faults.
/// </summary>
internal sealed class BackwardFaults
{
    private readonly ConcurrentQueue<Exception> _faults = new();

    public void Record(Exception fault) => _faults.Enqueue(fault);

    public void ThrowIfAny()
    {
        if (_faults.TryDequeue(out Exception? first))
        {
            _faults.Clear();
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
