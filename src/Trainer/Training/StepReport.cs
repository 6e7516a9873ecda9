using FlatLora.Spec.Reporting;

namespace FlatLora.Trainer.Training;

/// <summary>What one optimizer step did (global figures when data-parallel), and the hash ranks compare.</summary>
/// <param name="ConsistencyHash">The method's hash of what the step's forward passes saw (Flat-LoRA: ε at fixed positions); 0 for LoRA.</param>
public sealed record StepReport(StepFigures Figures, ulong ConsistencyHash);
