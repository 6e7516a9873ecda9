namespace FlatLora.Spec;

/// <summary>When checkpoints are written.</summary>
public sealed record CheckpointSpec
{
    /// <summary>Write a checkpoint every this many optimizer steps; 0 writes only the final one.</summary>
    public int Interval { get; init; } = 50;

    /// <summary>How many of the most recent checkpoints to keep.</summary>
    public int Keep { get; init; } = 2;
}
