using FlatLora.Abstractions.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace FlatLora.Grains.Hosting;

/// <summary>
/// The scheduling configuration in force. With a scheduling file, an edit applies within a few seconds if it is valid;
/// an edit that does not parse, or names a bad value, is refused with an error naming the file or each bad setting,
/// and the last valid configuration stays in force, so a typo in a quota never stops the scheduler. (The silo refuses
/// to start with an invalid one: see the silo's AddScheduling.) Without a file, the options as configured apply.
/// </summary>
public sealed partial class SchedulingConfig : ISchedulingSettings, IDisposable
{
    private readonly ILogger<SchedulingConfig> _logger;
    private readonly IDisposable? _subscription;
    private readonly PhysicalFileProvider? _files;
    private volatile SchedulingSettings _current;

    [ActivatorUtilitiesConstructor]
    public SchedulingConfig(IOptionsMonitor<SchedulingSettings> monitor, ILogger<SchedulingConfig> logger, IServiceProvider services)
    {
        _logger = logger;
        if (services.GetService<SchedulingFile>() is { } file && services.GetService<IConfiguration>() is { } configuration)
        {
            _current = Valid(file.Load(configuration)) ?? new SchedulingSettings();
            // Kubernetes swaps a mounted ConfigMap through a symlink, which file events miss: the file is polled.
            _files = new PhysicalFileProvider(Path.GetDirectoryName(file.Path)!) { UsePollingFileWatcher = true, UseActivePolling = true };
            _subscription = ChangeToken.OnChange(() => _files.Watch(Path.GetFileName(file.Path)), () => Reload(file, configuration));
            return;
        }
        _current = Valid(monitor.CurrentValue) ?? new SchedulingSettings();
        _subscription = monitor.OnChange(changed => Apply(changed));
    }

    public SchedulingSettings Current => _current;

    private void Reload(SchedulingFile file, IConfiguration configuration)
    {
        try
        {
            Apply(file.Load(configuration));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            LogRefused(_logger, e.Message);
        }
    }

    private void Apply(SchedulingSettings changed)
    {
        if (Valid(changed) is not { } good)
            return;
        _current = good;
        LogApplied(_logger, good.Projects.Count, good.PreemptAfter.TotalSeconds);
    }

    private SchedulingSettings? Valid(SchedulingSettings settings)
    {
        IReadOnlyList<string> problems = SchedulingSettingsCheck.Problems(settings);
        foreach (string problem in problems)
            LogRefused(_logger, problem);
        return problems.Count == 0 ? settings : null;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _files?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduling: configuration applied ({Projects} project(s), preempt after {Seconds} s)")]
    private static partial void LogApplied(ILogger logger, int projects, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduling: configuration refused, the previous one stays in force: {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
