using System.Reflection;
using YamlDotNet.Serialization.NamingConventions;

namespace FlatLora.Spec;

/// <summary>snake_case names of spec fields, shared by the loader, overrides and error messages.</summary>
public static class SpecNaming
{
    public static string FieldName(PropertyInfo property) => UnderscoredNamingConvention.Instance.Apply(property.Name);

    /// <summary>The settable spec fields of a record type, by their snake_case name.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Fields(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is not null && p.GetIndexParameters().Length == 0)
        .ToDictionary(FieldName, p => p);

    /// <summary>True for nested spec records (objects with fields of their own), as opposed to scalar values.</summary>
    public static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && !type.IsArray && type.Namespace == typeof(TrainSpec).Namespace;
}
