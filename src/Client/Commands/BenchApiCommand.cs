using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlatLora.Client.Bench;
using FlatLora.Client.Rendering;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora bench api`: the public API's latency and throughput against a silo that holds many experiments, with TLS and the policy on and off.</summary>
internal sealed class BenchApiCommand : FlatloraCommand
{
    private static readonly Option<int> ClientsOption = new("--clients") { Description = "Concurrent clients, each on its own connection", DefaultValueFactory = _ => 64 };
    private static readonly Option<double> SecondsOption = new("--seconds") { Description = "Seconds of load per phase", DefaultValueFactory = _ => 30 };
    private static readonly Option<int> ExperimentsOption = new("--experiments") { Description = "Experiments the silo holds", DefaultValueFactory = _ => 10_000 };
    private static readonly Option<double> RateOption = new("--rate") { Description = "Requests per second offered by all clients together (0: as fast as answered)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the figures as one JSON object on stdout" };
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public BenchApiCommand() : base("api", "Public API latency and throughput: status calls and list pages from many clients, TLS and policy on and off")
    {
        foreach (Option option in new Option[] { ClientsOption, SecondsOption, ExperimentsOption, RateOption, JsonOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        int clients = parseResult.GetValue(ClientsOption), experiments = parseResult.GetValue(ExperimentsOption);
        double seconds = parseResult.GetValue(SecondsOption);
        if (clients is < 1 or > 1024)
            throw new ArgumentException($"--clients must be in [1, 1024] (got {clients})");
        if (experiments is < 50 or > 1_000_000)
            throw new ArgumentException($"--experiments must be in [50, 1000000] (got {experiments})");
        if (!(seconds is >= 1 and <= 3600))
            throw new ArgumentException($"--seconds must be in [1, 3600] (got {seconds})");
        double rate = parseResult.GetValue(RateOption);
        if (!(rate is >= 0 and <= 1_000_000))
            throw new ArgumentException($"--rate must be in [0, 1000000] (got {rate})");
        IAnsiConsole console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        ApiBenchmarkReport report = await ApiBenchmark.RunAsync(new ApiBenchmarkOptions(experiments, clients, TimeSpan.FromSeconds(seconds), rate),
            message => console.WriteLine(message), cancellationToken).ConfigureAwait(false);
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(JsonOption))
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        foreach (ApiPhaseReport phase in report.Phases)
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{phase.Phase}: {phase.RequestsPerSecond:F0} requests/s, p50 {phase.MsP50:F2} ms, p99 {phase.MsP99:F2} ms, {phase.Errors} error(s)")).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"identification and policy: {report.IdentifyAndAuthorizeMicroseconds:F2} µs per request; {report.Experiments} experiments seeded in {report.SeedingSeconds:F1} s")).ConfigureAwait(false);
        return report.Phases.All(p => p.Errors == 0) ? ExitCodes.Success : ExitCodes.Failure;
    }
}
