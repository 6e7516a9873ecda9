using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FlatLora.Client.Commands;

/// <summary>
/// Values an option cannot sensibly take, checked at parse time for every command: no number option takes NaN or an
/// infinity, and the options below have a range. A violation is a usage error (exit 2) that names the option.
/// </summary>
internal static class OptionRules
{
    private sealed record Range(double Min, double Max, bool MinExclusive = false)
    {
        public bool Contains(double value) => (MinExclusive ? value > Min : value >= Min) && value <= Max;

        public string Describe() => Max == double.MaxValue
            ? (MinExclusive ? $"must be greater than {Show(Min)}" : $"must be at least {Show(Min)}")
            : $"must be in {(MinExclusive ? "(" : "[")}{Show(Min)}, {Show(Max)}]";
    }

    private static readonly Range Positive = new(0, double.MaxValue, MinExclusive: true);
    private static readonly Range AtLeastOne = new(1, double.MaxValue);
    private static readonly Range NotNegative = new(0, double.MaxValue);

    /// <summary>By option name; a "command --option" key overrides it where one name means two things.</summary>
    private static readonly Dictionary<string, Range> Ranges = new(StringComparer.Ordinal)
    {
        // A worker's ring position counts from 0; everywhere else --rank is a LoRA rank.
        ["allreduce-worker --rank"] = NotNegative,
        ["--top-p"] = new(0, 1, MinExclusive: true),
        ["--temperature"] = NotNegative,
        ["--rho"] = new(0, 10),
        ["--epsilon"] = Positive,
        ["--high-drift"] = NotNegative,
        ["--max-shard-gb"] = Positive,
        ["--connect-timeout"] = Positive,
        ["--batch"] = AtLeastOne,
        ["--seq"] = AtLeastOne,
        ["--rank"] = AtLeastOne,
        ["--steps"] = AtLeastOne,
        ["--iterations"] = AtLeastOne,
        ["--shards"] = AtLeastOne,
        ["--max-new-tokens"] = AtLeastOne,
        ["--mb"] = AtLeastOne,
        ["--workers"] = AtLeastOne,
        ["--silos"] = AtLeastOne,
        ["--devices-per-silo"] = AtLeastOne,
        ["--trials"] = AtLeastOne,
        ["--slots"] = AtLeastOne,
        ["--shortest-job-ms"] = AtLeastOne,
        ["--longest-job-ms"] = AtLeastOne,
        ["--warmup"] = NotNegative,
        ["--kill-silos"] = NotNegative,
        ["--projects"] = NotNegative,
        ["--small-runs"] = AtLeastOne,
        ["--preempt-after-s"] = NotNegative,
        ["--checkpoint-ms"] = NotNegative,
        ["--max-examples"] = NotNegative,
    };

    /// <summary>Adds the checks to every number option of <paramref name="command"/> and its subcommands.</summary>
    public static void Apply(Command command)
    {
        foreach (Option option in command.Options)
        {
            if (option.ValueType is var t && (t == typeof(double) || t == typeof(double?) || t == typeof(int) || t == typeof(int?) ||
                                             t == typeof(long) || t == typeof(long?)) && Checked.Add(option))
            {
                Range? range = Ranges.GetValueOrDefault($"{command.Name} {option.Name}") ?? Ranges.GetValueOrDefault(option.Name);
                option.Validators.Add(result => Check(result, range));
            }
        }
        foreach (Command sub in command.Subcommands)
            Apply(sub);
    }

    // An option object shared by several commands gets its checks once.
    private static readonly HashSet<Option> Checked = new(ReferenceEqualityComparer.Instance);

    private static void Check(OptionResult result, Range? range)
    {
        if (result.Implicit || result.Tokens.Count == 0)
            return;   // the default, which the command chose
        string name = result.Option.Name;
        // Read from the token: the typed value throws when the text is not a number, which the parser reports itself.
        if (!double.TryParse(result.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            return;
        if (!double.IsFinite(v))
            result.AddError($"{name}: must be a finite number (got {result.Tokens[0].Value})");
        else if (range is not null && !range.Contains(v))
            result.AddError($"{name}: {range.Describe()} (got {result.Tokens[0].Value})");
    }

    /// <summary>The option names a folder to write: an existing file there is refused by name before anything runs.</summary>
    public static Option<T> OutputFolder<T>(this Option<T> option)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && File.Exists(result.Tokens[0].Value))
                result.AddError($"{option.Name}: {result.Tokens[0].Value} is an existing file, not a folder");
        });
        return option;
    }

    /// <summary>The option names a file to write: an existing folder there is refused by name.</summary>
    public static Option<T> OutputFile<T>(this Option<T> option)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && Directory.Exists(result.Tokens[0].Value))
                result.AddError($"{option.Name}: {result.Tokens[0].Value} is an existing folder, not a file");
        });
        return option;
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
