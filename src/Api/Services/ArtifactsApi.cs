using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Authorization;
using Google.Protobuf;
using Grpc.Core;

namespace FlatLora.Api.Services;

/// <summary>
/// flatlora.v1.Artifacts on every silo: streams the adapter files of an experiment's completed seeds from the cluster's
/// storage in 1 MB chunks. Only files the adapter folder holds directly are sent (no links out of it, no subfolders).
/// </summary>
public sealed class ArtifactsApi(RunLookup runs, ApiGate gate) : V1.Artifacts.ArtifactsBase
{
    private const int ChunkBytes = 1 << 20;

    public override async Task ExportAdapters(V1.ExportRequest request, IServerStreamWriter<V1.FileChunk> responseStream, ServerCallContext context)
    {
        ExperimentStatus status = await runs.ExperimentAsync(request.Id).ConfigureAwait(false);
        gate.Require(context, ApiAction.Export, status.Owner, request.Id);
        long? only = request.HasSeed ? request.Seed : null;
        var seeds = status.Seeds.Where(s => s.State == RunState.Completed && s.Metrics?.AdapterDirectory is not null && (only is null || s.Seed == only)).ToList();
        if (seeds.Count == 0)
            throw new ArgumentException(only is null ? $"{request.Id} has no completed seed to export (state {status.State})" : $"{request.Id} has no completed seed {only}");
        byte[] buffer = new byte[ChunkBytes];
        foreach (SeedRunStatus seed in seeds)
        {
            string folder = seed.Metrics!.AdapterDirectory!;
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"seed {seed.Seed}'s adapter {folder} is not on this silo's storage");
            foreach (string file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            {
                if (new FileInfo(file).LinkTarget is not null)
                    continue;
                await using FileStream stream = File.OpenRead(file);
                long offset = 0;
                do
                {
                    int read = await stream.ReadAsync(buffer, context.CancellationToken).ConfigureAwait(false);
                    await responseStream.WriteAsync(new V1.FileChunk
                    {
                        Seed = seed.Seed,
                        Path = Path.GetFileName(file),
                        Offset = offset,
                        Data = ByteString.CopyFrom(buffer, 0, read),
                        Size = stream.Length,
                    }, context.CancellationToken).ConfigureAwait(false);
                    offset += read;
                }
                while (offset < stream.Length);
            }
        }
    }
}
