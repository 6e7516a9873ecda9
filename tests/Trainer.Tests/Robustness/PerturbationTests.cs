using System.Text;
using FlatLora.Trainer.Robustness.Perturbations;

namespace FlatLora.Trainer.Tests.Robustness;

public class PerturbationTests
{
    private const string Prompt = "Please explain why the big red car from Paris costs 12,500 euros. Answer in a short, simple sentence!";

    public static TheoryData<string> Names => new(PerturbationCatalog.Names);

    private static PerturbedText Apply(string name, PerturbationSeverity severity, long seed, string text = Prompt)
    {
        var random = new PerturbationRandom(seed);
        return PerturbationCatalog.All.Single(p => p.Name == name).Apply(text, severity, ref random);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_same_seed_gives_the_same_text_and_another_seed_another(string name)
    {
        Assert.Equal(Apply(name, PerturbationSeverity.Heavy, 7).Text, Apply(name, PerturbationSeverity.Heavy, 7).Text);
        var texts = Enumerable.Range(0, 8).Select(seed => Apply(name, PerturbationSeverity.Heavy, seed).Text).Distinct().ToList();
        Assert.True(texts.Count > 1, $"{name}: eight seeds gave one text");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Outputs_are_valid_utf8_and_the_edits_rebuild_them(string name)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        string emojiText = "Rate 😀 this 🚀 plan for Zoë, café owner.";
        foreach (string text in new[] { Prompt, emojiText })
        {
            for (int seed = 0; seed < 20; seed++)
            {
                PerturbedText result = Apply(name, PerturbationSeverity.Heavy, seed, text);
                Assert.Equal(result.Text, strict.GetString(strict.GetBytes(result.Text)));
                // Every edit is a replacement of a span of the input, in order: replaying them gives the output.
                var rebuilt = new StringBuilder();
                int cursor = 0;
                foreach (PerturbationEdit edit in result.Edits)
                {
                    Assert.Equal(edit.Original, text.Substring(edit.Position, edit.Original.Length));
                    rebuilt.Append(text, cursor, edit.Position - cursor).Append(edit.Replacement);
                    cursor = edit.Position + edit.Original.Length;
                }
                rebuilt.Append(text, cursor, text.Length - cursor);
                Assert.Equal(result.Text, rebuilt.ToString());
                Assert.All(result.Edits, e => Assert.Equal(name, e.Perturbation));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Heavy_changes_more_than_light(string name)
    {
        int Edits(PerturbationSeverity severity) => Enumerable.Range(0, 40).Sum(seed => Apply(name, severity, seed).Edits.Count);
        Assert.True(Edits(PerturbationSeverity.Heavy) > Edits(PerturbationSeverity.Light), name);
        Assert.True(Edits(PerturbationSeverity.Light) > 0, $"{name}: light never changed anything in 40 tries");
    }

    [Fact]
    public void Each_kind_does_what_its_name_says()
    {
        string confusable = Apply("confusable", PerturbationSeverity.Heavy, 3).Text;
        Assert.Contains(confusable, c => c > 0x7F);   // non-ASCII look-alikes
        Assert.Equal(Prompt.ToLowerInvariant(), Apply("casing", PerturbationSeverity.Heavy, 3).Text.ToLowerInvariant());
        Assert.True(Apply("deletion", PerturbationSeverity.Heavy, 3).Text.Length < Prompt.Length);
        Assert.Contains(Apply("emoji", PerturbationSeverity.Heavy, 3).Text, char.IsSurrogate);
        PerturbedText synonyms = Apply("synonym", PerturbationSeverity.Heavy, 3);
        Assert.All(synonyms.Edits, e => Assert.NotEqual(e.Original, e.Replacement));
        Assert.Contains(synonyms.Edits, e => e.Original == "Please" && char.IsUpper(e.Replacement[0]));   // casing kept
        Assert.Equal(Prompt.Replace(" ", "", StringComparison.Ordinal), Apply("spacing", PerturbationSeverity.Heavy, 3).Text.Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void The_spec_validator_knows_the_same_perturbations_as_the_catalog()
    {
        Assert.Equal(PerturbationCatalog.Names.Order(), FlatLora.Spec.TrainSpecValidator.Perturbations.Order());
    }

    [Fact]
    public void Lists_parse_with_severities_and_bad_items_are_named()
    {
        var choices = PerturbationCatalog.Parse("typo:heavy, confusable");
        Assert.Equal(["typo:heavy", "confusable:light"], choices.Select(c => c.Label));
        Assert.Contains("unknown perturbation 'tpyo'", Assert.Throws<ArgumentException>(() => PerturbationCatalog.Parse("tpyo:light")).Message);
        Assert.Contains("'typo:extreme' must be", Assert.Throws<ArgumentException>(() => PerturbationCatalog.Parse("typo:extreme")).Message);
    }

    [Fact]
    public void Composition_applies_each_in_turn_and_keeps_all_edits()
    {
        var random = new PerturbationRandom(5);
        PerturbedText both = PerturbationCatalog.Compose(Prompt, PerturbationCatalog.Parse("synonym:heavy,casing:heavy"), ref random);
        Assert.Contains(both.Edits, e => e.Perturbation == "synonym");
        Assert.Contains(both.Edits, e => e.Perturbation == "casing");
        Assert.Equal(Prompt, both.Original);
    }
}
