namespace FlatLora.Spec.Tests;

/// <summary>Every malformed spec gets file:line:column, the field, and words a user reads: never a .NET type or parser state.</summary>
public class SpecErrorsInUsersWordsTests
{
    [Theory]
    [InlineData("method: flat\n", "bad.yaml:1:9: method: is a section with fields (name, rho), not the value 'flat'")]
    [InlineData("lora:\n  targets: q_proj\n", "bad.yaml:2:12: lora.targets: is a list (for example [a, b]), not the value 'q_proj'")]
    [InlineData("experiment:\n  seeds: {a: 1}\n", "bad.yaml:2:10: experiment.seeds: is a list")]
    [InlineData("- a\n- b\n", "bad.yaml:1:1: (document): a spec is a mapping of sections")]
    [InlineData("lora:\n  rank: 4\n---\nlora:\n  rank: 5\n", "bad.yaml:4:1: (document): a spec file holds one YAML document")]
    [InlineData("lora:\n  rank: abc\n", "bad.yaml:2:9: lora.rank: must be an integer (got 'abc')")]
    [InlineData("lora:\n  rank: 99999999999\n", "bad.yaml:2:9: lora.rank: is out of range for an integer")]
    [InlineData("method:\n  rho: .nan\n", "bad.yaml:2:8: method.rho: must be a finite number (got .nan)")]
    [InlineData("optimizer:\n  lr: 1e999\n", "bad.yaml:2:7: optimizer.lr: must be a finite number")]
    [InlineData("lora:\n", "bad.yaml:1:6: lora: has no value")]
    [InlineData("training:\n  gradient_checkpointing: maybe\n", "training.gradient_checkpointing: must be true or false (got 'maybe')")]
    public void A_malformed_spec_is_described_in_a_users_words(string yaml, string expected)
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>(yaml, "bad.yaml"));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("System.", error.Message);
        Assert.DoesNotContain("FlatLora.Spec", error.Message);
        Assert.DoesNotContain("Idx:", error.Message);
    }

    [Theory]
    [InlineData("method: [lora\nlora: { rank: 4 }\n", "bad.yaml:1:9: (document): this '[' opens a list that is never closed (a ']' is missing)")]
    [InlineData("lora: { rank: 4\nmethod: { name: flat }\n", "bad.yaml:1:7: (document): this '{' opens a mapping that is never closed (a '}' is missing)")]
    [InlineData("lora:\n  targets: [q_proj, v_proj\n  rank: 4\n", "bad.yaml:2:12: (document): this '[' opens a list that is never closed")]
    [InlineData("experiment: { seeds: [1, 2 }\ntraining: { max_steps: 2 }\n", "bad.yaml:1:22: (document): this '[' opens a list that is never closed")]
    public void An_unclosed_flow_sequence_or_mapping_is_named_where_it_opens(string yaml, string expected)
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>(yaml, "bad.yaml"));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("Operation is not valid", error.Message);
    }

    [Fact]
    public void A_duplicate_key_is_an_error_not_the_last_one_winning()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>("lora:\n  rank: 4\n  rank: 8\n", "dup.yaml"));
        Assert.Contains("dup.yaml:3:3: rank: this key appears twice", error.Message);
    }

    [Fact]
    public void Every_problem_is_reported_on_a_line_of_its_own()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<TrainSpec>("lora:\n  rank: abc\n  rnak: 4\n", "two.yaml"));
        string[] lines = error.Message.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("two.yaml:2:9: lora.rank:", lines[0]);
        Assert.StartsWith("error: two.yaml:3:3: lora.rnak: unknown field", lines[1]);
    }

    [Fact]
    public void A_sweep_grid_is_a_mapping_of_field_paths_to_lists()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText<SweepSpec>("grid:\n  lora.rank: 8\n", "sweep.yaml"));
        Assert.Contains("sweep.yaml:2:14: grid.lora.rank: is a list", error.Message);
        SweepSpec fine = SpecLoader.LoadText<SweepSpec>("grid:\n  lora.rank: [4, 8]\n", "sweep.yaml");
        Assert.Equal(["4", "8"], fine.Grid["lora.rank"]);
    }
}

public class DataColumnsSpecTests
{
    [Fact]
    public void Columns_load_from_yaml_and_are_checked_by_role()
    {
        TrainSpec spec = SpecLoader.LoadText<TrainSpec>("data:\n  columns:\n    prompt: question\n    response: answer\n", "a.yaml");
        Assert.Equal("question", spec.Data.Columns["prompt"]);
        Assert.DoesNotContain(TrainSpecValidator.Validate(spec), e => e.Field.StartsWith("data.columns", StringComparison.Ordinal));

        TrainSpec bad = SpecLoader.LoadText<TrainSpec>("data:\n  columns:\n    question: q\n    prompt: p\n    instruction: i\n", "a.yaml");
        var errors = TrainSpecValidator.Validate(bad);
        Assert.Contains(errors, e => e.Field == "data.columns.question" && e.Message.StartsWith("unknown role", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "data.columns" && e.Message.Contains("different layouts", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "data.columns" && e.Message.Contains("map the answer too", StringComparison.Ordinal));
    }
}
