using FlatLora.Trainer.Flat.Cuda;

namespace FlatLora.Trainer.Tests.Flat;

public class DeviceKernelCacheTests
{
    private sealed class Kernel(string name)
    {
        public string Name { get; } = name;
    }

    [Fact]
    public void A_failure_of_any_kind_falls_back_with_its_reason_and_the_next_run_tries_again()
    {
        int builds = 0;
        var cache = new DeviceKernelCache<Kernel>(ordinal => ++builds switch
        {
            // Not one of the driver errors a kernel build expects: an out-of-memory in the self-check, say.
            1 => throw new InsufficientMemoryException("self-check ran out of device memory"),
            _ => new Kernel($"kernel {ordinal}"),
        }, k => k.Name);

        Assert.Null(cache.For(0, out string first));
        Assert.Contains("CPU", first);
        Assert.Contains("self-check ran out of device memory", first);

        Kernel? second = cache.For(0, out string description);
        Assert.NotNull(second);
        Assert.Equal("kernel 0", description);
        Assert.Same(second, cache.For(0, out _));   // a working kernel is kept
        Assert.Equal(2, builds);
    }

    [Fact]
    public void Without_a_cuda_driver_the_noise_kernel_reports_the_cpu_path_every_time_without_throwing()
    {
        var device = new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, 0);
        Assert.Null(CudaNoiseKernel.For(device, out string first));
        Assert.Null(CudaNoiseKernel.For(device, out string second));
        Assert.StartsWith("generated on the CPU", first);
        Assert.Equal(first, second);
    }
}
