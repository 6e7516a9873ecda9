using System.Runtime.InteropServices;
using System.Text;

namespace FlatLora.Trainer.Flat.Cuda;

/// <summary>
/// NVRTC, CUDA's run-time compiler. Its file name carries the CUDA major version and PyTorch's wheels keep it in
/// site-packages/nvidia/.../lib, so it is found at run time: $FLATLORA_NVRTC, the loader's search path, then the
/// NVIDIA wheels next to the loaded PyTorch.
/// </summary>
internal sealed unsafe class Nvrtc
{
    private readonly delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int> _create;
    private readonly delegate* unmanaged<IntPtr, int, byte**, int> _compile;
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _ptxSize;
    private readonly delegate* unmanaged<IntPtr, byte*, int> _ptx;
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _logSize;
    private readonly delegate* unmanaged<IntPtr, byte*, int> _log;
    private readonly delegate* unmanaged<IntPtr*, int> _destroy;

    private Nvrtc(IntPtr library, string path)
    {
        Path = path;
        _create = (delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCreateProgram");
        _compile = (delegate* unmanaged<IntPtr, int, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCompileProgram");
        _ptxSize = (delegate* unmanaged<IntPtr, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetPTXSize");
        _ptx = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetPTX");
        _logSize = (delegate* unmanaged<IntPtr, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLogSize");
        _log = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLog");
        _destroy = (delegate* unmanaged<IntPtr*, int>)NativeLibrary.GetExport(library, "nvrtcDestroyProgram");
    }

    public string Path { get; }

    /// <summary>Loads NVRTC, or says where it looked.</summary>
    public static Nvrtc Load(string? torchLibDirectory)
    {
        var tried = new List<string>();
        foreach (string candidate in Candidates(torchLibDirectory))
        {
            tried.Add(candidate);
            if (NativeLibrary.TryLoad(candidate, out IntPtr library))
                return new Nvrtc(library, candidate);
        }
        throw new DllNotFoundException($"NVRTC was not found (tried {string.Join(", ", tried)}); set FLATLORA_NVRTC to libnvrtc.so's path");
    }

    private static IEnumerable<string> Candidates(string? torchLibDirectory)
    {
        if (Environment.GetEnvironmentVariable("FLATLORA_NVRTC") is { Length: > 0 } explicitPath)
            yield return explicitPath;
        foreach (string name in new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so" })
            yield return name;
        // torch/lib -> site-packages/nvidia/<package>/lib/libnvrtc.so.*
        string? sitePackages = torchLibDirectory is null ? null : System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(torchLibDirectory));
        string nvidia = sitePackages is null ? "" : System.IO.Path.Combine(sitePackages, "nvidia");
        if (Directory.Exists(nvidia))
        {
            foreach (string file in Directory.EnumerateFiles(nvidia, "libnvrtc.so*", SearchOption.AllDirectories)
                         .Where(f => !f.Contains("builtins", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                yield return file;
        }
    }

    /// <summary>Compiles CUDA C++ to PTX; throws with the compiler log on failure.</summary>
    public byte[] CompileToPtx(string source, string name, IReadOnlyList<string> options)
    {
        IntPtr program;
        byte[] sourceBytes = Utf8(source), nameBytes = Utf8(name);
        fixed (byte* src = sourceBytes, nm = nameBytes)
            Check(_create(&program, src, nm, 0, null, null), "nvrtcCreateProgram");
        try
        {
            byte[][] optionBytes = options.Select(Utf8).ToArray();
            var handles = optionBytes.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
            try
            {
                byte** pointers = stackalloc byte*[optionBytes.Length];
                for (int i = 0; i < optionBytes.Length; i++)
                    pointers[i] = (byte*)handles[i].AddrOfPinnedObject();
                int result = _compile(program, optionBytes.Length, pointers);
                if (result != 0)
                    throw new InvalidOperationException($"NVRTC could not compile {name} (error {result}):\n{Log(program)}");
            }
            finally
            {
                foreach (GCHandle handle in handles)
                    handle.Free();
            }
            nuint size;
            Check(_ptxSize(program, &size), "nvrtcGetPTXSize");
            byte[] ptx = new byte[(int)size];
            fixed (byte* p = ptx)
                Check(_ptx(program, p), "nvrtcGetPTX");
            return ptx;
        }
        finally
        {
            _destroy(&program);
        }
    }

    private string Log(IntPtr program)
    {
        nuint size;
        if (_logSize(program, &size) != 0 || size == 0)
            return "";
        byte[] log = new byte[(int)size];
        fixed (byte* p = log)
            _log(program, p);
        return Encoding.UTF8.GetString(log).TrimEnd('\0');
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text + "\0");

    private static void Check(int result, string call)
    {
        if (result != 0)
            throw new InvalidOperationException($"{call} failed with NVRTC error {result}");
    }
}
