using System.Buffers.Binary;
using System.Text;
using FlatLora.Trainer.IO;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.IO;

public class SafeTensorsTests
{
    [Fact]
    public void Reads_a_file_built_byte_by_byte_from_the_format_description()
    {
        using var dir = new TempDirectory();
        // Header: two tensors; data: F32 [2] = {1.5, -2}, then I64 [1] = {7}; plus metadata.
        string header = """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}""";
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        bytes.AddRange(length);
        bytes.AddRange(headerBytes);
        bytes.AddRange(BitConverter.GetBytes(1.5f));
        bytes.AddRange(BitConverter.GetBytes(-2f));
        bytes.AddRange(BitConverter.GetBytes(7L));
        string path = dir.File("hand.safetensors");
        File.WriteAllBytes(path, bytes.ToArray());

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        using Tensor a = file.Read("a");
        using Tensor b = file.Read("b");
        Assert.Equal([1.5f, -2f], a.data<float>().ToArray());
        Assert.Equal([7L], b.data<long>().ToArray());
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.Int8)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void Every_dtype_round_trips_exactly(ScalarType dtype)
    {
        using var dir = new TempDirectory();
        using Tensor source = (randn(3, 5, generator: new Generator(1)) * 50).to(dtype);
        using Tensor empty = zeros(0, 4, dtype: dtype);
        string path = dir.File("t.safetensors");
        SafeTensorsWriter.Write(path, [("x", source), ("empty", empty)]);
        using var file = SafeTensorsFile.Open(path);
        using Tensor back = file.Read("x");
        Assert.Equal(dtype, back.dtype);
        Assert.True(TestModels.BitEqual(source, back));
        Assert.Equal([0L, 4L], file.Read("empty").shape);
        // The data section starts 8-byte aligned.
        Assert.Equal(0, (8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path).AsSpan(0, 8))) % 8);
    }

    [Fact]
    public void Reading_converts_dtype_on_request()
    {
        using var dir = new TempDirectory();
        using Tensor source = tensor(new[] { 1.0f, 2.5f });
        string path = dir.File("t.safetensors");
        SafeTensorsWriter.Write(path, [("x", source)]);
        using var file = SafeTensorsFile.Open(path);
        using Tensor bf16 = file.Read("x", bfloat16);
        Assert.Equal(bfloat16, bf16.dtype);
        Assert.Equal([1.0f, 2.5f], bf16.to(float32).data<float>().ToArray());
    }

    private static string Corrupt(TempDirectory dir, Func<byte[], byte[]> change)
    {
        string path = dir.File("c.safetensors");
        SafeTensorsWriter.Write(path, [("weight", ones(4, 4))]);
        File.WriteAllBytes(path, change(File.ReadAllBytes(path)));
        return path;
    }

    [Fact]
    public void Corrupt_files_fail_with_the_file_and_tensor_named()
    {
        using var dir = new TempDirectory();
        string truncated = Corrupt(dir, b => b[..^10]);
        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(truncated));
        Assert.Contains("weight", error.Message);
        Assert.Contains("outside", error.Message);
        Assert.Equal(truncated, error.File);

        string tiny = Corrupt(dir, b => b[..5]);
        Assert.Contains("shorter than the 8-byte header", Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(tiny)).Message);

        string hugeHeader = Corrupt(dir, b => { BinaryPrimitives.WriteUInt64LittleEndian(b, 1UL << 40); return b; });
        Assert.Contains("exceeds", Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(hugeHeader)).Message);

        string badJson = Corrupt(dir, b => { b[8] = (byte)'x'; return b; });
        Assert.Contains("corrupt JSON header", Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(badJson)).Message);

        string badDtype = Corrupt(dir, b => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("\"F32\"", "\"F8X\"")));
        var dtypeError = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(badDtype));
        Assert.Equal("weight", dtypeError.Tensor);
        Assert.Contains("unsupported dtype F8X", dtypeError.Message);

        string badShape = Corrupt(dir, b => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("[4,4]", "[4,5]")));
        Assert.Contains("needs 80", Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(badShape)).Message);
    }

    [Fact]
    public void Reading_into_a_mis_shaped_tensor_names_both_shapes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("t.safetensors");
        SafeTensorsWriter.Write(path, [("w", ones(2, 3))]);
        using var file = SafeTensorsFile.Open(path);
        using Tensor target = zeros(3, 2);
        var error = Assert.Throws<SafeTensorsFormatException>(() => file.ReadInto("w", target));
        Assert.Contains("[2, 3] does not match the model's [3, 2]", error.Message);
        Assert.Contains("not in this file", Assert.Throws<SafeTensorsFormatException>(() => file.Read("nope")).Message);
    }
}
