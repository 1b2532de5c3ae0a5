using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>
/// One devvm of the fleet as the stack's `hosts:` names it (issue 27). HostMemory and SwapSize are
/// the entry's own (null: the stack's hostMemory and swapSize, so a fleet of alike devvms says them once).
/// </summary>
/// <param name="Cordon">No new people: `roster place` skips it; the people on it stay.</param>
public sealed record HostEntry(string Name, string Address, int Port, string User, string HostKey, string? HostMemory, string? SwapSize, bool Cordon)
{
    /// <summary>The host's capacity: its own memory and swap over the stack's, the stack's reserve and warning share.</summary>
    public (HostCapacity? Capacity, IReadOnlyList<(string Key, string Message)> Errors) Capacity(Func<string, string?> stack) =>
        HostCapacity.FromConfig(k => k switch
        {
            HostCapacity.Keys.HostMemory => HostMemory ?? stack(k),
            HostCapacity.Keys.SwapSize => SwapSize ?? stack(k),
            _ => stack(k),
        });
}

/// <summary>
/// The stack config `hosts:`: a list of devvms, each {name, address, port, user, hostKey,
/// hostMemory, swapSize, cordon}. Without it the single-host keys (sshHost, sshPort, sshUser,
/// sshHostKey) are a fleet of one named <see cref="DefaultName"/>; a stack that sets both is refused.
/// </summary>
public static partial class FleetHosts
{
    /// <summary>The one host of a stack that uses the single-host keys; a host of this name keeps the names (URNs) a one-host stack always had.</summary>
    public const string DefaultName = "devvm";

    public const string Key = "hosts";

    public static readonly string[] Fields = ["name", "address", "port", "user", "hostKey", "hostMemory", "swapSize", "cordon"];

    public const string NameForm = "a host name: lower-case letters, digits and '-', a letter first, at most 32 characters (e.g. devvm2)";

    /// <summary>A host name: it goes into resource names, the roster's `host:` and the routing map.</summary>
    [GeneratedRegex(@"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?\z")]
    public static partial Regex Name();

    /// <summary>
    /// Reads `hosts:` as the program gets it from Pulumi (a list as JSON): the entries, or null when
    /// unset or empty (the single-host keys then apply). Errors name `hosts[i].FIELD`.
    /// </summary>
    public static IReadOnlyList<HostEntry>? FromJson(string? json, Action<string, string> error)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        YNode? node;
        try
        {
            using var doc = JsonDocument.Parse(json);
            node = ToNode(doc.RootElement);
        }
        catch (JsonException)
        {
            error(Key, "is not a list of hosts (set it in the stack file as a YAML list of {name, address, port, user, hostKey, ...})");
            return null;
        }
        return Parse(node, (_, field, message) => error(field, message));
    }

    /// <summary>The same entries from a stack file's YAML (`roster validate --stack`): errors carry the line.</summary>
    internal static IReadOnlyList<HostEntry>? Parse(YNode node, Action<Loc, string, string> error)
    {
        if (node is YScalar { Value: "" or "[]" }) return null;
        if (node is not YSeq seq)
        {
            error(node.At, Key, "must be a list of hosts, each {name, address, port, user, hostKey, hostMemory, swapSize, cordon}");
            return null;
        }
        if (seq.Items.Count == 0) return null;
        var hosts = new List<HostEntry>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var path = $"{Key}[{i}]";
            if (seq.Items[i] is not YMap map)
            {
                error(seq.Items[i].At, path, "must be a mapping {name, address, port, user, hostKey, ...}");
                continue;
            }
            var f = new Dictionary<string, YNode>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Entries)
            {
                if (Fields.Contains(k.Value)) f[k.Value] = v;
                else error(k.At, $"{path}.{k.Value}", $"unknown field (allowed: {string.Join(", ", Fields)})");
            }
            string? Text(string field)
            {
                if (!f.TryGetValue(field, out var n)) return null;
                if (n is YScalar s && !s.Value.Any(char.IsControl)) return s.Value.Trim();
                error(n.At, $"{path}.{field}", "must be one line of text");
                return null;
            }
            void Bad(string field, string message) => error(f.TryGetValue(field, out var n) ? n.At : map.At, $"{path}.{field}", message);

            var name = Text("name");
            if (string.IsNullOrEmpty(name)) Bad("name", "required: " + NameForm);
            else if (!Name().IsMatch(name)) Bad("name", StackValues.NotA(name, NameForm));
            else if (names.TryGetValue(name, out var first)) Bad("name", $"host '{name}' is already named by {first}");
            else names[name] = path;

            var address = Text("address");
            if (string.IsNullOrEmpty(address)) Bad("address", "required: the devvm's SSH address (host name or IP)");
            else if (address.Any(char.IsWhiteSpace)) Bad("address", $"'{StackValues.Printable(address)}' contains whitespace");

            var port = SshSection.DefaultPort;
            if (Text("port") is { } portText &&
                !(int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= SshSection.MinPort and <= SshSection.MaxPort))
                Bad("port", $"'{StackValues.Printable(portText)}' is not a TCP port ({SshSection.MinPort}-{SshSection.MaxPort})");

            var user = Text("user") ?? SshSection.DefaultUser;
            if (!Rules.AccountName().IsMatch(user)) Bad("user", $"'{StackValues.Printable(user)}' is not a valid user name");

            var hostKey = Text("hostKey");
            if (string.IsNullOrEmpty(hostKey))
                Bad("hostKey", "required: the devvm's pinned SSH host public key, e.g. 'ssh-ed25519 AAAA...' (without it any host key is accepted)");
            else if (!SshSection.IsHostKey(hostKey))
                Bad("hostKey", "must be one public key line 'TYPE BASE64' (as in known_hosts without the host name), e.g. 'ssh-ed25519 AAAA...'");

            var memory = Text("hostMemory") is { Length: > 0 } m ? m : null;
            if (memory is not null && Sizes.Parse(memory) is null) Bad("hostMemory", $"'{StackValues.Printable(memory)}' is not a size: {HostCapacity.SizeHelp}");
            var swap = Text("swapSize") is { Length: > 0 } sw ? sw : null;
            if (swap is not null && !Rules.SwapSize().IsMatch(swap)) Bad("swapSize", $"'{StackValues.Printable(swap)}' is not a swap size like 8G or 512M");

            var cordon = false;
            if (Text("cordon") is { } c)
            {
                if (c is "true" or "false") cordon = c == "true";
                else Bad("cordon", $"must be true or false, got '{StackValues.Printable(c)}'");
            }
            hosts.Add(new HostEntry(name ?? "", address ?? "", port, user, hostKey ?? "", memory, swap, cordon));
        }
        return hosts;
    }

    /// <summary>Pulumi hands a list or object value to the program as JSON: the same tree, without lines.</summary>
    private static YNode ToNode(JsonElement e)
    {
        var at = new Loc(0, 0);
        return e.ValueKind switch
        {
            JsonValueKind.Array => new YSeq(at, e.EnumerateArray().Select(ToNode).ToList()),
            JsonValueKind.Object => new YMap(at, e.EnumerateObject().Select(p => new KeyValuePair<YScalar, YNode>(new YScalar(at, p.Name, false), ToNode(p.Value))).ToList(),
                new HashSet<string>()),
            JsonValueKind.String => new YScalar(at, e.GetString() ?? "", false),
            JsonValueKind.Null => new YScalar(at, "", true),
            _ => new YScalar(at, e.GetRawText(), true),
        };
    }
}
