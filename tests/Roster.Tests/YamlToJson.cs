using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Workstation.Roster.Tests;

/// <summary>
/// Reads YAML the way an editor's YAML language server does before applying roster.schema.json:
/// YAML 1.2 core schema, so plain 3774 is a number, plain true a boolean, plain ~ (or nothing) null,
/// and anything quoted a string.
/// </summary>
internal static partial class YamlToJson
{
    /// <summary>The JSON of the single document, or null for an empty stream.</summary>
    public static JsonNode? Convert(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : Node(stream.Documents[0].RootNode);
    }

    private static JsonNode? Node(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", Node(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Node)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new NotSupportedException(node.GetType().Name),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain) return JsonValue.Create(value);
        if (CoreSchema.IsNull(value)) return null;
        if (CoreSchema.Bool(value) is { } b) return JsonValue.Create(b);
        return value switch
        {
            _ when CoreSchema.Int().IsMatch(value) => decimal.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var d)
                ? JsonValue.Create(d) : JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture)),
            _ when value.StartsWith("0x", StringComparison.Ordinal) && Hex().IsMatch(value) => JsonValue.Create(System.Convert.ToInt64(value[2..], 16)),
            _ when value.StartsWith("0o", StringComparison.Ordinal) && Octal().IsMatch(value) => JsonValue.Create(System.Convert.ToInt64(value[2..], 8)),
            _ when CoreSchema.Float().IsMatch(value) => JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture)),
            // .inf and .nan have no JSON form: they stay strings (and fail every numeric field anyway).
            _ => JsonValue.Create(value),
        };
    }

    [GeneratedRegex(@"^0x[0-9a-fA-F]{1,15}\z")]
    private static partial Regex Hex();

    [GeneratedRegex(@"^0o[0-7]{1,20}\z")]
    private static partial Regex Octal();
}

/// <summary>
/// The YAML 1.2 core schema's plain scalars, which both readers modelled here type the same way
/// (an editor's language server in <see cref="YamlToJson"/>, Go's YAML decoder in <see cref="PulumiConfigModel"/>).
/// </summary>
internal static partial class CoreSchema
{
    /// <summary>The words for null (and the empty plain scalar).</summary>
    public static bool IsNull(string plain) => plain is "" or "~" or "null" or "Null" or "NULL";

    /// <summary>The boolean a plain scalar spells, or null for any other word.</summary>
    public static bool? Bool(string plain) => plain switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ => null,
    };

    /// <summary>A decimal int: an optional sign and digits.</summary>
    [GeneratedRegex(@"^[-+]?[0-9]+\z")]
    public static partial Regex Int();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\z")]
    public static partial Regex Float();
}
