using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Workstation.Roster.Tests;

/// <summary>
/// A small, faithful model of how the Pulumi CLI reads a project's config before `preview` or
/// `up`, written from its source (pulumi/pulumi, read at 1b5949891b3c, CLI v3.259.0):
/// <list type="bullet">
/// <item>sdk/go/common/workspace/project.go: <c>Project.Validate</c> (an array declares its
/// items; a default must be of the declared type) and <c>ValidateConfigValue</c> (the types
/// string, integer, boolean, object, array);</item>
/// <item>pkg/workspace/config.go: <c>mergeConfig</c> (a project-namespaced key with neither
/// default nor value that the stack does not set is missing; all missing keys stop the run in one
/// error; otherwise the default is merged in) and <c>validateStackConfigValue</c> (a secret key's
/// value must be secure; the value must have the declared type);</item>
/// <item>sdk/go/common/resource/config/object.go: a stack file's scalar reaches validation as its
/// text, a map or list as JSON (an object value), a <c>secure:</c> map as a secret.</item>
/// </list>
/// </summary>
internal static class PulumiConfigModel
{
    /// <summary>A key as Pulumi.yaml declares it (ProjectConfigType).</summary>
    public sealed record Declared(string Key, string? Type, Items? ItemsType, object? Default, object? Value, bool Secret);

    /// <summary>ProjectConfigItemsType: an array's item type, itself possibly an array.</summary>
    public sealed record Items(string Type, Items? Of);

    /// <summary>A stack config value (config.Value): its text, and whether it is secure or an object (JSON).</summary>
    public sealed record StackValue(string Text, bool Secure, bool Object);

    public sealed record Project(string Name, IReadOnlyDictionary<string, Declared> Config);

    /// <summary>Reads Pulumi.yaml and applies Project.Validate; the errors are Pulumi's messages.</summary>
    public static (Project Project, IReadOnlyList<string> Errors) LoadProject(string yaml)
    {
        var root = Root(yaml);
        var name = ((YamlScalarNode)root.Children[new YamlScalarNode("name")]).Value!;
        var config = new Dictionary<string, Declared>(StringComparer.Ordinal);
        var errors = new List<string>();
        if (root.Children.TryGetValue(new YamlScalarNode("config"), out var block) && block is YamlMappingNode entries)
        {
            foreach (var (k, v) in entries.Children)
            {
                var key = ((YamlScalarNode)k).Value!;
                // Shorthand (`key: value`) is a value (RewriteShorthandConfigValues).
                if (v is not YamlMappingNode m)
                {
                    config[key] = new Declared(key, null, null, null, Decode(v), false);
                    continue;
                }
                var type = Text(m, "type");
                var items = m.Children.TryGetValue(new YamlScalarNode("items"), out var i) ? ItemsOf((YamlMappingNode)i) : null;
                var def = m.Children.TryGetValue(new YamlScalarNode("default"), out var d) ? Decode(d) : null;
                var value = m.Children.TryGetValue(new YamlScalarNode("value"), out var val) ? Decode(val) : null;
                config[key] = new Declared(key, type, items, def, value, Text(m, "secret") == "true");
            }
        }
        foreach (var c in config.Values.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (c.Default is not null && c.Value is not null)
                errors.Add($"project config '{c.Key}' cannot have both a 'default' and 'value' attribute");
            if (c.Type is null) continue;
            if (c.Type is not ("string" or "integer" or "boolean" or "array" or "object"))
                errors.Add($"could not validate: config '{c.Key}' has type '{c.Type}', not one of project.json's SimpleConfigType");
            if (c.Type == "array" && c.ItemsType is null)
                errors.Add($"The configuration key '{c.Key}' declares an array but does not specify the underlying type via the 'items' attribute");
            if (c.Default is not null && !ValidateConfigValue(c.Type, c.ItemsType, c.Default))
                errors.Add($"The default value specified for configuration key '{c.Key}' is not of the expected type '{FullTypeName(c.Type, c.ItemsType)}'");
        }
        return (new Project(name, config), errors);
    }

    /// <summary>Reads a stack file's `config:` block: full key → value.</summary>
    public static Dictionary<string, StackValue> LoadStack(string yaml)
    {
        var values = new Dictionary<string, StackValue>(StringComparer.Ordinal);
        var root = Root(yaml);
        if (!root.Children.TryGetValue(new YamlScalarNode("config"), out var block) || block is not YamlMappingNode entries) return values;
        foreach (var (k, v) in entries.Children)
        {
            if (v is YamlMappingNode m && m.Children.Count == 1 && Text(m, "secure") is { } cipher)
                values[((YamlScalarNode)k).Value!] = new StackValue(cipher, true, false);
            else
                values[((YamlScalarNode)k).Value!] = FromRaw(Decode(v));
        }
        return values;
    }

    /// <summary>createConfigValue: a string, int or bool as its text; anything else as a JSON object value.</summary>
    public static StackValue FromRaw(object? raw) => raw switch
    {
        string s => new StackValue(s, false, false),
        long n => new StackValue(n.ToString(CultureInfo.InvariantCulture), false, false),
        bool b => new StackValue(b ? "true" : "false", false, false),
        _ => new StackValue(ToJson(raw)?.ToJsonString() ?? "null", false, true),
    };

    /// <summary>
    /// mergeConfig with validate=true, as `preview` and `up` run it: the missing keys (sorted, as
    /// Pulumi reports them) and, when none is missing, the first type or secretness error.
    /// </summary>
    public static (IReadOnlyList<string> Missing, string? Error) Merge(string stackName, Project project, IReadOnlyDictionary<string, StackValue> stack)
    {
        var merged = new Dictionary<string, StackValue>(stack, StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var key in project.Config.Keys.Order(StringComparer.Ordinal))
        {
            var c = project.Config[key];
            var full = FullKey(project.Name, key);
            var inProject = full.StartsWith(project.Name + ":", StringComparison.Ordinal);
            var found = merged.ContainsKey(full);
            if (!found && c.Value is null && c.Default is null && inProject)
            {
                missing.Add(key);
                continue;
            }
            if (!found) merged[full] = FromRaw(c.Default ?? c.Value);
        }
        if (missing.Count > 0) return (missing.Order(StringComparer.Ordinal).ToList(), MissingError(stackName, missing));
        return ([], ValidateValues(stackName, project, merged));
    }

    /// <summary>validateStackConfigValues over the keys the stack does hold (missing keys left aside).</summary>
    public static string? ValidateValues(string stackName, Project project, IReadOnlyDictionary<string, StackValue> values)
    {
        foreach (var key in project.Config.Keys.Order(StringComparer.Ordinal))
        {
            var c = project.Config[key];
            if (c.Type is null || !values.TryGetValue(FullKey(project.Name, key), out var v)) continue;
            if (c.Secret && !v.Secure) return $"Stack '{stackName}' with configuration key '{key}' must be encrypted as it's secret";
            // A secure value decrypts to its text; the model can't decrypt, so it types a secret as the string it holds.
            object? content = v.Object ? FromJson(JsonNode.Parse(v.Text)) : v.Text;
            if (!ValidateConfigValue(c.Type, c.ItemsType, content))
                return $"Stack '{stackName}' with configuration key '{key}' must be of type '{FullTypeName(c.Type, c.ItemsType)}'";
        }
        return null;
    }

    /// <summary>missingStackConfigurationKeysError with formatMissingKeys.</summary>
    public static string MissingError(string stackName, IReadOnlyList<string> keys)
    {
        var sorted = keys.Order(StringComparer.Ordinal).ToList();
        var list = sorted.Count == 1 ? $"'{sorted[0]}'"
            : string.Join(", ", sorted.SkipLast(2).Select(k => $"'{k}'").Append($"'{sorted[^2]}' and '{sorted[^1]}'"));
        return $"Stack '{stackName}' is missing configuration {(sorted.Count > 1 ? "values" : "value")} {list}";
    }

    /// <summary>ValidateConfigValue, type by type.</summary>
    public static bool ValidateConfigValue(string type, Items? items, object? value) => type switch
    {
        "string" => value is string,
        // YAML numbers, whole floats, and strings strconv.Atoi accepts.
        "integer" => value is long || (value is double d && d == Math.Truncate(d)) || (value is string s && Atoi(s)),
        "boolean" => value is bool || value is "true" or "false",
        "object" => value is Dictionary<string, object?>,
        _ => value is List<object?> list && items is not null && list.All(x => ValidateConfigValue(items.Type, items.Of, x)),
    };

    // strconv.Atoi takes the core schema's decimal ints (a sign, digits) that fit 64 bits.
    private static bool Atoi(string s) => CoreSchema.Int().IsMatch(s) && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    private static string FullTypeName(string type, Items? items) => items is null ? type : $"array<{FullTypeName(items.Type, items.Of)}>";

    private static string FullKey(string project, string key) => key.Contains(':', StringComparison.Ordinal) ? key : $"{project}:{key}";

    private static Items ItemsOf(YamlMappingNode m) =>
        new(Text(m, "type") ?? "", m.Children.TryGetValue(new YamlScalarNode("items"), out var i) ? ItemsOf((YamlMappingNode)i) : null);

    private static YamlMappingNode Root(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string? Text(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    /// <summary>A YAML node as Go's YAML decoder types it (the core schema): null, bool, int, float or string; lists and maps.</summary>
    public static object? Decode(YamlNode node) => node switch
    {
        YamlSequenceNode seq => seq.Children.Select(Decode).ToList(),
        YamlMappingNode map => map.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => Decode(e.Value), StringComparer.Ordinal),
        YamlScalarNode s when s.Style != ScalarStyle.Plain => s.Value ?? "",
        YamlScalarNode s => Plain(s.Value ?? ""),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    private static object? Plain(string text) => text switch
    {
        _ when CoreSchema.IsNull(text) => null,
        _ when CoreSchema.Bool(text) is { } b => b,
        _ when CoreSchema.Int().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
        _ when CoreSchema.Float().IsMatch(text) => double.Parse(text, CultureInfo.InvariantCulture),
        _ => text,
    };

    private static JsonNode? ToJson(object? raw) => raw switch
    {
        null => null,
        string s => JsonValue.Create(s),
        long n => JsonValue.Create(n),
        double d => JsonValue.Create(d),
        bool b => JsonValue.Create(b),
        List<object?> list => new JsonArray(list.Select(ToJson).ToArray()),
        Dictionary<string, object?> map => new JsonObject(map.Select(e => KeyValuePair.Create(e.Key, ToJson(e.Value)))),
        _ => throw new InvalidOperationException($"unexpected value {raw}"),
    };

    /// <summary>json.Unmarshal into any: numbers are float64.</summary>
    private static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonArray a => a.Select(FromJson).ToList(),
        JsonObject o => o.ToDictionary(e => e.Key, e => FromJson(e.Value), StringComparer.Ordinal),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v => v.GetValue<double>(),
        _ => throw new InvalidOperationException($"unexpected JSON {node}"),
    };
}
