using System.Diagnostics;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Methods;
using FlatLora.Trainer.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>
/// One LoRA / Flat-LoRA fine-tuning run on one rank. Lifecycle: construct from a validated spec (builds the model with
/// LoRA, loads the frozen base, sets up AdamW and the method; see <see cref="RunComponents"/>) → optionally
/// <see cref="ResumeFrom"/> → <see cref="Train"/> → dispose. Everything random derives from the run seed, so two
/// processes (or a resumed one) compute the same thing.
/// </summary>
public sealed class FineTuneRun : IDisposable
{
    private readonly TrainSpec _spec;
    private readonly BaseModel _base;
    private readonly RunOptions _options;
    private readonly Device _device;
    private readonly RunComponents _parts;
    private readonly DataOrder _order;
    private readonly CheckpointStore _checkpoints;
    private readonly RankGradientPass _shareStep;
    private readonly RunTally _tally;

    public FineTuneRun(ValidTrainSpec spec, BaseModel baseModel, TrainingData data, RunOptions? options = null)
    {
        _spec = spec.Spec;
        _base = baseModel;
        _options = options ?? new RunOptions();
        Data = data;
        if (spec.Spec.Evaluation.Flatness.Enabled && data.Eval.Count == 0)
            throw new ArgumentException("evaluation.flatness: needs evaluation examples (data.eval or data.eval_fraction), and the data has none");
        if (data.Train.Count == 0)
            throw new ArgumentException("the training set is empty", nameof(data));
        _device = DeviceSelector.Resolve(_spec.Device);
        Plan = RunPlan.Create(_spec.Training, data.Train.Count, _options.Exchange.Rank, _options.Exchange.WorldSize);
        _order = new DataOrder(data.Train.Count, _spec.Training.BatchSize, _spec.Seed);
        _checkpoints = new CheckpointStore(_options.CheckpointRoot ?? Path.Combine(_spec.OutputDir, "checkpoints"), _spec.Checkpoint.Keep);
        _tally = new RunTally(Plan.TotalSteps);
        _parts = RunComponents.Build(_spec, baseModel, Plan, _device, _options);
        _shareStep = new RankGradientPass(_parts, data, baseModel.Tokenizer.PadId, _device, Plan);
    }

    /// <summary>Resolves the base model and data the spec names, and builds the run.</summary>
    public static FineTuneRun Create(ValidTrainSpec spec, RunOptions? options = null)
    {
        ITrainingObserver observer = options?.Observer ?? SilentObserver.Instance;
        BaseModel baseModel = BaseModelCatalog.Resolve(spec.Spec.Model, observer);
        TrainingData data = DatasetCatalog.Load(spec.Spec.Data, baseModel.Tokenizer, spec.Spec.Seed, options?.Cancellation ?? default);
        if (data.TruncatedCount > 0)
            observer.OnInfo($"{data.TruncatedCount} example(s) were cut to data.max_seq_len={spec.Spec.Data.MaxSeqLen} tokens.");
        return new FineTuneRun(spec, baseModel, data, options);
    }

    public LlamaForCausalLM Model => _parts.Model;

    /// <summary>The method that runs around each step (Flat-LoRA's perturbation, or plain LoRA's nothing).</summary>
    public ITrainingMethod Method => _parts.Method;
    public TrainingData Data { get; }
    public RunPlan Plan { get; }

    /// <summary>The next optimizer step to run (= steps completed).</summary>
    public long Step { get; private set; }

    public string? LastCheckpoint { get; private set; }
    public IReadOnlyList<Parameter> LoraParameters => _parts.LoraParameters;
    private bool IsLeader => _options.Exchange.Rank == 0;

    /// <summary>Runs the remaining steps with logging, evaluation and checkpoints; writes the adapter and summary.</summary>
    public TrainResult Train(CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        // In a data-parallel run every rank has the same weights: rank 0 alone evaluates and writes files.
        using MetricsLog? log = IsLeader ? new MetricsLog(Path.Combine(_spec.OutputDir, "metrics.jsonl")) : null;
        EvalReport? lastEval = Step == 0 ? RunEval(log, cancellationToken) : null;
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
            if (StepLogging.IsDue(report.Figures, _spec.Training.LogEvery))
                log?.WriteStep(report);
            _options.Observer.OnStep(report);
            if (report.Figures.IsLast)
                break;
            if (_spec.Training.EvalEvery > 0 && Step % _spec.Training.EvalEvery == 0)
                lastEval = RunEval(log, cancellationToken);
            if (_spec.Checkpoint.Interval > 0 && Step % _spec.Checkpoint.Interval == 0)
                SaveCheckpoint();
        }
        lastEval = RunEval(log, cancellationToken, final: true) ?? lastEval;
        SaveCheckpoint();
        string adapterDir = Path.Combine(_spec.OutputDir, "adapter");
        if (IsLeader)
            PeftAdapter.Save(adapterDir, Model, LoraOptions.From(_spec.Lora), _base.Name);
        var metrics = new RunMetrics
        {
            Steps = Step,
            InitialLoss = _tally.FirstLoss,
            FinalLoss = _tally.FinalLoss,
            TokensPerSecond = IsLeader ? _tally.TokensPerSecond : 0,
            ElapsedSeconds = watch.Elapsed.TotalSeconds,
            AdapterDirectory = adapterDir,
            FrozenWeightsUnchanged = _parts.FrozenDigest is ulong before ? FrozenWeightDigest.Compute(Model) == before : null,
        };
        if (!IsLeader)
            return new TrainResult(metrics, null);
        var result = new TrainResult(lastEval?.Into(metrics) ?? metrics, lastEval);
        RunSummary.Write(Path.Combine(_spec.OutputDir, "summary.json"), _spec, Plan, result.Metrics, Data);
        return result;
    }

    /// <summary>
    /// One optimizer step: every micro-batch of this rank's share under the method's step state (Flat-LoRA: one ε),
    /// gradients and loss sums added up over ranks, then clip and AdamW. The loss is normalised by the global batch's
    /// target-token count, so the math does not depend on how the batch is split across ranks and micro-batches.
    /// </summary>
    public StepReport TrainStep(CancellationToken cancellationToken = default)
    {
        // One scope for the step's own temporaries (gradient handles, clipping, AdamW); each micro-batch nests its own.
        using var scope = NewDisposeScope();
        var watch = Stopwatch.StartNew();
        long step = Step;
        double lr = LearningRateSchedule.At(_spec.Optimizer, step, Plan.TotalSteps);
        foreach (var group in _parts.Optimizer.ParamGroups)
            group.LearningRate = lr;

        int[] batch = _order.GlobalBatchAt(step);
        long targetTokens = batch.Sum(i => (long)Data.Train[i].TargetCount);
        int[] share = DataOrder.RankShare(batch, Plan.Rank, Plan.WorldSize);
        var exchange = new StepExchange(_options.Exchange, LoraParameters, _parts.LoraLayers);
        RankGradientPass.Result local = _shareStep.Run(step, share, targetTokens, batch.Length, cancellationToken, exchange.Begin(step, cancellationToken));
        double[] exchanged = local.Sums.ToArray();
        exchange.Complete(step, local, exchanged, cancellationToken);
        StepSums sums = StepSums.FromArray(exchanged);
        double loss = sums.CrossEntropy / targetTokens;
        if (!double.IsFinite(loss))
        {
            _parts.Optimizer.zero_grad();
            throw new NonFiniteLossException(step, "loss", loss, LastCheckpoint);
        }
        double gradNorm = OptimizerStep(step);
        Step = step + 1;
        double seconds = watch.Elapsed.TotalSeconds;
        _tally.Add(loss, seconds, local.Tokens);
        var figures = new StepFigures
        {
            Step = step,
            TotalSteps = Plan.TotalSteps,
            Loss = loss,
            LearningRate = lr,
            Sigma = local.Sigma,
            GradNorm = gradNorm,
            Tokens = local.Tokens,
            Samples = share.Length,
            StepSeconds = seconds,
            TokensPerSecond = local.Tokens / Math.Max(seconds, 1e-9),
            EtaSeconds = _tally.EtaSeconds(Plan.TotalSteps - Step),
            ExchangeBytes = _options.Exchange.LastBytesSent,
            ExchangeSeconds = _options.Exchange.LastDuration.TotalSeconds,
            DriftPenalty = _parts.Robustness.PenalisesDrift ? sums.DriftPenalty / batch.Length : null,
            NormPenalty = _parts.Robustness.PenalisesNorm ? sums.NormPenalty : null,
        };
        return new StepReport(figures, local.ConsistencyHash);
    }

    private double OptimizerStep(long step)
    {
        double maxNorm = _spec.Optimizer.MaxGradNorm > 0 ? _spec.Optimizer.MaxGradNorm : double.PositiveInfinity;
        double norm = nn.utils.clip_grad_norm_(LoraParameters, maxNorm);
        if (!double.IsFinite(norm))
        {
            _parts.Optimizer.zero_grad();
            throw new NonFiniteLossException(step, "gradient norm", norm, LastCheckpoint);
        }
        _parts.Optimizer.step();
        _parts.Optimizer.zero_grad();
        return norm;
    }

    /// <param name="withFlatness">Also measure evaluation.flatness (when on): the final evaluation does.</param>
    public EvalReport Evaluate(bool withFlatness = false, CancellationToken cancellationToken = default) =>
        RunEvaluation.Measure(Model, Data.Eval, _spec, _base, Step, _options.Observer, withFlatness, cancellationToken);

    private EvalReport? RunEval(MetricsLog? metrics, CancellationToken cancellationToken, bool final = false)
    {
        if (Data.Eval.Count == 0 || metrics is null)
            return null;
        EvalReport report = Evaluate(withFlatness: final, cancellationToken);
        metrics.WriteEval(report);
        _options.Observer.OnEval(report);
        return report;
    }

    /// <summary>Writes a <see cref="RunCheckpoint"/> of the steps done so far; rank 0 only in data-parallel runs.</summary>
    public string? SaveCheckpoint()
    {
        if (!IsLeader)
            return null;
        var watch = Stopwatch.StartNew();
        string directory = _checkpoints.Save(Step, folder =>
            RunCheckpoint.Write(folder, _spec, Plan, Step, _tally.FirstLoss, _base.Name, Model, _parts.Optimizer));
        LastCheckpoint = directory;
        _options.Observer.OnCheckpoint(Step, directory, watch.Elapsed);
        return directory;
    }

    /// <summary>The newest complete checkpoint under this run's checkpoint root, if any.</summary>
    public string? LatestCheckpoint() => _checkpoints.Latest();

    /// <summary>Restores LoRA weights, optimizer state and the step from a checkpoint written under the same spec.</summary>
    public void ResumeFrom(string checkpointDirectory)
    {
        TrainerState state = RunCheckpoint.Read(checkpointDirectory, _spec, Plan, Model, _parts.Optimizer);
        Step = state.Step;
        _tally.Resume(state.FirstLoss);
        LastCheckpoint = checkpointDirectory;
        _options.Observer.OnInfo($"Resumed from {checkpointDirectory} at step {Step}/{Plan.TotalSteps}.");
    }

    public void Dispose() => _parts.Dispose();
}
