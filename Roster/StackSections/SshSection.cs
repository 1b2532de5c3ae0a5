using System.Globalization;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>How the program reaches the devvm, less the private key (a secret: the program takes it as one).</summary>
public sealed record SshSettings(string Host, int Port, string User, string HostKey)
{
    /// <summary>
    /// The fleet (issue 27): `hosts:`, or the single-host keys as one host named
    /// <see cref="FleetHosts.DefaultName"/>. One private key reaches them all.
    /// </summary>
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];

    /// <summary>True when the stack uses `hosts:` rather than the single-host keys.</summary>
    public bool FromHostsList { get; init; }
}

/// <summary>The SSH section: the devvm's address, port, login and pinned host key; the private key must be set.</summary>
public static partial class SshSection
{
    // The keys, a line a concern: the one devvm's address and login, the private key every host shares, the fleet.
    public const string SshHost = "sshHost", SshPort = "sshPort", SshUser = "sshUser", SshHostKey = "sshHostKey";
    public const string SshPrivateKey = "sshPrivateKey";
    public const string Hosts = FleetHosts.Key;

    public static readonly IReadOnlyList<string> Keys = [SshHost, SshPort, SshUser, SshHostKey, SshPrivateKey, Hosts];

    public const int DefaultPort = 22;
    public const string DefaultUser = "root";
    public const int MinPort = 1, MaxPort = 65535;

    public static Section<SshSettings> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
        var hosts = FleetHosts.FromJson(c.Get(Hosts), c.Add);
        if (hosts is not null) return Fleet(c, hosts);
        var host = c.Required(SshHost, "the devvm's SSH address");
        if (host.Any(char.IsWhiteSpace)) c.Add(SshHost, $"'{host}' contains whitespace");

        var port = DefaultPort;
        if (c.Get(SshPort) is { } portText &&
            !(int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= MinPort and <= MaxPort))
            c.Add(SshPort, $"'{portText}' is not a TCP port ({MinPort}-{MaxPort})");

        var user = c.Get(SshUser) ?? DefaultUser;
        if (!Rules.AccountName().IsMatch(user))
            c.Add(SshUser, $"'{user}' is not a valid user name");

        // Without a pinned key the Command provider accepts whatever key the host presents.
        var hostKey = c.Get(SshHostKey)?.Trim();
        if (string.IsNullOrEmpty(hostKey))
            c.Add(SshHostKey,
                "required: the devvm's pinned SSH host public key, e.g. 'ssh-ed25519 AAAA...' (without it any host key is accepted); " +
                $"set it with `pulumi config set {SshHostKey} \"$(ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-)\"`");
        else if (!HostKeyPattern().IsMatch(hostKey))
            c.Add(SshHostKey, "must be one public key line 'TYPE BASE64' (as in known_hosts without the host name), e.g. 'ssh-ed25519 AAAA...'");

        if (string.IsNullOrWhiteSpace(c.Get(SshPrivateKey)))
            c.Add(SshPrivateKey, $"required: the SSH private key, as a secret: `pulumi config set --secret {SshPrivateKey} < KEYFILE`");

        var single = new SshSettings(host, port, user, hostKey ?? "");
        return c.Result(single with
        {
            Hosts = [new HostEntry(FleetHosts.DefaultName, single.Host, single.Port, single.User, single.HostKey, null, null, false)],
        });
    }

    /// <summary>
    /// `hosts:` set: the single-host keys must not be (their defaults aside), or which one is the
    /// devvm would be a guess. The first host fills the single-host fields, for callers that show one.
    /// </summary>
    private static Section<SshSettings> Fleet(SectionConfig c, IReadOnlyList<HostEntry> hosts)
    {
        var both = new[] { SshHost, SshHostKey }.Where(k => !string.IsNullOrEmpty(c.Get(k)))
            .Concat(new[] { (SshPort, DefaultPort.ToString(CultureInfo.InvariantCulture)), (SshUser, DefaultUser) }
                .Where(k => c.Get(k.Item1) is { Length: > 0 } v && v != k.Item2).Select(k => k.Item1));
        foreach (var key in both)
            c.Add(key, $"is a single-host key and {SectionConfig.Full(Hosts)} is set: give each host its address, port, user and hostKey in hosts: and unset {key} " +
                $"(`pulumi config rm {key}`); a one-host stack uses one or the other");
        if (string.IsNullOrWhiteSpace(c.Get(SshPrivateKey)))
            c.Add(SshPrivateKey, $"required: the SSH private key, as a secret: `pulumi config set --secret {SshPrivateKey} < KEYFILE`");
        var first = hosts[0];
        return c.Result(new SshSettings(first.Address, first.Port, first.User, first.HostKey) { Hosts = hosts, FromHostsList = true });
    }

    /// <summary>One public key line 'TYPE BASE64' as known_hosts holds it without the host name.</summary>
    public static bool IsHostKey(string text) => HostKeyPattern().IsMatch(text);

    [GeneratedRegex(@"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$")]
    private static partial Regex HostKeyPattern();
}
