using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>The records of a <see cref="SharedGrainStorage"/>: one instance shared by every in-process silo of a run.</summary>
public sealed class SharedRecords
{
    internal ConcurrentDictionary<string, (byte[] Data, string ETag)> Records { get; } = new(StringComparer.Ordinal);

    public int Count => Records.Count;
}

/// <summary>
/// Grain storage that every in-process silo of the cluster benchmark shares, standing in for Redis: a killed silo takes
/// none of the grains' state with it (Orleans' memory storage keeps state on the silos, so it would). Records are
/// stored serialized, so no activation aliases another's objects, and etags give Redis storage's conflict semantics.
/// </summary>
public sealed class SharedGrainStorage(SharedRecords shared, Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<string, (byte[] Data, string ETag)> _records = shared.Records;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_records.TryGetValue(Key(stateName, grainId), out var record))
        {
            grainState.State = serializer.Deserialize<T>(record.Data);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string key = Key(stateName, grainId);
        string etag = Guid.NewGuid().ToString("N");
        byte[] data = serializer.SerializeToArray(grainState.State);
        lock (_records)
        {
            CheckETag(key, grainState.ETag);
            _records[key] = (data, etag);
        }
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string key = Key(stateName, grainId);
        lock (_records)
        {
            CheckETag(key, grainState.ETag);
            _records.TryRemove(key, out _);
        }
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private void CheckETag(string key, string? expected)
    {
        string? stored = _records.TryGetValue(key, out var record) ? record.ETag : null;
        if (stored != expected)
            throw new InconsistentStateException($"etag mismatch on {key}", stored ?? "(none)", expected ?? "(none)");
    }

    private static string Key(string stateName, GrainId grainId) => $"{stateName}/{grainId}";
}
