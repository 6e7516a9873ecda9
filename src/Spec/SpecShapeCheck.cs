using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FlatLora.Spec;

/// <summary>
/// Checks a YAML spec's tree against the spec records before anything is deserialized, so every problem is reported in
/// a user's words with its line, column and field: unknown and duplicate keys, a value where a section belongs (and
/// the reverse), numbers that do not parse, are out of range or are not finite, and documents that are not one mapping.
/// The deserializer's own messages name .NET types and parser states; they never reach a user.
/// </summary>
internal static class SpecShapeCheck
{
    public static List<SpecError> Check(string text, string sourceName, Type rootType)
    {
        var errors = new List<SpecError>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // An unclosed '[' or '{' confuses the parser far from where it is (YamlDotNet may even fail with an invalid
            // state): the bracket that opened it is what to show.
            if (FlowBrackets.FirstUnclosed(text) is (char open, int line, int column))
                errors.Add(new SpecError("(document)", open == '['
                    ? "this '[' opens a list that is never closed (a ']' is missing)"
                    : "this '{' opens a mapping that is never closed (a '}' is missing)", $"{sourceName}:{line}:{column}"));
            else if (e is YamlException yaml)
                errors.Add(new SpecError(DuplicateKey(yaml, text) ?? "(document)", SyntaxMessage(yaml), Location(sourceName, yaml.Start)));
            else
                errors.Add(new SpecError("(document)", "is not valid YAML", sourceName));
            return errors;
        }
        if (stream.Documents.Count == 0)
            return errors;
        if (stream.Documents.Count > 1)
        {
            errors.Add(new SpecError("(document)", "a spec file holds one YAML document; another one starts here (remove the '---')",
                Location(sourceName, stream.Documents[1].RootNode.Start)));
            return errors;
        }
        YamlNode root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" or "null" })
            return errors;   // an empty file: every default
        if (root is not YamlMappingNode)
        {
            errors.Add(new SpecError("(document)", $"a spec is a mapping of sections (model:, lora:, ...), not {Kind(root)}", Location(sourceName, root.Start)));
            return errors;
        }
        Walk(root, rootType, "", sourceName, errors);
        return errors;
    }

    private static void Walk(YamlNode node, Type type, string path, string source, List<SpecError> errors)
    {
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        string field = path.Length == 0 ? "(document)" : path;
        string where = Location(source, node.Start);
        if (IsNull(node))
        {
            bool nullable = !type.IsValueType || Nullable.GetUnderlyingType(type) is not null;
            if (!nullable || SpecNaming.IsSection(t) || IsDictionary(t))
                errors.Add(new SpecError(field, $"has no value; give {Describe(t)} or remove the line", where));
            return;
        }
        if (SpecNaming.IsSection(t))
        {
            if (node is not YamlMappingNode mapping)
            {
                errors.Add(new SpecError(field, $"is a section with fields ({string.Join(", ", SpecNaming.Fields(t).Keys)}), not {Kind(node)}", where));
                return;
            }
            IReadOnlyDictionary<string, PropertyInfo> fields = SpecNaming.Fields(t);
            foreach ((YamlNode keyNode, YamlNode value) in mapping.Children)
            {
                string key = keyNode is YamlScalarNode s ? s.Value ?? "" : "?";
                string child = path.Length == 0 ? key : $"{path}.{key}";
                if (!fields.TryGetValue(key, out PropertyInfo? property))
                {
                    errors.Add(new SpecError(child, $"unknown field (expected one of: {string.Join(", ", fields.Keys)})", Location(source, keyNode.Start)));
                    continue;
                }
                Walk(value, property.PropertyType, child, source, errors);
            }
            return;
        }
        if (IsDictionary(t))
        {
            if (node is not YamlMappingNode mapping)
            {
                errors.Add(new SpecError(field, $"is a mapping of names to values, not {Kind(node)}", where));
                return;
            }
            Type valueType = t.GetGenericArguments()[1];
            foreach ((YamlNode keyNode, YamlNode value) in mapping.Children)
                Walk(value, valueType, $"{path}.{(keyNode as YamlScalarNode)?.Value}", source, errors);
            return;
        }
        if (t.IsArray)
        {
            if (node is not YamlSequenceNode sequence)
            {
                errors.Add(new SpecError(field, $"is a list (for example [a, b]), not {Kind(node)}", where));
                return;
            }
            for (int i = 0; i < sequence.Children.Count; i++)
                Walk(sequence.Children[i], t.GetElementType()!, $"{path}.{i}", source, errors);
            return;
        }
        if (node is not YamlScalarNode scalar)
        {
            errors.Add(new SpecError(field, $"is {Describe(t)}, not {Kind(node)}", where));
            return;
        }
        if (ScalarProblem(scalar.Value ?? "", t) is string problem)
            errors.Add(new SpecError(field, problem, where));
    }

    private static string? ScalarProblem(string value, Type t)
    {
        if (t == typeof(int) || t == typeof(long))
        {
            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number))
                return $"must be an integer (got '{value}')";
            if (t == typeof(int) && number is < int.MinValue or > int.MaxValue)
                return $"is out of range for an integer (got {value})";
            return null;
        }
        if (t == typeof(double) || t == typeof(float))
        {
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
                return value is ".nan" or ".NaN" or ".inf" or "-.inf" or ".Inf" or "-.Inf"
                    ? $"must be a finite number (got {value})"
                    : $"must be a number (got '{value}')";
            return double.IsFinite(number) ? null : $"must be a finite number (got {value})";
        }
        if (t == typeof(bool))
            return value is "true" or "false" or "True" or "False" or "TRUE" or "FALSE" ? null : $"must be true or false (got '{value}')";
        return null;   // strings, and values the validator checks by meaning
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static bool IsDictionary(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>);

    private static string Kind(YamlNode node) => node switch
    {
        YamlMappingNode => "a section (key: value lines)",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"the value '{s.Value}'",
        _ => "this",
    };

    private static string Describe(Type t)
    {
        if (t == typeof(int) || t == typeof(long)) return "an integer";
        if (t == typeof(double) || t == typeof(float)) return "a number";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(string)) return "a string";
        if (t.IsArray) return "a list";
        if (IsDictionary(t)) return "a mapping";
        return "a section";
    }

    /// <summary>The parser's message without its own position suffix (the location is reported in front).</summary>
    private static string SyntaxMessage(YamlException e)
    {
        string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        if (message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase))
            return "this key appears twice in its section (a duplicate is an error, not an override)";
        int at = message.IndexOf(" (at Line:", StringComparison.Ordinal);
        message = at > 0 ? message[..at] : message;
        return $"not valid YAML: {message.TrimEnd('.')}";
    }

    // The key a duplicate-key error points at, read from the text at the error's position.
    private static string? DuplicateKey(YamlException e, string text)
    {
        if (!SyntaxMessage(e).Contains("appears twice", StringComparison.Ordinal))
            return null;
        string[] lines = text.Split('\n');
        if (e.Start.Line < 1 || e.Start.Line > lines.Length)
            return null;
        string line = lines[e.Start.Line - 1];
        int from = (int)Math.Clamp(e.Start.Column - 1, 0, line.Length);
        int colon = line.IndexOf(':', from);
        return colon > from ? line[from..colon].Trim().Trim('"', '\'') : null;
    }

    public static string Location(string source, Mark mark) =>
        string.Create(CultureInfo.InvariantCulture, $"{source}:{mark.Line}:{mark.Column}");
}
