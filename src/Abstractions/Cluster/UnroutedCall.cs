namespace FlatLora.Abstractions.Cluster;

/// <summary>
/// Failures of a grain call that never reached its grain: Orleans could not route it (a silo gone or not yet declared
/// dead) or timed out placing it (the runtime's Polly placement pipeline, e.g. while a link is cut). Nothing ran, so
/// the caller may ask again and blame no grain or device.
/// </summary>
public static class UnroutedCall
{
    public static bool Is(Exception e) => e is OrleansMessageRejectionException or SiloUnavailableException or Polly.Timeout.TimeoutRejectedException;
}
