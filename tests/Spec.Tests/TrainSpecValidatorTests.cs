namespace FlatLora.Spec.Tests;

public class TrainSpecValidatorTests
{
    private static IReadOnlyList<SpecError> Errors(TrainSpec spec) => TrainSpecValidator.Validate(spec);

    [Theory]
    [InlineData("lora.rank=0", "lora.rank", "at least 1 (got 0)")]
    [InlineData("lora.dropout=1.5", "lora.dropout", "[0, 1)")]
    [InlineData("lora.targets=[q_proj, qkv]", "lora.targets.1", "must be one of")]
    [InlineData("method.name=sam", "method.name", "must be one of lora, flat (got 'sam')")]
    [InlineData("method.rho=-0.1", "method.rho", "[0, 10]")]
    [InlineData("model.dtype=int8", "model.dtype", "float32, bfloat16, float16")]
    [InlineData("model.builtin=huge", "model.builtin", "must be one of tiny")]
    [InlineData("data.train=/no/such.jsonl", "data.train", "file not found: /no/such.jsonl")]
    [InlineData("data.format=csv", "data.format", "must be one of")]
    [InlineData("training.micro_batch_size=64", "training.micro_batch_size", "must not exceed training.batch_size")]
    [InlineData("optimizer.lr=0", "optimizer.lr", "positive")]
    [InlineData("optimizer.schedule=step", "optimizer.schedule", "cosine, linear, constant")]
    [InlineData("device=tpu", "device", "cpu, cuda, cuda:N or auto")]
    [InlineData("checkpoint.keep=0", "checkpoint.keep", "at least 1")]
    [InlineData("robustness.weight=-1", "robustness.weight", "0 (off) or positive")]
    [InlineData("robustness.selection=max", "robustness.selection", "must be one of topk, softmax")]
    [InlineData("robustness.perturb=[typo:medium]", "robustness.perturb.0", "name:heavy (got 'typo:medium')")]
    [InlineData("robustness.perturb=[tpyo]", "robustness.perturb.0", "must be one of typo")]
    [InlineData("evaluation.flatness.sigma=[0.05, -0.1]", "evaluation.flatness.sigma.1", "must be a finite number ≥ 0 (got -0.1)")]
    [InlineData("evaluation.flatness.sigma=[0.05, 0.05]", "evaluation.flatness.sigma", "lists a σ twice")]
    [InlineData("evaluation.flatness.samples=1", "evaluation.flatness.samples", "at least 2 for a confidence interval (got 1)")]
    [InlineData("experiment.min_world_size=2", "experiment.min_world_size", "[1, world_size = 1] (got 2)")]
    [InlineData("experiment.gradient_wire=fp16", "experiment.gradient_wire", "must be fp32 or bf16 (got 'fp16')")]
    [InlineData("experiment.priority=urgent", "experiment.priority", "must be one of low, normal, high, critical (got 'urgent')")]
    public void Each_bad_field_is_named_with_the_reason(string assignment, string field, string message)
    {
        TrainSpec spec = SpecLoader.LoadText<TrainSpec>("", "a.yaml", [assignment]);
        SpecError error = Assert.Single(Errors(spec));
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void All_problems_are_reported_at_once()
    {
        TrainSpec spec = SpecLoader.LoadText<TrainSpec>("", "a.yaml", ["lora.rank=0", "optimizer.lr=-1", "device=gpu"]);
        var exception = new SpecException(Errors(spec));
        Assert.Equal(3, exception.Errors.Count);
        Assert.Equal(3, exception.Message.Split('\n').Length);   // one line per problem
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:3")]
    [InlineData("auto")]
    public void Device_names_are_accepted(string device)
    {
        Assert.Empty(Errors(new TrainSpec { Device = device }));
    }
}
