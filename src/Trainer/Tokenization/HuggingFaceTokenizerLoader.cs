using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// Loads the tokenizer of a Hugging Face model folder: <c>tokenizer.json</c> (BPE, byte-level or SentencePiece-style)
/// when present, else <c>tokenizer.model</c> (SentencePiece); special tokens from <c>tokenizer_config.json</c> /
/// <c>special_tokens_map.json</c>, falling back to the ids in <c>config.json</c>; and the family's chat template.
/// </summary>
public static class HuggingFaceTokenizerLoader
{
    // GPT-2's pre-tokenization, which byte-level tokenizers without an explicit Split use.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // Llama 3's Split pre-tokenizer.
    private const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static ITokenizer Load(string directory, int? configBosId = null, IReadOnlyList<int>? configEosIds = null)
    {
        string json = Path.Combine(directory, "tokenizer.json");
        string model = Path.Combine(directory, "tokenizer.model");
        TokenConfig tokenConfig = TokenConfig.Read(directory);
        if (File.Exists(json))
            return LoadTokenizerJson(json, tokenConfig, configBosId, configEosIds);
        if (File.Exists(model))
        {
            var probe = new SentencePieceModelTokenizer(model);
            return new SentencePieceModelTokenizer(model, tokenConfig.AddBos == false
                ? new SpecialTokenIds(null, probe.EosId, null, [probe.EosId])
                : null);
        }
        throw new FileNotFoundException($"no tokenizer.json or tokenizer.model in {directory}", json);
    }

    public static BpeJsonTokenizer LoadTokenizerJson(string path, TokenConfig? tokenConfig = null, int? configBosId = null, IReadOnlyList<int>? configEosIds = null)
    {
        tokenConfig ??= new TokenConfig();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, $"invalid JSON ({e.Message})");
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (!root.TryGetProperty("model", out JsonElement modelElement))
                throw new TokenizerFormatException(path, "no 'model' section");
            string type = modelElement.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "BPE";
            if (type != "BPE")
                throw new TokenizerFormatException(path, $"model type '{type}' is not supported (BPE only)");
            if (!modelElement.TryGetProperty("vocab", out JsonElement vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
                throw new TokenizerFormatException(path, "model.vocab is missing");
            var vocab = vocabElement.EnumerateObject().ToDictionary(p => p.Name,
                p => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int id) && id >= 0
                    ? id
                    : throw new TokenizerFormatException(path, $"model.vocab['{p.Name}'] is not a token id ({p.Value.GetRawText()})"), StringComparer.Ordinal);
            if (vocab.Count == 0)
                throw new TokenizerFormatException(path, "model.vocab is empty");
            var merges = modelElement.TryGetProperty("merges", out JsonElement m) && m.ValueKind == JsonValueKind.Array
                ? m.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : $"{e[0].GetString()} {e[1].GetString()}").ToList()
                : [];
            bool byteFallback = modelElement.TryGetProperty("byte_fallback", out JsonElement bf) && bf.ValueKind == JsonValueKind.True;
            string? unknown = modelElement.TryGetProperty("unk_token", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;

            var idToToken = vocab.ToDictionary(p => p.Value, p => p.Key);
            var specialIds = new HashSet<int>();
            var tokenToId = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement token in added.EnumerateArray())
                {
                    int id = token.GetProperty("id").GetInt32();
                    string content = token.GetProperty("content").GetString()!;
                    idToToken[id] = content;
                    tokenToId[content] = id;
                    if (token.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True)
                        specialIds.Add(id);
                }
            }

            bool byteLevel = Mentions(root, "pre_tokenizer", "ByteLevel") || Mentions(root, "decoder", "ByteLevel");
            bool sentencePiece = !byteLevel && (Mentions(root, "normalizer", "Prepend") || Mentions(root, "pre_tokenizer", "Metaspace") || Mentions(root, "decoder", "ByteFallback"));
            if (!byteLevel && !sentencePiece)
                throw new TokenizerFormatException(path, "neither a byte-level nor a SentencePiece-style BPE layout (no ByteLevel, Prepend or Metaspace step)");

            var options = new BpeOptions(vocab) { Merges = merges, FuseUnknownTokens = false };
            string? pattern = byteLevel ? SplitPattern(root) ?? Gpt2Pattern : null;
            if (byteLevel)
            {
                options.ByteLevel = true;
                options.PreTokenizer = new RegexPreTokenizer(new Regex(pattern!, RegexOptions.Compiled), null);
            }
            else if (unknown is not null)
            {
                options.UnknownToken = unknown;
            }
            BpeTokenizer bpe;
            try
            {
                bpe = BpeTokenizer.Create(options);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
            {
                throw new TokenizerFormatException(path, $"vocabulary or merges are inconsistent ({e.Message})");
            }

            int[]? byteTokens = null;
            if (byteFallback)
            {
                byteTokens = new int[256];
                for (int b = 0; b < 256; b++)
                {
                    string name = $"<0x{b:X2}>";
                    byteTokens[b] = tokenToId.TryGetValue(name, out int id)
                        ? id
                        : throw new TokenizerFormatException(path, $"byte_fallback is on but the vocabulary lacks {name}");
                }
            }
            SpecialTokenIds special = ResolveSpecials(path, tokenConfig, tokenToId, root, configBosId, configEosIds);
            IChatTemplate template = ChatTemplateFor(tokenToId, sentencePiece, special);
            return new BpeJsonTokenizer(bpe, sentencePiece, unknown is not null && vocab.TryGetValue(unknown, out int unk) ? unk : null,
                byteTokens, idToToken, specialIds, special, template, SplitsAtWords(vocab.Keys, sentencePiece, pattern),
                vocab.Keys.Select(k => k.Length).DefaultIfEmpty(1).Max());
        }
    }

    private static SpecialTokenIds ResolveSpecials(string path, TokenConfig config, Dictionary<string, int> tokenToId,
        JsonElement root, int? configBosId, IReadOnlyList<int>? configEosIds)
    {
        int? Lookup(string? token) => token is not null && tokenToId.TryGetValue(token, out int id) ? id : null;
        int? bos = Lookup(config.BosToken) ?? configBosId;
        bool addBos = config.AddBos ?? (bos is not null && Mentions(root, "post_processor", "SpecialToken"));
        int eos = Lookup(config.EosToken) ?? (configEosIds is { Count: > 0 } ? configEosIds[0] : (int?)null)
            ?? throw new TokenizerFormatException(path, "no eos token (tokenizer_config.json eos_token or config.json eos_token_id)");
        var stops = new List<int> { eos };
        stops.AddRange(configEosIds ?? []);
        foreach (string turnEnd in new[] { "<|eot_id|>", "<|end_of_text|>", "<|eom_id|>", "</s>" })
        {
            if (Lookup(turnEnd) is int id)
                stops.Add(id);
        }
        return new SpecialTokenIds(addBos ? bos : null, eos, Lookup(config.PadToken), stops.Distinct().ToList());
    }

    private static IChatTemplate ChatTemplateFor(Dictionary<string, int> tokenToId, bool sentencePiece, SpecialTokenIds special)
    {
        if (tokenToId.TryGetValue("<|begin_of_text|>", out int begin) && tokenToId.TryGetValue("<|start_header_id|>", out int start) &&
            tokenToId.TryGetValue("<|end_header_id|>", out int end) && tokenToId.TryGetValue("<|eot_id|>", out int eot))
            return new Llama3ChatTemplate(begin, start, end, eot);
        if (sentencePiece && tokenToId.TryGetValue("<s>", out int bos))
            return new Llama2ChatTemplate(bos, special.Eos);
        return new RoleTagChatTemplate();
    }

    /// <summary>
    /// Whether no token can span a word separator that follows another character, so text may be encoded word group by
    /// word group (<see cref="TextChunks"/>). SentencePiece style: no vocabulary entry has ▁ after a character that is
    /// not ▁ or a space (Llama 2's has none). Byte-level: the pre-tokenizer is GPT-2's or Llama 3's, whose pieces hold a
    /// space only at their start or among other whitespace; merges never cross pieces.
    /// </summary>
    private static bool SplitsAtWords(IEnumerable<string> vocabulary, bool sentencePiece, string? pattern)
    {
        if (!sentencePiece)
            return pattern is Gpt2Pattern or Llama3Pattern;
        foreach (string token in vocabulary)
        {
            for (int i = 1; i < token.Length; i++)
            {
                if (token[i] == '\u2581' && token[i - 1] != '\u2581' && !char.IsWhiteSpace(token[i - 1]))
                    return false;
            }
        }
        return true;
    }

    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
            return null;
        IEnumerable<JsonElement> steps = pre.TryGetProperty("pretokenizers", out JsonElement list) ? list.EnumerateArray() : [pre];
        foreach (JsonElement step in steps)
        {
            if (step.TryGetProperty("type", out JsonElement type) && type.GetString() == "Split" &&
                step.TryGetProperty("pattern", out JsonElement pattern) && pattern.TryGetProperty("Regex", out JsonElement regex))
                return regex.GetString();
        }
        return null;
    }

    private static bool Mentions(JsonElement root, string section, string type) =>
        root.TryGetProperty(section, out JsonElement element) && element.ValueKind != JsonValueKind.Null &&
        element.GetRawText().Contains($"\"{type}\"", StringComparison.Ordinal);
}
