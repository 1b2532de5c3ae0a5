namespace Workstation.Roster;

/// <summary>
/// The plain values of a Pulumi stack file (Pulumi.STACK.yaml), for the checks the roster CLI
/// runs against the stack's config without Pulumi: `config:` entries with a scalar value.
/// Secrets (`secure:` mappings) and lists are skipped.
/// </summary>
public static class StackFile
{
    public const string Project = "workstation";

    public static (IReadOnlyDictionary<string, string>? Config, string Why) Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read the stack file {path}: {e.Message}");
        }
        var problems = new List<string>();
        var root = YamlTree.Parse(text, (at, field, message) => problems.Add($"{path}:{at.Line}:{at.Column}: {field}: {message}"));
        if (root is null || problems.Count > 0) return (null, problems.FirstOrDefault() ?? $"{path}: not YAML");
        if (root is not YMap map) return (null, $"{path}: a stack file is a mapping with `config:`");
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        var section = map.Entries.FirstOrDefault(e => e.Key.Value == "config").Value;
        if (section is null) return (config, "");
        if (section is not YMap entries) return (null, $"{path}:{section.At.Line}: config: must be a mapping");
        foreach (var (key, value) in entries.Entries)
        {
            if (value is YScalar s) config[key.Value] = s.Value;
        }
        return (config, "");
    }
}
