namespace FlatLora.Spec;

/// <summary>Ready-made specs. <see cref="Tiny"/> is what `flatlora train` runs without a config (and examples/tiny.yaml).</summary>
public static class TrainPresets
{
    /// <summary>
    /// The built-in tiny task, tuned for a CPU demo: the paper's recipe (AdamW, 3% warmup, cosine, r 8 / alpha 16,
    /// ρ 0.05) with a learning rate suited to a 0.3M-parameter model (the paper's 5e-4 is for 7B).
    /// </summary>
    public static TrainSpec Tiny(string method = MethodSpec.Flat) => new()
    {
        Model = new ModelSpec { Builtin = "tiny", Dtype = "float32" },
        Data = new DataSpec { Builtin = "tiny-shift", MaxSeqLen = 64 },
        Method = new MethodSpec { Name = method, Rho = 0.05 },
        Lora = new LoraSpec { Rank = 8, Alpha = 16, Dropout = 0 },
        Optimizer = new OptimizerSpec { Lr = 5e-3, WarmupRatio = 0.03, Schedule = "cosine" },
        Training = new TrainingSpec { BatchSize = 32, MicroBatchSize = 16, MaxSteps = 300, EvalEvery = 100, LogEvery = 20 },
        Checkpoint = new CheckpointSpec { Interval = 100, Keep = 2 },
        // Measure S2R2 drift at each evaluation with noise that leaves the word to shift intact.
        Robustness = new RobustnessSpec { EvalExamples = 32, Perturb = ["spacing:light", "punctuation:light", "emoji:light", "typo:light"] },
        Seed = 42,
        OutputDir = $"runs/tiny-{method}",
    };
}
