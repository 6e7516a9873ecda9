using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FlatLora.Spec;

/// <summary>
/// Loads spec records from YAML or JSON (JSON is read as YAML, its superset) with snake_case keys, then applies
/// explicit <c>field.path=value</c> overrides. Unknown fields and unreadable values fail with the file, line,
/// column and field path; nothing is evaluated as code.
/// </summary>
public static class SpecLoader
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    public static T LoadFile<T>(string path, IEnumerable<string>? overrides = null) where T : class, new()
    {
        if (!File.Exists(path))
            throw new SpecException("(file)", $"spec file not found: {path}");
        return LoadText<T>(File.ReadAllText(path), path, overrides);
    }

    public static T LoadText<T>(string text, string sourceName, IEnumerable<string>? overrides = null)
        where T : class, new()
    {
        T spec;
        SpecException.ThrowIfAny(SpecShapeCheck.Check(text, sourceName, typeof(T)));
        try
        {
            spec = string.IsNullOrWhiteSpace(text) ? new T() : Deserializer.Deserialize<T>(text) ?? new T();
        }
        catch (YamlException e)
        {
            throw new SpecException([Describe(e, text, sourceName, typeof(T))]);
        }
        return WithOverrides(spec, overrides);
    }

    /// <summary>
    /// A copy of <paramref name="spec"/> with <c>section.field=value</c> overrides, each value read as YAML. The copy is
    /// built by the deserializer from the spec's own tree with the overrides placed in it, so no field is ever set after
    /// construction and the spec records stay immutable.
    /// </summary>
    public static T WithOverrides<T>(T spec, IEnumerable<string>? overrides) where T : class, new()
    {
        List<string> assignments = overrides?.ToList() ?? [];
        if (assignments.Count == 0)
            return spec;
        var tree = (YamlMappingNode)ParseNode(SpecJson.Serialize(spec));
        foreach (string assignment in assignments)
            Place(tree, typeof(T), assignment);
        var document = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(tree)).Save(document, assignAnchors: false);
        return Deserializer.Deserialize<T>(document.ToString()) ?? new T();
    }

    /// <summary>Checks one override against the record types and puts its value node into the tree.</summary>
    private static void Place(YamlMappingNode tree, Type rootType, string assignment)
    {
        int equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
            throw new SpecException("(override)", $"'{assignment}' is not of the form field.path=value");
        string path = assignment[..equals].Trim();
        string value = assignment[(equals + 1)..];

        YamlMappingNode section = tree;
        Type type = rootType;
        string[] parts = path.Split('.');
        for (int i = 0; i < parts.Length; i++)
        {
            IReadOnlyDictionary<string, PropertyInfo> fields = SpecNaming.Fields(type);
            string walked = string.Join('.', parts[..(i + 1)]);
            if (!fields.TryGetValue(parts[i], out PropertyInfo? property))
                throw new SpecException(walked, $"unknown field (expected one of: {string.Join(", ", fields.Keys)})", "(override)");
            var key = new YamlScalarNode(parts[i]);
            if (i < parts.Length - 1)
            {
                if (!SpecNaming.IsSection(property.PropertyType))
                    throw new SpecException(walked, "is a value, not a section", "(override)");
                if (!section.Children.TryGetValue(key, out YamlNode? child) || child is not YamlMappingNode inner)
                    throw new SpecException(walked, "section is missing", "(override)");
                section = inner;
                type = property.PropertyType;
                continue;
            }
            string yaml = value.Length == 0 ? "''" : value;
            try
            {
                Deserializer.Deserialize(yaml, property.PropertyType);   // the value alone, for an error that names the field
            }
            catch (YamlException e)
            {
                throw new SpecException(path, $"cannot read '{value}' as {Describe(property.PropertyType)} ({Innermost(e).Message})", "(override)");
            }
            section.Children[key] = ParseNode(yaml);
        }
    }

    private static YamlNode ParseNode(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents[0].RootNode;
    }

    private static SpecError Describe(YamlException e, string text, string sourceName, Type rootType)
    {
        string location = string.Create(CultureInfo.InvariantCulture, $"{sourceName}:{e.Start.Line}:{e.Start.Column}");
        (string? field, bool isKey) = FindField(text, e.Start);
        Exception inner = Innermost(e);

        if (field is not null && isKey && e.Message.Contains("not found on type", StringComparison.Ordinal))
        {
            string parent = field.Contains('.', StringComparison.Ordinal) ? field[..field.LastIndexOf('.')] : "";
            Type? sectionType = ResolveType(rootType, parent);
            string expected = sectionType is null ? "" :
                $" (expected one of: {string.Join(", ", SpecNaming.Fields(sectionType).Keys)})";
            return new SpecError(field, $"unknown field{expected}", location);
        }
        if (field is not null)
        {
            Type? fieldType = ResolveType(rootType, field);
            string expected = fieldType is null ? "" : $" as {Describe(fieldType)}";
            return new SpecError(field, $"cannot read this value{expected} ({inner.Message})", location);
        }
        return new SpecError("(document)", inner.Message, location);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private static string Describe(Type type)
    {
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(int) || t == typeof(long)) return "an integer";
        if (t == typeof(double) || t == typeof(float)) return "a number";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(string)) return "a string";
        if (t.IsArray) return "a list";
        return "a section";
    }

    private static Type? ResolveType(Type root, string path)
    {
        Type current = root;
        if (path.Length == 0)
            return current;
        foreach (string part in path.Split('.'))
        {
            if (current.IsArray)
            {
                current = current.GetElementType()!;
                continue;
            }
            if (!SpecNaming.Fields(current).TryGetValue(part, out PropertyInfo? property))
                return null;
            current = property.PropertyType;
        }
        return current;
    }

    /// <summary>The snake_case path of the node at <paramref name="mark"/>, and whether it is a mapping key.</summary>
    private static (string? Path, bool IsKey) FindField(string text, Mark mark)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException)
        {
            return (null, false);
        }
        return stream.Documents.Count == 0 ? (null, false) : Find(stream.Documents[0].RootNode, "", mark);
    }

    private static (string? Path, bool IsKey) Find(YamlNode node, string path, Mark mark)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach ((YamlNode key, YamlNode value) in mapping.Children)
                {
                    string child = path.Length == 0 ? key.ToString() : $"{path}.{key}";
                    if (SameMark(key.Start, mark))
                        return (child, true);
                    (string? found, bool isKey) = Find(value, child, mark);
                    if (found is not null)
                        return (found, isKey);
                }
                break;
            case YamlSequenceNode sequence:
                if (SameMark(sequence.Start, mark))
                    return (path, false);
                for (int i = 0; i < sequence.Children.Count; i++)
                {
                    (string? found, bool isKey) = Find(sequence.Children[i], $"{path}.{i}", mark);
                    if (found is not null)
                        return (found, isKey);
                }
                break;
            default:
                if (SameMark(node.Start, mark))
                    return (path, false);
                break;
        }
        return (null, false);
    }

    private static bool SameMark(Mark a, Mark b) => a.Line == b.Line && a.Column == b.Column;
}
