namespace FlatLora.Spec.Tests;

public class SpecLoaderTests
{
    [Fact]
    public void An_empty_document_gives_the_defaults()
    {
        TrainSpec spec = SpecLoader.LoadText<TrainSpec>("", "empty.yaml");
        Assert.Equal(new TrainSpec().Lora, spec.Lora);
        Assert.Equal("flat", spec.Method.Name);
        Assert.Empty(TrainSpecValidator.Validate(spec));
    }

    [Fact]
    public void Yaml_and_json_read_the_same_snake_case_fields()
    {
        const string yaml = """
            method:
              name: lora
            lora:
              rank: 16
              targets: [q_proj, v_proj]
            training:
              micro_batch_size: 4
            seed: 7
            """;
        const string json = """{"method": {"name": "lora"}, "lora": {"rank": 16, "targets": ["q_proj", "v_proj"]}, "training": {"micro_batch_size": 4}, "seed": 7}""";
        TrainSpec fromYaml = SpecLoader.LoadText<TrainSpec>(yaml, "a.yaml");
        TrainSpec fromJson = SpecLoader.LoadText<TrainSpec>(json, "a.json");
        foreach (TrainSpec spec in new[] { fromYaml, fromJson })
        {
            Assert.Equal("lora", spec.Method.Name);
            Assert.Equal(16, spec.Lora.Rank);
            Assert.Equal(["q_proj", "v_proj"], spec.Lora.Targets);
            Assert.Equal(4, spec.Training.MicroBatchSize);
            Assert.Equal(7, spec.Seed);
        }
    }

    [Fact]
    public void An_unknown_field_names_file_line_path_and_the_allowed_fields()
    {
        const string yaml = "lora:\n  rank: 8\n  rnak: 4\n";
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>(yaml, "run.yaml"));
        SpecError single = Assert.Single(error.Errors);
        Assert.Equal("lora.rnak", single.Field);
        Assert.Equal("run.yaml:3:3", single.Location);
        Assert.Contains("unknown field", single.Message);
        Assert.Contains("rank, alpha, dropout, targets", single.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_field_and_expected_type()
    {
        const string yaml = "optimizer:\n  lr: fast\n";
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>(yaml, "run.yaml"));
        Assert.Equal("optimizer.lr", error.Errors[0].Field);
        Assert.Equal("run.yaml:2:7", error.Errors[0].Location);
        Assert.Contains("must be a number", error.Errors[0].Message);
    }

    [Fact]
    public void Broken_yaml_syntax_reports_its_location()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>("lora: [1, 2\n", "bad.yaml"));
        Assert.StartsWith("bad.yaml:", error.Errors[0].Location);
    }

    [Fact]
    public void Overrides_set_nested_fields_with_typed_values()
    {
        TrainSpec spec = SpecLoader.LoadText<TrainSpec>("lora:\n  rank: 8\n", "a.yaml",
            ["lora.rank=32", "method.rho=0.1", "lora.targets=[q_proj]", "output_dir=/tmp/x", "optimizer.warmup_steps=5"]);
        Assert.Equal(32, spec.Lora.Rank);
        Assert.Equal(0.1, spec.Method.Rho);
        Assert.Equal(["q_proj"], spec.Lora.Targets);
        Assert.Equal("/tmp/x", spec.OutputDir);
        Assert.Equal(5, spec.Optimizer.WarmupSteps);
    }

    [Fact]
    public void Overrides_build_a_new_spec_and_keep_every_other_field_exactly()
    {
        TrainSpec preset = TrainPresets.Tiny() with { Optimizer = TrainPresets.Tiny().Optimizer with { WarmupSteps = 3, Lr = 1.0 / 3 } };
        string before = SpecJson.Serialize(preset);
        TrainSpec changed = SpecLoader.WithOverrides(preset, ["lora.rank=16", "robustness.perturb=[typo]"]);
        Assert.Equal(before, SpecJson.Serialize(preset));   // the original is untouched
        TrainSpec expected = preset with
        {
            Lora = preset.Lora with { Rank = 16 },
            Robustness = preset.Robustness with { Perturb = ["typo"] },
        };
        Assert.Equal(SpecJson.Serialize(expected), SpecJson.Serialize(changed));
    }

    [Fact]
    public void Overrides_round_trip_a_sweep_spec_with_its_inline_base()
    {
        var sweep = new SweepSpec
        {
            Name = "s",
            Spec = TrainPresets.Tiny(),
            Grid = new() { ["method.name"] = ["lora", "flat"] },
            Asha = new AshaSpec { Rungs = [10, 20] },
        };
        SweepSpec changed = SpecLoader.WithOverrides(sweep, ["max_concurrent=5"]);
        Assert.Equal(SpecJson.Serialize(sweep with { MaxConcurrent = 5 }), SpecJson.Serialize(changed));
    }

    [Theory]
    [InlineData("lora.rnak=3", "lora.rnak", "unknown field")]
    [InlineData("lora.rank=many", "lora.rank", "as an integer")]
    [InlineData("seed.x=1", "seed", "is a value, not a section")]
    [InlineData("noequals", "(override)", "field.path=value")]
    public void Bad_overrides_name_the_field(string assignment, string field, string message)
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>("", "a.yaml", [assignment]));
        Assert.Equal(field, error.Errors[0].Field);
        Assert.Contains(message, error.Errors[0].Message);
    }

    [Fact]
    public void A_missing_file_is_reported()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadFile<TrainSpec>("/nonexistent/run.yaml"));
        Assert.Contains("/nonexistent/run.yaml", error.Message);
    }

    [Fact]
    public void A_spec_or_sweep_written_as_spec_text_reads_back_equal_through_the_files_checks()
    {
        TrainSpec spec = TrainPresets.Tiny() with { Evaluation = new EvaluationSpec { Flatness = new FlatnessSpec { Sigma = [0.05], Samples = 4 } } };
        var sweep = new SweepSpec
        {
            Name = "demo",
            Grid = new() { ["method.name"] = ["lora", "flat"] },
            Seeds = [1, 2],
            Compare = new CompareSpec { Field = "method.name", A = "lora", B = "flat" },
            Metrics = ["eval_loss", "sharpness@0.05"],
            Spec = spec,
        };
        TrainSpec specBack = SpecLoader.LoadText<TrainSpec>(SpecJson.ToSpecText(spec), "spec.json");
        SweepSpec sweepBack = SpecLoader.LoadText<SweepSpec>(SpecJson.ToSpecText(sweep), "sweep.json");
        Assert.Equal(SpecJson.Serialize(spec), SpecJson.Serialize(specBack));
        Assert.Equal(SpecJson.Serialize(sweep), SpecJson.Serialize(sweepBack));
    }
}

