using System.Text.Json.Serialization;

namespace FlatLora.Benchmarks.Training;

/// <summary>Figures of one benchmark run; serialised as the JSON `bench train --json` prints.</summary>
public sealed record TrainBenchmarkResult
{
    [JsonPropertyName("shape")] public required string Shape { get; init; }
    [JsonPropertyName("method")] public required string Method { get; init; }
    [JsonPropertyName("rho")] public double Rho { get; init; }
    [JsonPropertyName("device")] public required string Device { get; init; }
    [JsonPropertyName("dtype")] public required string Dtype { get; init; }
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("seq")] public int Sequence { get; init; }
    [JsonPropertyName("rank")] public int Rank { get; init; }
    [JsonPropertyName("targets")] public required IReadOnlyList<string> Targets { get; init; }
    [JsonPropertyName("checkpointing")] public bool Checkpointing { get; init; }

    /// <summary>How Flat-LoRA's noise was produced (fused CUDA kernel, or CPU generation and why); null for LoRA.</summary>
    [JsonPropertyName("flat_noise")] public string? FlatNoise { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("warmup")] public int Warmup { get; init; }
    [JsonPropertyName("ms_per_step")] public double MsPerStep { get; init; }
    [JsonPropertyName("ms_per_step_min")] public double MsPerStepMin { get; init; }
    [JsonPropertyName("tokens_per_second")] public double TokensPerSecond { get; init; }

    /// <summary>Model FLOPs per second: (4·N_base + 6·N_lora + 12·L·T·d) per token, no recomputation counted.</summary>
    [JsonPropertyName("model_tflops")] public double ModelTflops { get; init; }
    [JsonPropertyName("peak_host_memory_gib")] public double? PeakHostMemoryGiB { get; init; }

    /// <summary>Peak GPU memory in use as the driver sees it (total − free), sampled after each step; null on the CPU.</summary>
    [JsonPropertyName("peak_device_memory_gib")] public double? PeakDeviceMemoryGiB { get; init; }
    [JsonPropertyName("base_parameters")] public long BaseParameters { get; init; }
    [JsonPropertyName("lora_parameters")] public long LoraParameters { get; init; }

    /// <summary>Largest change of any frozen weight over the run: 0 means bit-identical.</summary>
    [JsonPropertyName("frozen_max_abs_change")] public double FrozenMaxAbsChange { get; init; }
    [JsonPropertyName("final_loss")] public double FinalLoss { get; init; }
    [JsonPropertyName("threads")] public int Threads { get; init; }
}
