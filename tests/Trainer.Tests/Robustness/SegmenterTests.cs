using FlatLora.Trainer.Robustness;

namespace FlatLora.Trainer.Tests.Robustness;

public class SegmenterTests
{
    private static List<string> Texts(string text) => Segmenter.Split(text).Select(u => u.Text).ToList();

    [Fact]
    public void Sentences_and_clauses_split_on_punctuation()
    {
        Assert.Equal(["The meeting moved to Friday.", "Bring the slides!", "Questions?"], Texts("The meeting moved to Friday. Bring the slides! Questions?"));
        Assert.Equal(["We shipped the release on time,", "but the installer failed on two machines;", "a fix follows."],
            Texts("We shipped the release on time, but the installer failed on two machines; a fix follows."));
        Assert.Equal(["First line", "second line"], Texts("First line\nsecond line"));
    }

    [Fact]
    public void Numbers_initials_and_abbreviations_do_not_split()
    {
        Assert.Equal(["It costs 12,500 euros or 3.5 % more at 10:30 today."], Texts("It costs 12,500 euros or 3.5 % more at 10:30 today."));
        Assert.Equal(["Dr. Smith met J. R. Tolkien and e.g. Mr. Baggins."], Texts("Dr. Smith met J. R. Tolkien and e.g. Mr. Baggins."));
    }

    [Fact]
    public void Short_comma_fragments_stay_with_their_clause()
    {
        Assert.Equal(["Yes, the answer is four."], Texts("Yes, the answer is four."));
        Assert.Equal(["We met the whole team there, briefly."], Texts("We met the whole team there, briefly."));
    }

    [Fact]
    public void Numbers_and_entities_make_a_segment_critical()
    {
        var units = Segmenter.Split("The Eiffel Tower is 330 m tall. It was finished in 1889. It is made of iron.");
        Assert.Equal(3, units.Count);
        Assert.Equal(["Eiffel Tower"], units[0].Entities);
        Assert.Equal(["330"], units[0].Numbers);
        Assert.Equal(["1889"], units[1].Numbers);
        Assert.Empty(units[1].Entities);   // "It" opens the sentence: not an entity
        Assert.False(units[2].IsCritical);
        Assert.Equal(["Paris", "Marie Curie"], Segmenter.Split("Paris honoured Marie Curie.")[0].Entities);
        Assert.Equal(["-4.5%"], Segmenter.Split("Growth was -4.5% last year.")[0].Numbers);
    }

    [Fact]
    public void Offsets_point_into_the_original_text()
    {
        const string text = "  One clause here, and another clause there.  Next sentence!";
        foreach (TextUnit unit in Segmenter.Split(text))
            Assert.Equal(unit.Text, text.Substring(unit.Start, unit.Text.Length));
        Assert.Empty(Segmenter.Split("   "));
    }
}
