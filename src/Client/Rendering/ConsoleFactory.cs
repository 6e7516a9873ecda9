using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>A Spectre console over the command's stderr: progress and messages never mix with stdout results.</summary>
public static class ConsoleFactory
{
    public static IAnsiConsole ForErrors(TextWriter error)
    {
        bool terminal = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected
                        && Environment.GetEnvironmentVariable("CI") is null;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!terminal)
            console.Profile.Width = 200;   // logs and pipes: one line per message, never wrapped at 80 columns
        return console;
    }
}
