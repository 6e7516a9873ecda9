using System.Runtime.InteropServices;

namespace FlatLora.Trainer.Flat.Cuda;

/// <summary>The few CUDA driver API calls the noise kernel needs (libcuda.so.1 ships with the NVIDIA driver).</summary>
internal static unsafe partial class CudaDriver
{
    private const string Library = "libcuda.so.1";

    public const int ComputeCapabilityMajor = 75;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    public const int ComputeCapabilityMinor = 76;

    [LibraryImport(Library)] public static partial int cuInit(uint flags);
    [LibraryImport(Library)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Library)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(Library, EntryPoint = "cuDevicePrimaryCtxRetain")] public static partial int cuDevicePrimaryCtxRetain(out IntPtr context, int device);
    [LibraryImport(Library, EntryPoint = "cuCtxSetCurrent")] public static partial int cuCtxSetCurrent(IntPtr context);
    [LibraryImport(Library, EntryPoint = "cuModuleLoadData")] public static partial int cuModuleLoadData(out IntPtr module, byte* image);
    [LibraryImport(Library, EntryPoint = "cuModuleGetFunction", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int cuModuleGetFunction(out IntPtr function, IntPtr module, string name);
    [LibraryImport(Library, EntryPoint = "cuLaunchKernel")]
    public static partial int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, IntPtr stream, void** parameters, void** extra);
    [LibraryImport(Library, EntryPoint = "cuMemGetInfo_v2")] public static partial int cuMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(Library, EntryPoint = "cuGetErrorString")] public static partial int cuGetErrorString(int error, out IntPtr text);

    /// <summary>Throws with the driver's message unless <paramref name="result"/> is CUDA_SUCCESS.</summary>
    public static void Check(int result, string call)
    {
        if (result == 0)
            return;
        string message = cuGetErrorString(result, out IntPtr text) == 0 && text != IntPtr.Zero ? Marshal.PtrToStringUTF8(text)! : "unknown error";
        throw new InvalidOperationException($"{call} failed: CUDA error {result} ({message})");
    }
}
