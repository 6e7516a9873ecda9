namespace FlatLora.Spec;

/// <summary>Checks every field of a <see cref="TrainSpec"/> and names each bad one with the reason.</summary>
public static class TrainSpecValidator
{
    public static readonly string[] Dtypes = ["float32", "bfloat16", "float16"];
    public static readonly string[] Methods = [MethodSpec.Lora, MethodSpec.Flat];
    public static readonly string[] DataFormats = ["auto", "alpaca", "prompt_completion", "messages", "classification"];
    public static readonly string[] ColumnRoles = ["prompt", "response", "instruction", "input", "messages", "text", "label"];
    public static readonly string[] Templates = ["alpaca", "plain"];
    public static readonly string[] Schedules = ["cosine", "linear", "constant"];
    public static readonly string[] BuiltinModels = ["tiny"];
    public static readonly string[] BuiltinTasks = ["tiny-shift"];
    public static readonly string[] Perturbations = ["typo", "spacing", "punctuation", "confusable", "emoji", "casing", "deletion", "synonym"];
    public static readonly string[] Selections = ["topk", "softmax"];
    public static readonly string[] Divergences = ["kl", "js"];
    public static readonly string[] KnownTargets =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <param name="checkFiles">
    /// Also check that the files the spec names exist. False where the spec runs elsewhere: a cluster command checks
    /// values only, since a relative path means a file under the silo's root, not under this working directory.
    /// </param>
    public static IReadOnlyList<SpecError> Validate(TrainSpec spec, bool checkFiles = true)
    {
        var errors = new List<SpecError>();
        void Check(bool ok, string field, string message)
        {
            if (!ok)
                errors.Add(new SpecError(field, message));
        }

        // Model
        ModelSpec model = spec.Model;
        Check(model.Path is not null || model.Builtin is not null, "model", "set model.path (a Hugging Face folder) or model.builtin");
        if (model.Path is null && model.Builtin is not null)
            Check(BuiltinModels.Contains(model.Builtin), "model.builtin", OneOf(BuiltinModels, model.Builtin));
        if (model.Path is not null && checkFiles)
        {
            string? problem = null;
            try
            {
                string folder = HubCache.Resolve(model.Path);
                if (!Directory.Exists(folder))
                    problem = $"folder not found: {model.Path}";
            }
            catch (DirectoryNotFoundException e)
            {
                problem = e.Message["model.path: ".Length..];
            }
            Check(problem is null, "model.path", problem ?? "");
        }
        Check(Dtypes.Contains(model.Dtype), "model.dtype", OneOf(Dtypes, model.Dtype));

        // LoRA
        LoraSpec lora = spec.Lora;
        Check(lora.Rank >= 1, "lora.rank", $"must be at least 1 (got {lora.Rank})");
        Check(lora.Alpha > 0 && double.IsFinite(lora.Alpha), "lora.alpha", $"must be a positive number (got {lora.Alpha})");
        Check(lora.Dropout is >= 0 and < 1, "lora.dropout", $"must be in [0, 1) (got {lora.Dropout})");
        Check(lora.Targets.Length > 0, "lora.targets", "must name at least one linear layer");
        for (int i = 0; i < lora.Targets.Length; i++)
            Check(KnownTargets.Contains(lora.Targets[i]), $"lora.targets.{i}", OneOf(KnownTargets, lora.Targets[i]));
        Check(lora.Targets.Distinct().Count() == lora.Targets.Length, "lora.targets", "lists a layer twice");

        // Method
        Check(Methods.Contains(spec.Method.Name), "method.name", OneOf(Methods, spec.Method.Name));
        Check(spec.Method.Rho is >= 0 and <= 10 && double.IsFinite(spec.Method.Rho), "method.rho",
            $"must be in [0, 10] (got {spec.Method.Rho}); the paper uses 0.05 for language models");

        // Data
        DataSpec data = spec.Data;
        Check(data.Train is not null || data.Builtin is not null, "data", "set data.train (a JSONL file) or data.builtin");
        if (data.Train is null && data.Builtin is not null)
            Check(BuiltinTasks.Contains(data.Builtin), "data.builtin", OneOf(BuiltinTasks, data.Builtin));
        if (data.Train is not null && checkFiles)
            Check(File.Exists(data.Train), "data.train", $"file not found: {data.Train}");
        if (data.Eval is not null && checkFiles)
            Check(File.Exists(data.Eval), "data.eval", $"file not found: {data.Eval}");
        Check(data.EvalFraction is >= 0 and < 1, "data.eval_fraction", $"must be in [0, 1) (got {data.EvalFraction})");
        Check(DataFormats.Contains(data.Format), "data.format", OneOf(DataFormats, data.Format));
        foreach ((string role, string column) in data.Columns)
        {
            Check(ColumnRoles.Contains(role), $"data.columns.{role}", $"unknown role (expected one of: {string.Join(", ", ColumnRoles)})");
            Check(!string.IsNullOrWhiteSpace(column), $"data.columns.{role}", "must name a column");
        }
        if (data.Columns.Count > 0)
        {
            bool instruction = data.Columns.ContainsKey("instruction"), prompt = data.Columns.ContainsKey("prompt");
            bool messages = data.Columns.ContainsKey("messages"), text = data.Columns.ContainsKey("text");
            Check(new[] { instruction, prompt, messages, text }.Count(b => b) <= 1, "data.columns",
                "map one of instruction, prompt, messages or text: they are different layouts");
            Check(messages || data.Columns.ContainsKey("response") || data.Columns.ContainsKey("label"), "data.columns",
                "map the answer too: response (or label for text)");
            Check(messages || instruction || prompt || text, "data.columns", "map the question too: prompt, instruction or text");
        }
        Check(Templates.Contains(data.Template), "data.template", OneOf(Templates, data.Template));
        Check(data.MaxSeqLen >= 4, "data.max_seq_len", $"must be at least 4 (got {data.MaxSeqLen})");

        // Training
        TrainingSpec training = spec.Training;
        Check(training.BatchSize >= 1, "training.batch_size", $"must be at least 1 (got {training.BatchSize})");
        Check(training.MicroBatchSize >= 1, "training.micro_batch_size", $"must be at least 1 (got {training.MicroBatchSize})");
        Check(training.MicroBatchSize <= Math.Max(1, training.BatchSize), "training.micro_batch_size",
            $"must not exceed training.batch_size ({training.BatchSize}) (got {training.MicroBatchSize})");
        Check(training.Epochs >= 1 || training.MaxSteps >= 1, "training.epochs", $"must be at least 1 when training.max_steps is 0 (got {training.Epochs})");
        Check(training.MaxSteps >= 0, "training.max_steps", $"must be 0 (use epochs) or positive (got {training.MaxSteps})");
        Check(training.EvalEvery >= 0, "training.eval_every", $"must be 0 or positive (got {training.EvalEvery})");
        Check(training.LogEvery >= 1, "training.log_every", $"must be at least 1 (got {training.LogEvery})");

        // Optimizer
        OptimizerSpec opt = spec.Optimizer;
        Check(opt.Lr > 0 && double.IsFinite(opt.Lr), "optimizer.lr", $"must be a positive number (got {opt.Lr})");
        Check(opt.WeightDecay >= 0, "optimizer.weight_decay", $"must be 0 or positive (got {opt.WeightDecay})");
        Check(opt.Beta1 is >= 0 and < 1, "optimizer.beta1", $"must be in [0, 1) (got {opt.Beta1})");
        Check(opt.Beta2 is >= 0 and < 1, "optimizer.beta2", $"must be in [0, 1) (got {opt.Beta2})");
        Check(opt.Eps > 0, "optimizer.eps", $"must be positive (got {opt.Eps})");
        Check(opt.WarmupRatio is >= 0 and < 1, "optimizer.warmup_ratio", $"must be in [0, 1) (got {opt.WarmupRatio})");
        Check(opt.WarmupSteps is null or >= 0, "optimizer.warmup_steps", $"must be 0 or positive (got {opt.WarmupSteps})");
        Check(Schedules.Contains(opt.Schedule), "optimizer.schedule", OneOf(Schedules, opt.Schedule));
        Check(opt.MinLrRatio is >= 0 and <= 1, "optimizer.min_lr_ratio", $"must be in [0, 1] (got {opt.MinLrRatio})");
        Check(opt.MaxGradNorm >= 0, "optimizer.max_grad_norm", $"must be 0 (off) or positive (got {opt.MaxGradNorm})");

        // Robustness (S2R2)
        RobustnessSpec robustness = spec.Robustness;
        Check(robustness.Weight >= 0 && double.IsFinite(robustness.Weight), "robustness.weight", $"must be 0 (off) or positive (got {robustness.Weight})");
        Check(robustness.NormWeight >= 0 && double.IsFinite(robustness.NormWeight), "robustness.norm_weight", $"must be 0 (off) or positive (got {robustness.NormWeight})");
        Check(Selections.Contains(robustness.Selection), "robustness.selection", OneOf(Selections, robustness.Selection));
        Check(robustness.TopK >= 1, "robustness.top_k", $"must be at least 1 (got {robustness.TopK})");
        Check(robustness.Temperature > 0 && double.IsFinite(robustness.Temperature), "robustness.temperature", $"must be positive (got {robustness.Temperature})");
        Check(Divergences.Contains(robustness.Divergence), "robustness.divergence", OneOf(Divergences, robustness.Divergence));
        Check(robustness.EvalExamples >= 0, "robustness.eval_examples", $"must be 0 (off) or positive (got {robustness.EvalExamples})");
        Check(robustness.HighDrift > 0 && double.IsFinite(robustness.HighDrift), "robustness.high_drift", $"must be positive (got {robustness.HighDrift})");
        bool needsPerturbations = robustness.Weight > 0 || robustness.EvalExamples > 0;
        Check(!needsPerturbations || robustness.Perturb.Length > 0, "robustness.perturb", "must list at least one perturbation when weight or eval_examples is set");
        for (int i = 0; i < robustness.Perturb.Length; i++)
        {
            string[] parts = robustness.Perturb[i].Split(':');
            Check(Perturbations.Contains(parts[0]), $"robustness.perturb.{i}", OneOf(Perturbations, parts[0]));
            Check(parts.Length == 1 || (parts.Length == 2 && parts[1] is "light" or "heavy"), $"robustness.perturb.{i}",
                $"must be name, name:light or name:heavy (got '{robustness.Perturb[i]}')");
        }

        // Evaluation (flatness of the final weights)
        FlatnessSpec flatness = spec.Evaluation.Flatness;
        for (int i = 0; i < flatness.Sigma.Length; i++)
            Check(flatness.Sigma[i] >= 0 && double.IsFinite(flatness.Sigma[i]), $"evaluation.flatness.sigma.{i}", $"must be a finite number ≥ 0 (got {flatness.Sigma[i]})");
        Check(flatness.Sigma.Distinct().Count() == flatness.Sigma.Length, "evaluation.flatness.sigma", "lists a σ twice");
        Check(flatness.Samples >= 2, "evaluation.flatness.samples", $"must be at least 2 for a confidence interval (got {flatness.Samples})");
        Check(flatness.MaxExamples >= 0, "evaluation.flatness.max_examples", $"must be 0 (all) or positive (got {flatness.MaxExamples})");

        // Experiment (cluster runs)
        ExperimentSection experiment = spec.Experiment;
        Check(experiment.Seeds.Distinct().Count() == experiment.Seeds.Length, "experiment.seeds", "lists a seed twice");
        Check(experiment.Seeds.Length <= 64, "experiment.seeds", $"at most 64 seeds per experiment (got {experiment.Seeds.Length})");
        Check(experiment.WorldSize is >= 1 and <= 64, "experiment.world_size", $"must be in [1, 64] (got {experiment.WorldSize})");
        Check(experiment.WorldSize <= Math.Max(1, training.BatchSize), "experiment.world_size",
            $"must not exceed training.batch_size ({training.BatchSize}): every rank needs examples (got {experiment.WorldSize})");
        Check(experiment.MinWorldSize is null || (experiment.MinWorldSize >= 1 && experiment.MinWorldSize <= experiment.WorldSize), "experiment.min_world_size",
            $"must be in [1, world_size = {experiment.WorldSize}] (got {experiment.MinWorldSize})");
        Check(experiment.MaxRetries is >= 0 and <= 10, "experiment.max_retries", $"must be in [0, 10] (got {experiment.MaxRetries})");
        Check(experiment.GradientWire is "fp32" or "bf16", "experiment.gradient_wire", $"must be fp32 or bf16 (got '{experiment.GradientWire}')");
        Check(PriorityClasses.TryParse(experiment.Priority, out _), "experiment.priority", OneOf(PriorityClasses.Names, experiment.Priority));
        Check(experiment.Name is null || (experiment.Name.Length <= 80 && !experiment.Name.Any(char.IsControl)), "experiment.name",
            "must be at most 80 printable characters");

        // Checkpoints and run
        Check(spec.Checkpoint.Interval >= 0, "checkpoint.interval", $"must be 0 (final only) or positive (got {spec.Checkpoint.Interval})");
        Check(spec.Checkpoint.Keep >= 1, "checkpoint.keep", $"must be at least 1 (got {spec.Checkpoint.Keep})");
        Check(IsDevice(spec.Device), "device", $"must be cpu, cuda, cuda:N or auto (got '{spec.Device}')");
        Check(!string.IsNullOrWhiteSpace(spec.OutputDir), "output_dir", "must be a folder path");
        if (!string.IsNullOrWhiteSpace(spec.OutputDir) && checkFiles)
            Check(!File.Exists(spec.OutputDir), "output_dir", $"{spec.OutputDir} is an existing file, not a folder");
        return errors;
    }

    private static bool IsDevice(string device) =>
        device is "cpu" or "cuda" or "auto" ||
        (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out int index) && index >= 0);

    private static string OneOf(string[] allowed, string? got) => $"must be one of {string.Join(", ", allowed)} (got '{got}')";
}
