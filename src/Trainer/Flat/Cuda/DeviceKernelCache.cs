using System.Collections.Concurrent;

namespace FlatLora.Trainer.Flat.Cuda;

/// <summary>
/// One kernel per CUDA device, built on first use. Only a kernel that built and passed its checks is kept. A failure
/// of any kind (a driver error, an out-of-memory in the self-check) comes back as the reason this run uses the CPU
/// path instead, and the next run tries again: a transient fault never disables a device's kernel for the process.
/// </summary>
internal sealed class DeviceKernelCache<T>(Func<int, T> build, Func<T, string> describe) where T : class
{
    private readonly ConcurrentDictionary<int, T> _ready = new();
    private readonly Lock _building = new();

    public T? For(int ordinal, out string description)
    {
        if (_ready.TryGetValue(ordinal, out T? kernel))
        {
            description = describe(kernel);
            return kernel;
        }
        // One build at a time: compiling and self-checking is heavy, and two device threads must not both do it.
        lock (_building)
        {
            if (!_ready.TryGetValue(ordinal, out kernel))
            {
                try
                {
                    kernel = build(ordinal);
                    _ready[ordinal] = kernel;
                }
                catch (Exception e)
                {
                    description = $"generated on the CPU and copied: the CUDA kernel is unavailable ({e.GetType().Name}: {e.Message})";
                    return null;
                }
            }
        }
        description = describe(kernel);
        return kernel;
    }
}
