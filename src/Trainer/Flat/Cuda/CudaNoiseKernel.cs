using System.Runtime.InteropServices;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Hardware;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Flat.Cuda;

/// <summary>
/// W + ε computed on the GPU by one fused kernel (flat_noise.cu, compiled by NVRTC for the device at first use):
/// it reads W, regenerates ε from the counter stream and writes W + ε, so nothing but the result touches memory.
/// Before it is used, the kernel's output is compared bit for bit with the CPU path on every weight dtype; if NVRTC
/// or the driver is missing, or a single bit differs, the run generates the noise on the CPU instead and says why.
/// </summary>
internal sealed unsafe class CudaNoiseKernel
{
    private const int ThreadsPerBlock = 256;
    private static readonly DeviceKernelCache<CudaNoiseKernel> Kernels = new(Create, k => k.Description);

    private readonly IntPtr _context;
    private readonly Dictionary<ScalarType, IntPtr> _functions;

    private CudaNoiseKernel(IntPtr context, Dictionary<ScalarType, IntPtr> functions)
    {
        _context = context;
        _functions = functions;
    }

    public string Description { get; private set; } = "";

    /// <summary>The kernel for a CUDA device, or null with the reason the CPU path is used instead (tried again next time).</summary>
    public static CudaNoiseKernel? For(Device device, out string description) => Kernels.For(Math.Max(0, device.index), out description);

    /// <summary>Compiles, loads and self-checks the kernel; throws saying what failed.</summary>
    private static CudaNoiseKernel Create(int ordinal)
    {
        CudaDriver.Check(CudaDriver.cuInit(0), "cuInit");
        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.ComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.ComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        // PyTorch works in the device's primary context; the kernel joins it.
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out IntPtr context, device), "cuDevicePrimaryCtxRetain");
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        Nvrtc nvrtc = Nvrtc.Load(TorchLibDirectory());
        // --fmad=false: every multiply and add rounded once, as in C#; PTX for the device's architecture.
        byte[] ptx = nvrtc.CompileToPtx(Source(), "flat_noise.cu", ["--fmad=false", $"--gpu-architecture=compute_{major}{minor}"]);
        IntPtr module;
        fixed (byte* image = ptx)
            CudaDriver.Check(CudaDriver.cuModuleLoadData(out module, image), "cuModuleLoadData");
        var functions = new Dictionary<ScalarType, IntPtr>();
        foreach ((ScalarType dtype, string name) in new[] { (ScalarType.Float32, "flat_perturbed_weight_f32"),
                     (ScalarType.BFloat16, "flat_perturbed_weight_bf16"), (ScalarType.Float16, "flat_perturbed_weight_f16") })
        {
            CudaDriver.Check(CudaDriver.cuModuleGetFunction(out IntPtr function, module, name), $"cuModuleGetFunction({name})");
            functions[dtype] = function;
        }
        var kernel = new CudaNoiseKernel(context, functions);
        string? mismatch = kernel.SelfCheck(new Device(TorchSharp.DeviceType.CUDA, ordinal));
        if (mismatch is not null)
            throw new InvalidOperationException(mismatch);
        kernel.Description = $"fused CUDA kernel (NVRTC {Path.GetFileName(nvrtc.Path)}, compute_{major}{minor}), bit-identical to the CPU generator";
        return kernel;
    }

    /// <summary>W + ε for a contiguous CUDA weight, in the weight's dtype.</summary>
    public Tensor PerturbedWeight(Tensor weight, Tensor rowScale, CounterNormal stream)
    {
        if (!weight.is_contiguous() || !rowScale.is_contiguous() || rowScale.dtype != ScalarType.Float32 || rowScale.device != weight.device)
            throw new ArgumentException("the noise kernel needs a contiguous weight and float32 row scales on its device");
        if (!_functions.TryGetValue(weight.dtype, out IntPtr function))
            throw new NotSupportedException($"the noise kernel has no {weight.dtype} variant");
        Tensor output = empty_like(weight);
        long rows = weight.shape[0], cols = weight.shape[1];
        long blocks = (rows * cols + 3) / 4;
        if (blocks == 0)
            return output;
        IntPtr w = DataPointer(weight), o = DataPointer(output), s = DataPointer(rowScale);
        ulong key = unchecked((ulong)stream.Key);
        uint a = stream.StreamA, b = stream.StreamB;
        void** parameters = stackalloc void*[8] { &w, &o, &s, &rows, &cols, &key, &a, &b };
        uint grid = (uint)Math.Min((blocks + ThreadsPerBlock - 1) / ThreadsPerBlock, 1 << 20);   // grid-stride loop covers the rest
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        // Stream 0: the legacy default stream, which orders with PyTorch's work on it.
        CudaDriver.Check(CudaDriver.cuLaunchKernel(function, grid, 1, 1, ThreadsPerBlock, 1, 1, 0, IntPtr.Zero, parameters, null), "cuLaunchKernel");
        return output;
    }

    /// <summary>Null when the kernel matches the CPU path bit for bit on every dtype; otherwise what differed.</summary>
    private string? SelfCheck(Device device)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        const long rows = 67, cols = 1003;   // a tail that is not a whole Philox block
        var stream = new CounterNormal(-123456789, 5, 42);
        Tensor scale = (rand(rows, generator: null) * 0.05f).to(float32);
        foreach (ScalarType dtype in _functions.Keys)
        {
            Tensor weight = (randn(rows, cols) * 0.02f).to(dtype);
            Tensor expected = LayerPerturbation.PerturbedWeight(stream, scale, weight);
            Tensor actual = PerturbedWeight(weight.to(device), scale.to(device), stream).cpu();
            // Widening to float32 is exact for every dtype here; the sign bit catches +0 vs −0.
            Tensor a32 = actual.to(float32), e32 = expected.to(float32);
            long different = a32.ne(e32).logical_or(a32.signbit().ne(e32.signbit())).sum().item<long>();
            if (different > 0)
                return $"the CUDA kernel's {dtype} output differs from the CPU generator in {different} of {rows * cols} elements";
        }
        return null;
    }

    /// <summary>The kernel's CUDA source, embedded in the trainer assembly.</summary>
    internal static string Source()
    {
        using Stream resource = typeof(CudaNoiseKernel).Assembly.GetManifestResourceStream("FlatLora.Trainer.Flat.Cuda.flat_noise.cu")
            ?? throw new InvalidOperationException("flat_noise.cu is not embedded in the trainer assembly");
        using var reader = new StreamReader(resource);
        return reader.ReadToEnd();
    }

    private static string? TorchLibDirectory() => LibTorchLocator.Preloaded ?? LibTorchLocator.LoadedDirectory();

    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    private static IntPtr DataPointer(Tensor tensor)
    {
        IntPtr data = THSTensor_data(tensor.Handle);
        return data != IntPtr.Zero ? data : throw new InvalidOperationException("could not read a tensor's device pointer");
    }
}
