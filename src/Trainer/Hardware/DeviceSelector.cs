using static TorchSharp.torch;

namespace FlatLora.Trainer.Hardware;

/// <summary>Turns the spec's device string into a torch device, with a clear error when CUDA is asked for but absent.</summary>
public static class DeviceSelector
{
    public static Device Resolve(string device) => device switch
    {
        "cpu" => CPU,
        "auto" => cuda.is_available() ? CUDA : CPU,
        _ when device == "cuda" || device.StartsWith("cuda:", StringComparison.Ordinal) => RequireCuda(device),
        _ => throw new ArgumentException($"device: '{device}' is not cpu, cuda, cuda:N or auto", nameof(device)),
    };

    public static ScalarType Dtype(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new ArgumentException($"model.dtype: '{name}' is not float32, bfloat16 or float16", nameof(name)),
    };

    private static Device RequireCuda(string device)
    {
        if (!cuda.is_available())
            throw new InvalidOperationException(
                $"device: '{device}' was requested but CUDA did not initialise (torch.cuda.is_available() is false). What was tried:" +
                Environment.NewLine + LibTorchLocator.CudaDiagnosis() + Environment.NewLine +
                $"Use device: cpu, or give a CUDA libtorch with --libtorch DIR or ${LibTorchLocator.Variable} (PyTorch's torch/lib works).");
        return new Device(device);
    }
}
