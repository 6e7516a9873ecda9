namespace FlatLora.Trainer.Training;

/// <summary>Progress sink for a run (CLI bars, grain events, metrics). Called on the training thread; keep it quick.</summary>
public interface ITrainingObserver
{
    void OnStep(StepReport report) { }
    void OnEval(EvalReport report) { }
    void OnCheckpoint(long step, string directory, TimeSpan duration) { }
    void OnInfo(string message) { }
}

/// <summary>An observer that ignores everything.</summary>
public sealed class SilentObserver : ITrainingObserver
{
    public static readonly SilentObserver Instance = new();
}
