using System.IO.Hashing;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>A hash of every frozen (non-LoRA) weight's bytes: equal digests mean bit-identical base weights.</summary>
public static class FrozenWeightDigest
{
    public static unsafe ulong Compute(nn.Module model)
    {
        var hash = new XxHash64();
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in model.named_parameters())
        {
            if (LoraInjector.IsLoraName(name))
                continue;
            using var scope = NewDisposeScope();
            Tensor host = parameter.detach().cpu().contiguous();
            long bytes = host.numel() * host.ElementSize;
            byte* data = (byte*)HostMemory.Address(host);
            for (long offset = 0; offset < bytes; offset += 1 << 30)
                hash.Append(new ReadOnlySpan<byte>(data + offset, (int)Math.Min(1 << 30, bytes - offset)));
        }
        return hash.GetCurrentHashAsUInt64();
    }
}
