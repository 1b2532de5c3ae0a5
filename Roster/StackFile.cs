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
        var (config, _, why) = ReadTree(path);
        return (config, why);
    }

    /// <summary>
    /// The stack file's fleet (issue 27): `workstation:hosts` read with its lines, so an error names
    /// the file, line and field; else the single-host keys as one host named devvm (null without sshHost).
    /// </summary>
    public static (IReadOnlyList<HostEntry>? Hosts, IReadOnlyList<string> Errors) ReadHosts(string path)
    {
        var (config, hostsNode, why) = ReadTree(path);
        if (config is null) return (null, [why]);
        var file = Path.GetFileName(path);
        var errors = new List<string>();
        if (hostsNode is not null)
        {
            var hosts = FleetHosts.Parse(hostsNode, (at, field, message) => errors.Add($"{file}:{at.Line}:{at.Column}: {Project}:{field}: {message}"));
            if (hosts is not null)
            {
                foreach (var key in new[] { SshSection.SshHost, SshSection.SshHostKey }.Where(k => config.ContainsKey($"{Project}:{k}")))
                    errors.Add($"{file}: {Project}:{key}: is a single-host key and {Project}:{FleetHosts.Key} is set: a stack uses one or the other");
                return (errors.Count == 0 ? hosts : null, errors);
            }
            if (errors.Count > 0) return (null, errors);
        }
        if (config.GetValueOrDefault($"{Project}:{SshSection.SshHost}") is not { Length: > 0 } host) return (null, errors);
        var port = int.TryParse(config.GetValueOrDefault($"{Project}:{SshSection.SshPort}"), out var p) ? p : SshSection.DefaultPort;
        return ([new HostEntry(FleetHosts.DefaultName, host, port, config.GetValueOrDefault($"{Project}:{SshSection.SshUser}") ?? SshSection.DefaultUser,
            config.GetValueOrDefault($"{Project}:{SshSection.SshHostKey}") ?? "", null, null, false)], errors);
    }

    private static (IReadOnlyDictionary<string, string>? Config, YNode? Hosts, string Why) ReadTree(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null, $"cannot read the stack file {path}: {e.Message}");
        }
        var problems = new List<string>();
        var root = YamlTree.Parse(text, (at, field, message) => problems.Add($"{path}:{at.Line}:{at.Column}: {field}: {message}"));
        if (root is null || problems.Count > 0) return (null, null, problems.FirstOrDefault() ?? $"{path}: not YAML");
        if (root is not YMap map) return (null, null, $"{path}: a stack file is a mapping with `config:`");
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        var section = map.Entries.FirstOrDefault(e => e.Key.Value == "config").Value;
        if (section is null) return (config, null, "");
        if (section is not YMap entries) return (null, null, $"{path}:{section.At.Line}: config: must be a mapping");
        YNode? hosts = null;
        foreach (var (key, value) in entries.Entries)
        {
            if (value is YScalar s) config[key.Value] = s.Value;
            if (key.Value == $"{Project}:{FleetHosts.Key}") hosts = value;
        }
        return (config, hosts, "");
    }
}
