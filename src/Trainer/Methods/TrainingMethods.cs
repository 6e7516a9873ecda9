using FlatLora.Spec;
using FlatLora.Trainer.Flat;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Methods;

/// <summary>
/// Builds the method a spec names and places it on the model's LoRA layers. A new method is a folder of its own plus
/// one case here (and its name in <see cref="TrainSpecValidator.Methods"/>).
/// </summary>
public static class TrainingMethods
{
    public static ITrainingMethod Create(MethodSpec method, IReadOnlyList<LoraLinear> layers, long runSeed, long totalSteps, Device device,
        ITrainingObserver observer) => method.Name switch
    {
        MethodSpec.Lora => PlainLoraMethod.Instance,
        MethodSpec.Flat => FlatLoraPerturbation.Create(layers, runSeed, method.Rho, totalSteps, device, observer),
        _ => throw new NotSupportedException($"method.name: no method '{method.Name}' (known: {string.Join(", ", TrainSpecValidator.Methods)})"),
    };
}
