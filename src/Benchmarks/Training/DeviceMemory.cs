using FlatLora.Trainer.Flat.Cuda;

namespace FlatLora.Benchmarks.Training;

/// <summary>
/// Memory in use on the current CUDA device as the driver sees it (total − free): everything PyTorch's caching
/// allocator holds plus the CUDA context. TorchSharp exposes no allocator statistics, so the benchmark samples this
/// after every step; the Python reference reports the same driver view (torch.cuda.mem_get_info) for a fair compare.
/// </summary>
internal static class DeviceMemory
{
    /// <summary>GiB in use on the device, or null without a CUDA driver.</summary>
    public static double? UsedGiB()
    {
        try
        {
            return CudaDriver.cuMemGetInfo(out nuint free, out nuint total) == 0 ? (total - free) / 1073741824.0 : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
