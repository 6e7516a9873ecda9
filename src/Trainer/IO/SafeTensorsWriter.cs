using System.Buffers.Binary;
using System.Text.Json;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.IO;

/// <summary>A tensor to write: its header entry, and how to produce its values when its turn comes.</summary>
public sealed record TensorSource(string Name, ScalarType Dtype, long[] Shape, Func<Tensor> Produce);

/// <summary>
/// Writes safetensors: header first (offsets computed from shapes), then each tensor's bytes streamed one tensor
/// at a time. The file appears atomically (written beside the target, then renamed).
/// </summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => new TensorSource(t.Name, t.Tensor.dtype, t.Tensor.shape, () => t.Tensor)).ToList(), metadata, owned: false);

    /// <summary>Writes tensors produced one at a time (e.g. merged weights), disposing each after it is written.</summary>
    public static void Write(string path, IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors, metadata, owned: true);

    private static void Write(string path, IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata, bool owned)
    {
        var duplicate = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"tensor name '{duplicate.Key}' appears twice", nameof(tensors));

        byte[] header = BuildHeader(tensors, metadata);
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (TensorSource source in tensors)
            {
                Tensor tensor = source.Produce();
                if (tensor.dtype != source.Dtype || !tensor.shape.SequenceEqual(source.Shape))
                    throw new InvalidOperationException($"tensor '{source.Name}' was announced as {source.Dtype}[{string.Join(", ", source.Shape)}] but produced {tensor.dtype}[{string.Join(", ", tensor.shape)}]");
                WriteData(stream, tensor);
                if (owned)
                    tensor.Dispose();
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static byte[] BuildHeader(IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach ((string key, string value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (TensorSource tensor in tensors)
            {
                string dtype = SafeTensorsDtype.Name(tensor.Dtype);
                long bytes = tensor.Shape.Aggregate(1L, (a, b) => a * b) * SafeTensorsDtype.ElementSize(dtype);
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long d in tensor.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        int padded = (int)((buffer.Length + 8 + 7) / 8 * 8 - 8);
        byte[] header = new byte[padded];
        Array.Fill(header, (byte)' ');
        buffer.ToArray().CopyTo(header, 0);
        return header;
    }

    private static unsafe void WriteData(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        Tensor host = tensor.detach().cpu().contiguous();
        long remaining = host.numel() * host.ElementSize;
        byte* data = (byte*)(remaining == 0 ? IntPtr.Zero : HostMemory.Address(host));
        while (remaining > 0)
        {
            int chunk = (int)Math.Min(remaining, 1 << 30);
            stream.Write(new ReadOnlySpan<byte>(data, chunk));
            data += chunk;
            remaining -= chunk;
        }
    }
}
