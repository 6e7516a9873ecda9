using System.CommandLine;
using FlatLora.Abstractions;
using FlatLora.Client.Cluster;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>
/// Base of every command: runs <see cref="ExecuteAsync"/> and turns the exceptions users can cause into one clear
/// line on stderr and an exit code (<see cref="ExitCodes"/>). Results go to stdout, messages and progress to stderr.
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
        catch (Exception e) when (e is SpecException or SpecRejectedException or DataFormatException or SafeTensorsFormatException
                                       or FileNotFoundException or DirectoryNotFoundException or ArgumentException
                                       or NotSupportedException or InvalidDataException or KeyNotFoundException or DllNotFoundException)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
        catch (ClusterUnavailableException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (e is NonFiniteLossException or InvalidOperationException or IOException)
        {
            await error.WriteLineAsync($"failed: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }
}
