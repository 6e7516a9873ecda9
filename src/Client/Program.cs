using System.CommandLine;
using FlatLora.Client;

// Ctrl+C cancels the run, which then checkpoints its last whole step: allow time for that before the process is killed.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(2) };
return await FlatloraCli.RunAsync(args, invocation);
