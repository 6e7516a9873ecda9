using FlatLora.Spec;

namespace FlatLora.Trainer.Training;

/// <summary>Run length and batching derived from the spec and the dataset size.</summary>
public sealed record RunPlan(long TotalSteps, int StepsPerEpoch, int GlobalBatch, int MicroBatch, int Rank, int WorldSize)
{
    public static RunPlan Create(TrainingSpec spec, int trainExamples, int rank = 0, int worldSize = 1)
    {
        int stepsPerEpoch = (trainExamples + spec.BatchSize - 1) / spec.BatchSize;
        long total = spec.MaxSteps > 0 ? spec.MaxSteps : (long)stepsPerEpoch * spec.Epochs;
        return new RunPlan(total, stepsPerEpoch, spec.BatchSize, spec.MicroBatchSize, rank, worldSize);
    }
}
