using System.Text.Json;
using FlatLora.Spec;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;

namespace FlatLora.Trainer.Training;

/// <summary>
/// What a run checkpoint holds, in a folder of a <see cref="CheckpointStore"/>: the LoRA weights as a PEFT adapter,
/// AdamW's state (<c>optimizer.bin</c>) and <see cref="TrainerState"/> (<c>trainer_state.json</c>), which also
/// keeps the spec's training math so a resume under another spec is refused.
/// </summary>
internal static class RunCheckpoint
{
    public const string OptimizerFile = "optimizer.bin";

    private static readonly JsonSerializerOptions StateJson = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a checkpoint of the state after <paramref name="step"/> steps into <paramref name="folder"/>.</summary>
    public static void Write(string folder, TrainSpec spec, RunPlan plan, long step, double firstLoss, string baseName,
        LlamaForCausalLM model, TorchSharp.Modules.AdamW optimizer)
    {
        PeftAdapter.Save(folder, model, LoraOptions.From(spec.Lora), baseName);
        using (var stream = File.Create(Path.Combine(folder, OptimizerFile)))
        using (var writer = new BinaryWriter(stream))
            optimizer.save_state_dict(writer);
        var state = new TrainerState
        {
            Step = step,
            TotalSteps = plan.TotalSteps,
            Seed = spec.Seed,
            Method = spec.Method.Name,
            Rho = spec.Method.Rho,
            WorldSize = plan.WorldSize,
            Epoch = step / plan.StepsPerEpoch,
            BatchInEpoch = step % plan.StepsPerEpoch,
            LearningRate = LearningRateSchedule.At(spec.Optimizer, step, plan.TotalSteps),
            FirstLoss = firstLoss,
            SpecJson = SpecFingerprint.Json(spec),
            WrittenUtc = DateTime.UtcNow,
        };
        File.WriteAllText(Path.Combine(folder, CheckpointStore.StateFile), JsonSerializer.Serialize(state, StateJson));
    }

    /// <summary>
    /// Loads the LoRA weights and optimizer state of <paramref name="folder"/> into the run's model and optimizer, after
    /// checking that it was written under the same training math and is within the run.
    /// </summary>
    public static TrainerState Read(string folder, TrainSpec spec, RunPlan plan, LlamaForCausalLM model, TorchSharp.Modules.AdamW optimizer)
    {
        string statePath = Path.Combine(folder, CheckpointStore.StateFile);
        if (!File.Exists(statePath))
            throw new FileNotFoundException($"not a checkpoint (no {CheckpointStore.StateFile}): {folder}", statePath);
        TrainerState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), StateJson)
                ?? throw new InvalidDataException($"{statePath}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{statePath}: not readable ({e.Message}); the checkpoint is damaged: resume from an earlier one or start a new output_dir");
        }
        IReadOnlyList<string> differences = SpecFingerprint.Differences(state.SpecJson, SpecFingerprint.Json(spec));
        if (differences.Count > 0)
            throw new InvalidDataException(
                $"checkpoint {folder} was written under a different spec (differs in: {string.Join(", ", differences)}); " +
                "resume with the spec that wrote it, or start a new output_dir");
        if (state.Step > plan.TotalSteps)
            throw new InvalidOperationException($"checkpoint {folder} is at step {state.Step}, past the run's {plan.TotalSteps} steps");
        PeftAdapter.Load(folder, model);
        string optimizerPath = Path.Combine(folder, OptimizerFile);
        if (!File.Exists(optimizerPath))
            throw new FileNotFoundException($"{optimizerPath}: missing; the checkpoint is incomplete", optimizerPath);
        try
        {
            using var stream = File.OpenRead(optimizerPath);
            using var reader = new BinaryReader(stream);
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            throw new InvalidDataException($"{optimizerPath}: not readable ({e.Message}); the checkpoint is damaged: resume from an earlier one or start a new output_dir");
        }
        return state;
    }
}
