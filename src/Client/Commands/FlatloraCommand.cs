using System.CommandLine;
using FlatLora.Trainer.Hardware;

namespace FlatLora.Client.Commands;

/// <summary>
/// Base of every command: runs <see cref="ExecuteAsync"/> and turns any exception into one line on stderr and an exit
/// code (<see cref="ErrorReport"/>). Results go to stdout, messages and progress to stderr.
/// </summary>
internal abstract class FlatloraCommand : Command
{
    protected FlatloraCommand(string name, string description) : base(name, description)
    {
        SetAction(InvokeAsync);
    }

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken);

    private async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        try
        {
            // Before anything touches torch: TorchSharp's native library binds to the first libtorch loaded.
            LibTorchLocator.Preload(parseResult.GetValue(GlobalOptions.LibTorch));
            return await ExecuteAsync(parseResult, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            (int code, string line) = ErrorReport.Describe(e);
            await error.WriteLineAsync(line).ConfigureAwait(false);
            if (parseResult.GetValue(GlobalOptions.Verbose))
                await error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            return code;
        }
    }
}
