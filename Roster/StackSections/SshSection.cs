using System.Globalization;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>How the program reaches the devvm, less the private key (a secret: the program takes it as one).</summary>
public sealed record SshSettings(string Host, int Port, string User, string HostKey);

/// <summary>The SSH section: the devvm's address, port, login and pinned host key; the private key must be set.</summary>
public static partial class SshSection
{
    public const string SshHost = "sshHost";
    public const string SshPort = "sshPort";
    public const string SshUser = "sshUser";
    public const string SshHostKey = "sshHostKey";
    public const string SshPrivateKey = "sshPrivateKey";

    public static readonly IReadOnlyList<string> Keys = [SshHost, SshPort, SshUser, SshHostKey, SshPrivateKey];

    public const int DefaultPort = 22;
    public const string DefaultUser = "root";
    public const int MinPort = 1, MaxPort = 65535;

    public static Section<SshSettings> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
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

        return c.Result(new SshSettings(host, port, user, hostKey ?? ""));
    }

    [GeneratedRegex(@"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$")]
    private static partial Regex HostKeyPattern();
}
