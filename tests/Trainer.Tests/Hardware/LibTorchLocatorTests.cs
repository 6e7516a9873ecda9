using FlatLora.Trainer.Hardware;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Hardware;

/// <summary>Choosing the libtorch to run on, and saying what was tried when CUDA does not come up.</summary>
public sealed class LibTorchLocatorTests
{
    [Fact]
    public void A_missing_folder_is_named()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => LibTorchLocator.Preload("/nonexistent/torch/lib"));
        Assert.Equal("--libtorch: libtorch folder /nonexistent/torch/lib does not exist", error.Message);
    }

    [Fact]
    public void A_folder_without_libtorch_says_where_to_point_instead()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<FileNotFoundException>(() => LibTorchLocator.Preload(dir.Path));
        Assert.StartsWith($"--libtorch: {dir.Path} holds no libtorch.so. Point it at libtorch's lib folder, or at PyTorch's", error.Message);
    }

    [Fact]
    public void A_second_libtorch_is_refused_once_one_is_loaded()
    {
        using (zeros(1)) { }   // torch is loaded in this process now
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("libtorch.so"), "");
        var error = Assert.Throws<InvalidOperationException>(() => LibTorchLocator.Preload(dir.Path));
        Assert.Contains("libtorch is already loaded from ", error.Message);
        Assert.Contains("a process can use one libtorch", error.Message);
    }

    [Fact]
    public void Asking_for_cuda_without_it_lists_what_was_tried()
    {
        using (zeros(1)) { }
        if (cuda.is_available())
        {
            Assert.Equal(TorchSharp.DeviceType.CUDA, DeviceSelector.Resolve("cuda:0").type);   // a GPU machine: nothing to diagnose
            return;
        }
        var error = Assert.Throws<InvalidOperationException>(() => DeviceSelector.Resolve("cuda:0"));
        Assert.Contains("CUDA did not initialise", error.Message);
        Assert.Contains("- loaded: ", error.Message);
        Assert.Contains("(CPU only: libtorch_cuda.so is not loaded)", error.Message);
        Assert.Contains("- $FLATLORA_LIBTORCH:", error.Message);
        Assert.Contains("--libtorch DIR", error.Message);
    }
}
