using System.Text.Json;
using Parquet;
using Parquet.Serialization;

namespace FlatLora.Trainer.Data;

/// <summary>
/// The rows of a Parquet file (Parquet.Net), each as a JSON object of its columns: nested lists and structs (a
/// <c>messages</c> column of {role, content}) become arrays and objects, so the JSONL layouts apply unchanged. Row
/// groups are read one at a time; rows are numbered from 1 across the file.
/// </summary>
internal static class ParquetRecords
{
    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>By content, not name: a Parquet file starts with "PAR1".</summary>
    public static bool IsParquet(string path)
    {
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            return true;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> head = stackalloc byte[4];
        return stream.Read(head) == 4 && head.SequenceEqual(Magic);
    }

    public static IEnumerable<(int Row, JsonElement Record)> Read(string path, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        int groups;
        try
        {
            ParquetReader reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken).GetAwaiter().GetResult();
            groups = reader.RowGroupCount;
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new DataFormatException(path, 1, $"not a readable Parquet file ({e.Message})");
        }
        int row = 0;
        for (int group = 0; group < groups; group++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IList<Dictionary<string, object?>> rows;
            try
            {
                stream.Position = 0;
                rows = ParquetSerializer.DeserializeUntypedAsync(stream, rowGroupIndex: group, cancellationToken: cancellationToken).GetAwaiter().GetResult().Data!;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
                throw new DataFormatException(path, row + 1, $"row group {group} is not readable ({e.Message})");
            }
            foreach (Dictionary<string, object?> values in rows)
            {
                row++;
                yield return (row, JsonSerializer.SerializeToElement(values));
            }
        }
    }
}
