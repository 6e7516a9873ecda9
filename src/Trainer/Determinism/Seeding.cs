using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace FlatLora.Trainer.Determinism;

/// <summary>
/// Derives independent 64-bit seeds from the run seed and a purpose ("lora-init", "data-order", a parameter name),
/// so streams never overlap and adding a consumer does not shift the others.
/// </summary>
public static class Seeding
{
    public static long Derive(long seed, string purpose, string? detail = null)
    {
        var hash = new XxHash64(unchecked((long)0x464C41544C4F5241)); // "FLATLORA"
        Span<byte> seedBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(seedBytes, seed);
        hash.Append(seedBytes);
        hash.Append(Encoding.UTF8.GetBytes(purpose));
        if (detail is not null)
        {
            hash.Append([0]);
            hash.Append(Encoding.UTF8.GetBytes(detail));
        }
        return unchecked((long)hash.GetCurrentHashAsUInt64());
    }

    public static long Derive(long seed, string purpose, long a, long b = 0, long c = 0) =>
        Derive(seed, purpose, $"{a}/{b}/{c}");
}
