using FlatLora.Abstractions.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Hosting;

/// <summary>
/// The scheduling configuration in force. A change (the ConfigMap file was edited) applies at once if it is valid; an
/// invalid one is refused with an error naming each bad setting, and the last valid one stays in force, so a typo in a
/// quota never stops the scheduler. The silo refuses to start with an invalid one (see SiloSettings).
/// </summary>
public sealed partial class SchedulingConfig : IDisposable
{
    private readonly ILogger<SchedulingConfig> _logger;
    private readonly IDisposable? _subscription;
    private volatile SchedulingSettings _current;

    public SchedulingConfig(IOptionsMonitor<SchedulingSettings> monitor, ILogger<SchedulingConfig> logger)
    {
        _logger = logger;
        _current = Valid(monitor.CurrentValue) ?? new SchedulingSettings();
        _subscription = monitor.OnChange(changed =>
        {
            if (Valid(changed) is { } good)
            {
                _current = good;
                LogApplied(_logger, good.Projects.Count, good.PreemptAfter.TotalSeconds);
            }
        });
    }

    public SchedulingSettings Current => _current;

    private SchedulingSettings? Valid(SchedulingSettings settings)
    {
        IReadOnlyList<string> problems = SchedulingSettingsCheck.Problems(settings);
        foreach (string problem in problems)
            LogRefused(_logger, problem);
        return problems.Count == 0 ? settings : null;
    }

    public void Dispose() => _subscription?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduling: configuration applied ({Projects} project(s), preempt after {Seconds} s)")]
    private static partial void LogApplied(ILogger logger, int projects, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduling: configuration change refused, the previous one stays in force: {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
