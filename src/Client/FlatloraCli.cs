using System.CommandLine;
using System.CommandLine.Parsing;
using FlatLora.Client.Commands;

namespace FlatLora.Client;

/// <summary>The `flatlora` command tree, and running it.</summary>
public static class FlatloraCli
{
    /// <summary>
    /// Parses and runs a command line. A usage error (unknown option, missing argument, a value that does not parse) is
    /// bad input: one line per problem and exit 2, as every other bad input.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, InvocationConfiguration configuration)
    {
        ParseResult parseResult = Build().Parse(args);
        if (parseResult.Errors.Count == 0)
            return await parseResult.InvokeAsync(configuration).ConfigureAwait(false);
        TextWriter error = configuration.Error;
        foreach (ParseError problem in parseResult.Errors)
            await error.WriteLineAsync($"error: {InUsersWords(problem.Message)}").ConfigureAwait(false);
        var names = new List<string>();
        for (SymbolResult? result = parseResult.CommandResult; result is CommandResult { Parent: not null } level; result = level.Parent)
            names.Insert(0, level.Command.Name);
        string command = string.Join(' ', names.Prepend("flatlora"));
        await error.WriteLineAsync($"(`{command} --help` lists the options)").ConfigureAwait(false);
        return ExitCodes.InvalidInput;
    }

    // The parser names .NET types ("as expected type 'System.Double'"); a user reads "a number".
    private static string InUsersWords(string message) => message
        .Replace("as expected type 'System.Double'", "as a number", StringComparison.Ordinal)
        .Replace("as expected type 'System.Int32'", "as an integer", StringComparison.Ordinal)
        .Replace("as expected type 'System.Int64'", "as an integer", StringComparison.Ordinal)
        .Replace("as expected type 'System.Boolean'", "as true or false", StringComparison.Ordinal);

    public static RootCommand Build()
    {
        var root = new RootCommand("flatlora: LoRA and Flat-LoRA fine-tuning of Llama-family models, on one machine or an Orleans cluster")
        {
            new DemoCommand(),
            new TrainCommand(),
            new SubmitCommand(),
            new SweepCommand(),
            new StatusCommand(),
            new WatchCommand(),
            new CancelCommand(),
            new ResultsCommand(),
            new ExportCommand(),
            new ClusterInfoCommand(),
            new QueueCommand(),
            new GenerateCommand(),
            new MergeCommand(),
            new RobustnessCommand(),
            new FlatnessCommand(),
            new CertsCommand(),
            new BenchCommand(),
        };
        foreach (Option option in GlobalOptions.All)
            root.Options.Add(option);
        OptionRules.Apply(root);
        return root;
    }
}
