using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.IO;

/// <summary>
/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header (per tensor: dtype, shape,
/// data_offsets into the data section, plus optional <c>__metadata__</c>), then the raw bytes. The header is fully
/// validated on open; tensors are read one at a time, so loading a model needs one tensor of extra host memory.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L << 20;   // the format's own limit
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;

    private SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePointer,
        long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePointer;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string FilePath { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"safetensors file not found: {path}", path);
        // The length of what the path points at: in the Hugging Face cache every file is a symlink into blobs/, and
        // FileInfo.Length would be the link's own few bytes.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        if (length < 8)
        {
            stream.Dispose();
            throw new SafeTensorsFormatException(path, $"truncated: {length} bytes, shorter than the 8-byte header length");
        }

        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            pointer += view.PointerOffset;
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer, 8));
            if (headerLength > (ulong)(length - 8))
                throw new SafeTensorsFormatException(path, $"header length {headerLength} exceeds the file's {length - 8} bytes after it (truncated or not safetensors)");
            if ((long)headerLength > MaxHeaderBytes)
                throw new SafeTensorsFormatException(path, $"header length {headerLength} is over the 100 MB limit");
            var header = new ReadOnlySpan<byte>(pointer + 8, (int)headerLength);
            long dataStart = 8 + (long)headerLength;
            (var tensors, var metadata) = ParseHeader(path, header, length - dataStart);
            return new SafeTensorsFile(path, map, view, pointer, dataStart, tensors, metadata);
        }
        catch
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>Reads one tensor into a new tensor, converted to <paramref name="dtype"/> and moved to <paramref name="device"/>.</summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        SafeTensorInfo info = Info(name);
        using var scope = NewDisposeScope();
        Tensor host = empty(info.Shape, dtype: SafeTensorsDtype.ToScalarType(info.Dtype));
        if (info.End > info.Begin)
            Buffer.MemoryCopy(_base + _dataStart + info.Begin, (void*)HostMemory.Address(host), info.End - info.Begin, info.End - info.Begin);
        Tensor result = host.to(dtype ?? host.dtype).to(device ?? CPU);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Copies one tensor into <paramref name="destination"/> (converting dtype and device); shapes must match.</summary>
    public void ReadInto(string name, Tensor destination)
    {
        SafeTensorInfo info = Info(name);
        if (!info.Shape.SequenceEqual(destination.shape))
            throw new SafeTensorsFormatException(FilePath,
                $"shape [{string.Join(", ", info.Shape)}] does not match the model's [{string.Join(", ", destination.shape)}]", name);
        using var noGrad = no_grad();
        using Tensor loaded = Read(name, destination.dtype, destination.device);
        destination.copy_(loaded);
    }

    public SafeTensorInfo Info(string name) => Tensors.TryGetValue(name, out SafeTensorInfo? info)
        ? info
        : throw new SafeTensorsFormatException(FilePath, "not in this file", name);

    private static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, $"corrupt JSON header ({e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsFormatException(path, "corrupt header: not a JSON object");
            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                        throw new SafeTensorsFormatException(path, "__metadata__ must be an object of strings");
                    foreach (JsonProperty m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                tensors[entry.Name] = ParseEntry(path, entry, dataLength);
            }
            return (tensors, metadata);
        }
    }

    private static SafeTensorInfo ParseEntry(string path, JsonProperty entry, long dataLength)
    {
        string name = entry.Name;
        JsonElement e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(path, "header entry is not an object", name);
        if (!e.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafeTensorsFormatException(path, "missing dtype", name);
        string dtype = dtypeElement.GetString()!;
        if (!SafeTensorsDtype.IsSupported(dtype))
            throw new SafeTensorsFormatException(path, $"unsupported dtype {dtype} (supported: {SafeTensorsDtype.Supported})", name);
        if (!e.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsFormatException(path, "missing shape", name);
        long[] shape = shapeElement.EnumerateArray()
            .Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out long v) && v >= 0 ? v
                : throw new SafeTensorsFormatException(path, $"bad shape {shapeElement.GetRawText()}", name))
            .ToArray();
        if (!e.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array ||
            offsets.GetArrayLength() != 2 || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw new SafeTensorsFormatException(path, "missing or malformed data_offsets", name);
        if (begin < 0 || end < begin || end > dataLength)
            throw new SafeTensorsFormatException(path,
                $"data_offsets [{begin}, {end}] fall outside the {dataLength}-byte data section (truncated file?)", name);
        var info = new SafeTensorInfo(name, dtype, shape, begin, end);
        long expected = info.ElementCount * SafeTensorsDtype.ElementSize(dtype);
        if (end - begin != expected)
            throw new SafeTensorsFormatException(path,
                $"data_offsets cover {end - begin} bytes but {dtype}[{string.Join(", ", shape)}] needs {expected}", name);
        return info;
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
