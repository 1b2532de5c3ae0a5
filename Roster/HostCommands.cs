using System.Globalization;
using System.Text;

namespace Workstation.Roster;

/// <summary>Machine-wide values the per-user host steps read from /etc/workstation/site.env.</summary>
/// <param name="EdgeUser">The account the edge/dispatcher runs as: besides the owner, the only one that may connect to t3 ports; null: none.</param>
public sealed record SiteSettings(
    string RepoUrl,
    string OidcIssuer,
    string OidcClientId,
    string ClusterName,
    string ClusterServer,
    string VaultAddr,
    string T3Command,
    string? EdgeUser = null);

/// <summary>
/// The exact one-line commands the Pulumi program runs over SSH. The host tests run these
/// same strings, so the chain from roster to host is tested end to end.
/// </summary>
public static class HostCommands
{
    public const string InstallDir = "/usr/local/lib/workstation";
    public const string Cli = InstallDir + "/bin/workstation";

    /// <summary>Unpacks a base64 tar.gz of host/ from stdin and runs its installer; the temp dir never outlives it.</summary>
    public const string Install =
        "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && base64 -d | tar -xzf - -C \"$d\" && \"$d/host/install.sh\"";

    /// <summary>
    /// The account step (create and update): the account, groups, lock state, home mode, what the
    /// tier grants on the host, the shell files. Everything here follows the tier, nothing the ports.
    /// </summary>
    public static string Account(DerivedUser u)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{Cli} user account apply {u.OsUser} --tier {u.Tier.ToYaml()}");
        if (u.Uid is { } uid) sb.Append(CultureInfo.InvariantCulture, $" --uid {uid}");
        if (u.TierGroups.Count > 0) sb.Append(" --groups ").Append(string.Join(',', u.TierGroups));
        if (u.Adopt) sb.Append(" --adopt");
        if (u.RevokeGroups.Count > 0) sb.Append(" --revoke-groups ").Append(string.Join(',', u.RevokeGroups));
        if (u.PrivateHome) sb.Append(" --private-home");
        return sb.ToString();
    }

    /// <summary>Offboard: the reversible cut, the account step's delete.</summary>
    public static string Suspend(DerivedUser u) => $"{Cli} user suspend {u.OsUser}";

    /// <summary>The ~/code step (create; its delete does nothing: homes are kept). The repository is a site value.</summary>
    public static string Code(DerivedUser u) => $"{Cli} user code apply {u.OsUser}";

    /// <summary>The services step (create and update): ports, the MCP entry, the firewall, the units.</summary>
    public static string Services(DerivedUser u, bool tokenOnStdin) =>
        string.Create(CultureInfo.InvariantCulture, $"{Cli} user services apply {u.OsUser} --t3-port {u.Ports.T3} --playwright-port {u.Ports.Playwright}") +
        (tokenOnStdin ? " --token-stdin" : "");

    /// <summary>The services step's delete: units off, ports out of the firewall.</summary>
    public static string StopServices(DerivedUser u) => $"{Cli} user services stop {u.OsUser}";

    public static string Maps(IEnumerable<DerivedUser> users)
    {
        var sb = new StringBuilder($"{Cli} maps apply");
        foreach (var u in users.OrderBy(u => u.OsUser, StringComparer.Ordinal))
            sb.Append(CultureInfo.InvariantCulture, $" {u.OsUser}:{u.AuthentikUser}:{u.Ports.T3}");
        return sb.ToString();
    }

    /// <summary>The site values, plus the roster's extra privileged groups (the built-in ones are in host/lib/rules.sh).</summary>
    public static string Site(SiteSettings s, RosterSettings roster)
    {
        var sb = new StringBuilder($"{Cli} site apply --repo-url {Quote(s.RepoUrl)} --oidc-issuer {Quote(s.OidcIssuer)} " +
            $"--oidc-client-id {Quote(s.OidcClientId)} --cluster-name {Quote(s.ClusterName)} " +
            $"--cluster-server {Quote(s.ClusterServer)} --vault-addr {Quote(s.VaultAddr)} --t3-command {Quote(s.T3Command)}");
        if (s.EdgeUser is { } edge) sb.Append(" --edge-user ").Append(Quote(edge));
        if (roster.PrivilegedGroups.Count > 0)
            sb.Append(" --privileged-groups ").Append(string.Join(',', roster.PrivilegedGroups.Order(StringComparer.Ordinal)));
        return sb.ToString();
    }

    /// <summary>POSIX single-quoting; values are config, not roster names, so they get quoted.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "@%+=:,./_-".Contains(c))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
