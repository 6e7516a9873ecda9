namespace FlatLora.Client.Commands;

/// <summary>Process exit codes: scripts can tell a user error from a failed run.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The run started but failed (NaN loss, a dead peer, an internal error).</summary>
    public const int Failure = 1;

    /// <summary>The input was wrong (spec, data file, arguments); nothing ran.</summary>
    public const int InvalidInput = 2;

    /// <summary>No cluster could be reached.</summary>
    public const int Unavailable = 3;

    /// <summary>The cluster refused the caller: not permitted to do that, or not identified (an expired token).</summary>
    public const int NotPermitted = 4;

    /// <summary>Stopped by Ctrl+C or `cancel`; a checkpoint was written where possible.</summary>
    public const int Cancelled = 130;
}
