using System.Diagnostics;
using System.Text.Json;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Flat;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

using FlatLora.Trainer.Robustness;

namespace FlatLora.Trainer.Training;

/// <summary>
/// One LoRA / Flat-LoRA fine-tuning run on one rank. Lifecycle: construct from a spec (builds the model with LoRA,
/// loads the frozen base, sets up AdamW, data order and perturbation) → optionally <see cref="ResumeFrom"/> →
/// <see cref="Train"/> → dispose. Everything random derives from the run seed, so two processes (or a resumed
/// one) compute the same thing.
/// </summary>
public sealed class FineTuneRun : IDisposable
{
    private const string OptimizerFile = "optimizer.bin";
    private readonly TrainSpec _spec;
    private readonly BaseModel _base;
    private readonly RunOptions _options;
    private readonly Device _device;
    private readonly LoraOptions _lora;
    private readonly IReadOnlyList<Parameter> _loraParameters;
    private readonly AdamW _optimizer;
    private readonly DataOrder _order;
    private readonly CheckpointStore _checkpoints;
    private readonly DriftRegularizer _robustness;
    private readonly BackwardFaults _checkpointFaults = new();
    private readonly ulong? _frozenDigestAtStart;
    private readonly List<double> _stepSeconds = [];
    private long _tokensProcessed;
    private double _firstLoss = double.NaN;
    private string? _lastCheckpoint;

    public FineTuneRun(TrainSpec spec, BaseModel baseModel, TrainingData data, RunOptions? options = null)
    {
        SpecException.ThrowIfAny(TrainSpecValidator.Validate(spec));
        _spec = spec;
        _base = baseModel;
        _options = options ?? new RunOptions();
        Data = data;
        if (data.Train.Count == 0)
            throw new ArgumentException("the training set is empty", nameof(data));
        _device = DeviceSelector.Resolve(spec.Device);
        _lora = LoraOptions.From(spec.Lora);
        Plan = RunPlan.Create(spec.Training, data.Train.Count, _options.Exchange.Rank, _options.Exchange.WorldSize);

        Model = LoraInjector.Build(baseModel.Config, _lora, DeviceSelector.Dtype(spec.Model.Dtype), _device, spec.Seed);
        if (baseModel.RandomInitSeed is long initSeed)
            Model.InitializeWeights(initSeed);
        else
            WeightLoader.LoadBaseWeights(Model, baseModel.WeightFiles);
        Model.train();
        if (spec.Training.GradientCheckpointing)
        {
            // TorchSharp can save and restore only the CPU random state, which the recomputed dropout masks need.
            if (spec.Lora.Dropout > 0 && _device.type != TorchSharp.DeviceType.CPU)
                throw new NotSupportedException("training.gradient_checkpointing with lora.dropout > 0 works on the CPU only: TorchSharp cannot " +
                    "restore the CUDA random state for the recomputed dropout masks. Set lora.dropout: 0 (as Flat-LoRA's paper does) or turn checkpointing off.");
            Model.EnableGradientCheckpointing(_checkpointFaults.Record);
        }
        _loraParameters = LoraInjector.LoraParameters(Model).Select(p => p.Parameter).ToList();
        OptimizerSpec o = spec.Optimizer;
        _optimizer = optim.AdamW(_loraParameters, lr: o.Lr, beta1: o.Beta1, beta2: o.Beta2, eps: o.Eps, weight_decay: o.WeightDecay);
        _order = new DataOrder(data.Train.Count, spec.Training.BatchSize, spec.Seed);
        if (spec.Method.IsFlat)
        {
            Perturbation = new FlatLoraPerturbation(LoraInjector.LoraLayers(Model), spec.Seed, spec.Method.Rho, Plan.TotalSteps);
            if (_device.type == TorchSharp.DeviceType.CUDA)
            {
                Flat.Cuda.CudaNoiseKernel.For(_device, out string noise);
                _options.Observer.OnInfo($"Flat-LoRA noise on {_device}: {noise}.");
            }
        }
        _checkpoints = new CheckpointStore(_options.CheckpointRoot ?? Path.Combine(spec.OutputDir, "checkpoints"), spec.Checkpoint.Keep);
        _robustness = new DriftRegularizer(spec.Robustness, baseModel.Tokenizer, spec.Data.MaxSeqLen, spec.Seed);
        _frozenDigestAtStart = _options.VerifyFrozenWeights ? FrozenWeightDigest.Compute(Model) : null;
    }

    /// <summary>Validates the spec, resolves the base model and data it names, and builds the run.</summary>
    public static FineTuneRun Create(TrainSpec spec, RunOptions? options = null)
    {
        SpecException.ThrowIfAny(TrainSpecValidator.Validate(spec));
        ITrainingObserver observer = options?.Observer ?? SilentObserver.Instance;
        BaseModel baseModel = BaseModelCatalog.Resolve(spec.Model, observer);
        TrainingData data = DatasetCatalog.Load(spec.Data, baseModel.Tokenizer, spec.Seed);
        if (data.TruncatedCount > 0)
            observer.OnInfo($"{data.TruncatedCount} example(s) were cut to data.max_seq_len={spec.Data.MaxSeqLen} tokens.");
        return new FineTuneRun(spec, baseModel, data, options);
    }

    public LlamaForCausalLM Model { get; }
    public FlatLoraPerturbation? Perturbation { get; }
    public TrainingData Data { get; }
    public RunPlan Plan { get; }

    /// <summary>The next optimizer step to run (= steps completed).</summary>
    public long Step { get; private set; }

    public string? LastCheckpoint => _lastCheckpoint;
    public IReadOnlyList<Parameter> LoraParameters => _loraParameters;

    /// <summary>Runs the remaining steps with logging, evaluation and checkpoints; writes the adapter and summary.</summary>
    public TrainResult Train(CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        // In a data-parallel run every rank has the same weights: rank 0 alone evaluates and writes files.
        bool leader = _options.Exchange.Rank == 0;
        using MetricsLog? metrics = leader ? new MetricsLog(Path.Combine(_spec.OutputDir, "metrics.jsonl")) : null;
        EvalReport? lastEval = null;
        if (Step == 0)
            lastEval = RunEval(metrics);
        var recentLosses = new Queue<double>();
        int window = (int)Math.Clamp(Plan.TotalSteps / 10, 1, 10);
        while (Step < Plan.TotalSteps)
        {
            StepReport report;
            try
            {
                report = TrainStep(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Cancellation lands between micro-batches; the half-done step is discarded, so this is a clean state.
                SaveCheckpoint();
                throw;
            }
            recentLosses.Enqueue(report.Loss);
            if (recentLosses.Count > window)
                recentLosses.Dequeue();
            bool last = Step == Plan.TotalSteps;
            if (report.Step % _spec.Training.LogEvery == 0 || last)
                metrics?.WriteStep(report);
            _options.Observer.OnStep(report);
            if (!last && _spec.Training.EvalEvery > 0 && Step % _spec.Training.EvalEvery == 0)
                lastEval = RunEval(metrics);
            if (!last && _spec.Checkpoint.Interval > 0 && Step % _spec.Checkpoint.Interval == 0)
                SaveCheckpoint();
        }
        lastEval = RunEval(metrics) ?? lastEval;
        SaveCheckpoint();
        string adapterDir = Path.Combine(_spec.OutputDir, "adapter");
        if (_options.Exchange.Rank == 0)
            PeftAdapter.Save(adapterDir, Model, _lora, _base.Name);
        bool? frozenUnchanged = _frozenDigestAtStart is ulong before ? FrozenWeightDigest.Compute(Model) == before : null;
        if (!leader)
            return new TrainResult(Step, _firstLoss, recentLosses.Count == 0 ? double.NaN : recentLosses.Average(), null, 0,
                watch.Elapsed.TotalSeconds, adapterDir, frozenUnchanged);
        double tokensPerSecond = _stepSeconds.Count == 0 ? 0 : _tokensProcessed / _stepSeconds.Sum();
        var result = new TrainResult(Step, _firstLoss, recentLosses.Count == 0 ? double.NaN : recentLosses.Average(), lastEval,
            tokensPerSecond, watch.Elapsed.TotalSeconds, adapterDir, frozenUnchanged);
        RunSummary.Write(Path.Combine(_spec.OutputDir, "summary.json"), _spec, Plan, result, Data);
        return result;
    }

    /// <summary>
    /// One optimizer step: every micro-batch of this rank's share under the same Flat-LoRA noise, gradients summed
    /// over ranks, then clip and AdamW. The loss is normalised by the global batch's target-token count, so the
    /// math does not depend on how the batch is split across ranks and micro-batches.
    /// </summary>
    public StepReport TrainStep(CancellationToken cancellationToken = default)
    {
        // One scope for the step's own temporaries (gradient handles, clipping, AdamW); each micro-batch nests its own.
        using var scope = NewDisposeScope();
        var watch = Stopwatch.StartNew();
        long step = Step;
        double lr = LearningRateSchedule.At(_spec.Optimizer, step, Plan.TotalSteps);
        foreach (var group in _optimizer.ParamGroups)
            group.LearningRate = lr;

        int[] batch = _order.GlobalBatchAt(step);
        long targetTokens = batch.Sum(i => (long)Data.Train[i].TargetCount);
        int[] share = DataOrder.RankShare(batch, Plan.Rank, Plan.WorldSize);
        double sigma = 0;
        // Summed over micro-batches, then over ranks: [cross-entropy sum, drift penalty sum, adapter-norm penalty].
        double[] sums = new double[3];
        long tokens = 0;
        PerturbationFingerprint fingerprint = PerturbationFingerprint.Inactive(step);
        bool complete = false;
        try
        {
            sigma = Perturbation?.BeginStep(step) ?? 0;
            int micro = 0;
            foreach (int[] microBatch in DataOrder.MicroBatches(share, Plan.MicroBatch))
            {
                cancellationToken.ThrowIfCancellationRequested();
                MicroBatchLoss part = LossStep(step, micro++, microBatch, targetTokens, batch.Length);
                sums[0] += part.CrossEntropySum;
                sums[1] += part.DriftPenaltySum;
                sums[2] += part.NormPenalty;
                tokens += part.Tokens;
            }
            if (Perturbation is not null)
                fingerprint = Perturbation.Fingerprint(step);
            complete = true;
        }
        finally
        {
            Perturbation?.EndStep();
            if (!complete)
                _optimizer.zero_grad();
        }

        _options.Exchange.AllReduce(step, Gradients(), sums, fingerprint, cancellationToken);
        double loss = sums[0] / targetTokens;
        if (!double.IsFinite(loss))
        {
            _optimizer.zero_grad();
            throw new NonFiniteLossException(step, "loss", loss, _lastCheckpoint);
        }
        double gradNorm = OptimizerStep(step);
        Step = step + 1;
        if (double.IsNaN(_firstLoss))
            _firstLoss = loss;

        double seconds = watch.Elapsed.TotalSeconds;
        _stepSeconds.Add(seconds);
        _tokensProcessed += tokens;
        var eta = TimeSpan.FromSeconds(_stepSeconds.TakeLast(20).Average() * (Plan.TotalSteps - Step));
        return new StepReport(step, Plan.TotalSteps, loss, lr, sigma, gradNorm, tokens, seconds, tokens / Math.Max(seconds, 1e-9), eta, fingerprint,
            _options.Exchange.LastBytesSent, _options.Exchange.LastDuration.TotalSeconds)
        {
            Samples = share.Length,
            DriftPenalty = _robustness.PenalisesDrift ? sums[1] / batch.Length : null,
            NormPenalty = _robustness.PenalisesNorm ? sums[2] : null,
        };
    }

    /// <summary>
    /// Forward and backward of one micro-batch. The cross-entropy is normalised by the global batch's target tokens;
    /// with S2R2, a perturbed copy of the micro-batch adds the drift penalty (normalised by the global batch's
    /// examples), and the first micro-batch of rank 0 adds the adapter-norm term once per step.
    /// </summary>
    private MicroBatchLoss LossStep(long step, int micro, int[] indices, long targetTokens, int batchExamples)
    {
        using var scope = NewDisposeScope();
        if (_spec.Lora.Dropout > 0)
            manual_seed(Seeding.Derive(_spec.Seed, "dropout", step, Plan.Rank, micro));
        var examples = indices.Select(i => Data.Train[i]).ToList();
        (Tensor ids, Tensor targets) = BatchCollator.Collate(examples, _base.Tokenizer.PadId, _device);
        Tensor logits = Model.forward(ids);
        Tensor crossEntropy = CausalLmLoss.Sum(logits, targets);
        Tensor objective = crossEntropy / targetTokens;
        double driftSum = 0, norm = 0;
        if (_robustness.PenalisesDrift)
        {
            List<TeacherForcedPair> pairs = _robustness.Pairs(step, indices, examples);
            (Tensor perturbedIds, _) = BatchCollator.Collate(pairs.Select(p => p.Perturbed).ToList(), _base.Tokenizer.PadId, _device);
            (Tensor drift, int[] owner, _) = SegmentDrift.Compute(logits, Model.forward(perturbedIds), pairs, _robustness.Divergence);
            Tensor penalty = _robustness.Penalty(drift, owner, pairs.Count);
            objective = objective + _robustness.Weight / batchExamples * penalty;
            driftSum = penalty.item<float>();
        }
        if (_robustness.PenalisesNorm && micro == 0 && Plan.Rank == 0)
        {
            Tensor normPenalty = DriftRegularizer.NormPenalty(LoraInjector.LoraLayers(Model));
            objective = objective + _robustness.NormWeight * normPenalty;
            norm = normPenalty.item<float>();
        }
        objective.backward();
        Perturbation?.ThrowIfBackwardFaulted();
        _checkpointFaults.ThrowIfAny();
        return new MicroBatchLoss(crossEntropy.item<float>(), driftSum, norm, examples.Sum(e => (long)e.InputIds.Length));
    }

    private readonly record struct MicroBatchLoss(double CrossEntropySum, double DriftPenaltySum, double NormPenalty, long Tokens);

    private double OptimizerStep(long step)
    {
        double maxNorm = _spec.Optimizer.MaxGradNorm > 0 ? _spec.Optimizer.MaxGradNorm : double.PositiveInfinity;
        double norm = nn.utils.clip_grad_norm_(_loraParameters, maxNorm);
        if (!double.IsFinite(norm))
        {
            _optimizer.zero_grad();
            throw new NonFiniteLossException(step, "gradient norm", norm, _lastCheckpoint);
        }
        _optimizer.step();
        _optimizer.zero_grad();
        return norm;
    }

    // A rank whose share of a short final batch is empty still joins the exchange, with zero gradients.
    private List<Tensor> Gradients()
    {
        foreach (Parameter p in _loraParameters)
        {
            if (p.grad is null)
                p.grad = zeros_like(p).DetachFromDisposeScope();
        }
        return _loraParameters.Select(p => p.grad!).ToList();
    }

    public EvalReport Evaluate()
    {
        EvalReport report = Evaluator.Evaluate(Model, Data.Eval, _base.Tokenizer.PadId, _spec.Training.MicroBatchSize, Step);
        if (_spec.Robustness.EvalExamples == 0)
            return report;
        return report with
        {
            Drift = DriftProbe.Measure(Model, Data.Eval, _spec.Robustness, _base.Tokenizer, _spec.Data.MaxSeqLen, _spec.Seed, _spec.Training.MicroBatchSize),
        };
    }

    private EvalReport? RunEval(MetricsLog? metrics)
    {
        if (Data.Eval.Count == 0 || metrics is null)
            return null;
        EvalReport report = Evaluate();
        metrics.WriteEval(report);
        _options.Observer.OnEval(report);
        return report;
    }

    /// <summary>Writes LoRA weights (PEFT format), optimizer state and trainer state; rank 0 only in data-parallel runs.</summary>
    public string? SaveCheckpoint()
    {
        if (_options.Exchange.Rank != 0)
            return null;
        var watch = Stopwatch.StartNew();
        string directory = _checkpoints.Save(Step, folder =>
        {
            PeftAdapter.Save(folder, Model, _lora, _base.Name);
            using (var stream = File.Create(Path.Combine(folder, OptimizerFile)))
            using (var writer = new BinaryWriter(stream))
                _optimizer.save_state_dict(writer);
            var state = new TrainerState
            {
                Step = Step,
                TotalSteps = Plan.TotalSteps,
                Seed = _spec.Seed,
                Method = _spec.Method.Name,
                Rho = _spec.Method.Rho,
                WorldSize = Plan.WorldSize,
                Epoch = Step / Plan.StepsPerEpoch,
                BatchInEpoch = Step % Plan.StepsPerEpoch,
                LearningRate = LearningRateSchedule.At(_spec.Optimizer, Step, Plan.TotalSteps),
                FirstLoss = _firstLoss,
                SpecJson = SpecFingerprint.Json(_spec),
                WrittenUtc = DateTime.UtcNow,
            };
            File.WriteAllText(Path.Combine(folder, CheckpointStore.StateFile), JsonSerializer.Serialize(state, StateJson));
        });
        _lastCheckpoint = directory;
        _options.Observer.OnCheckpoint(Step, directory, watch.Elapsed);
        return directory;
    }

    /// <summary>The newest complete checkpoint under this run's checkpoint root, if any.</summary>
    public string? LatestCheckpoint() => _checkpoints.Latest();

    /// <summary>Restores LoRA weights, optimizer state and the step from a checkpoint written under the same spec.</summary>
    public void ResumeFrom(string checkpointDirectory)
    {
        string statePath = Path.Combine(checkpointDirectory, CheckpointStore.StateFile);
        if (!File.Exists(statePath))
            throw new FileNotFoundException($"not a checkpoint (no {CheckpointStore.StateFile}): {checkpointDirectory}", statePath);
        TrainerState state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), StateJson)
            ?? throw new InvalidDataException($"{statePath}: empty");
        IReadOnlyList<string> differences = SpecFingerprint.Differences(state.SpecJson, SpecFingerprint.Json(_spec));
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"checkpoint {checkpointDirectory} was written under a different spec (differs in: {string.Join(", ", differences)}); " +
                "resume with the spec that wrote it, or start a new output_dir");
        if (state.Step > Plan.TotalSteps)
            throw new InvalidOperationException($"checkpoint {checkpointDirectory} is at step {state.Step}, past the run's {Plan.TotalSteps} steps");
        PeftAdapter.Load(checkpointDirectory, Model);
        using (var stream = File.OpenRead(Path.Combine(checkpointDirectory, OptimizerFile)))
        using (var reader = new BinaryReader(stream))
            _optimizer.load_state_dict(reader);
        Step = state.Step;
        _firstLoss = state.FirstLoss;
        _lastCheckpoint = checkpointDirectory;
        _options.Observer.OnInfo($"Resumed from {checkpointDirectory} at step {Step}/{Plan.TotalSteps}.");
    }

    private static readonly JsonSerializerOptions StateJson = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Dispose()
    {
        Perturbation?.Dispose();
        _optimizer.Dispose();
        Model.Dispose();
    }
}
