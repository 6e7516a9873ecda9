namespace FlatLora.Trainer.Distributed;

/// <summary>Where a ring message belongs: run, attempt, step, phase (0 reduce-scatter, 1 all-gather) and hop.</summary>
public readonly record struct RingAddress(string RunKey, int Attempt, int FromRank, int ToRank, long Step, int Phase, int Hop);

/// <summary>One hop of a ring collective: a slice of the gradient buffer plus the sender's perturbation hash.</summary>
public sealed record RingMessage(RingAddress Address, ulong Fingerprint, float[] Values);
