using System.Globalization;
using System.Text;

namespace Host.Tests;

/// <summary>
/// The ONE place that spells the command lines the host tests run over SSH. They are the
/// strings docs/host.md specifies and Roster/HostCommands.cs builds for the Pulumi Commands
/// (same order, same flags); swap this class for HostCommands once the two are wired.
/// Every argument goes through <see cref="Quote"/>, which leaves a valid roster value
/// unchanged, so hostile values reach the host script as one argument each.
/// </summary>
public static class HostCli
{
    public const string InstallDir = "/usr/local/lib/workstation";
    public const string Cli = InstallDir + "/bin/workstation";

    /// <summary>Unpacks a base64 tar.gz of host/ from stdin and runs its installer.</summary>
    public const string Install =
        "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && base64 -d | tar -xzf - -C \"$d\" && \"$d/host/install.sh\"";

    public static string Site(
        string repoUrl, string oidcIssuer, string oidcClientId, string clusterName,
        string clusterServer, string vaultAddr, string t3Command, string? snapshotUrl = null,
        string? edgeUser = null, IReadOnlyList<string>? privilegedGroups = null)
    {
        var s = new StringBuilder($"{Cli} site apply --repo-url {Quote(repoUrl)} --oidc-issuer {Quote(oidcIssuer)} " +
            $"--oidc-client-id {Quote(oidcClientId)} --cluster-name {Quote(clusterName)} " +
            $"--cluster-server {Quote(clusterServer)} --vault-addr {Quote(vaultAddr)} --t3-command {Quote(t3Command)}");
        if (snapshotUrl is not null) s.Append(" --snapshot-url ").Append(Quote(snapshotUrl));
        if (edgeUser is not null) s.Append(" --edge-user ").Append(Quote(edgeUser));
        if (privilegedGroups is { Count: > 0 }) s.Append(" --privileged-groups ").Append(Quote(string.Join(',', privilegedGroups)));
        return s.ToString();
    }

    public static string Apply(
        string user, string tier, int t3Port, int playwrightPort, int? uid = null,
        IReadOnlyList<string>? groups = null, bool adopt = false, bool tokenStdin = false,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false) =>
        UserCommand("apply", user, tier, Num(t3Port), Num(playwrightPort), uid is { } u ? Num(u) : null, groups, adopt, tokenStdin, revokeGroups, privateHome);

    public static string Resume(
        string user, string tier, int t3Port, int playwrightPort, int? uid = null,
        IReadOnlyList<string>? groups = null, bool adopt = false, bool tokenStdin = false) =>
        UserCommand("resume", user, tier, Num(t3Port), Num(playwrightPort), uid is { } u ? Num(u) : null, groups, adopt, tokenStdin);

    /// <summary>A user command with raw (possibly hostile) argument values.</summary>
    public static string UserCommand(
        string verb, string user, string tier, string t3Port, string playwrightPort, string? uid,
        IReadOnlyList<string>? groups, bool adopt, bool tokenStdin,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false)
    {
        var sb = new StringBuilder($"{Cli} user {verb} {Quote(user)} --tier {Quote(tier)} --t3-port {Quote(t3Port)} --playwright-port {Quote(playwrightPort)}");
        if (uid is not null) sb.Append(" --uid ").Append(Quote(uid));
        if (groups is { Count: > 0 }) sb.Append(" --groups ").Append(Quote(string.Join(',', groups)));
        if (adopt) sb.Append(" --adopt");
        if (revokeGroups is { Count: > 0 }) sb.Append(" --revoke-groups ").Append(Quote(string.Join(',', revokeGroups)));
        if (privateHome) sb.Append(" --private-home");
        if (tokenStdin) sb.Append(" --token-stdin");
        return sb.ToString();
    }

    public static string Suspend(string user) => $"{Cli} user suspend {Quote(user)}";

    public static string Status(string user) => $"{Cli} user status {Quote(user)} --json";

    public static string FirewallApply() => $"{Cli} firewall apply";

    public static string FirewallCheck(string user) => $"{Cli} firewall check {Quote(user)}";

    /// <summary>The maps from the full roster; entries sorted by OS user like HostCommands.Maps.</summary>
    public static string Maps(IEnumerable<(string OsUser, string AuthentikUser, int T3Port)> users) =>
        MapsRaw(users.OrderBy(u => u.OsUser, StringComparer.Ordinal)
            .Select(u => $"{u.OsUser}:{u.AuthentikUser}:{Num(u.T3Port)}"));

    public static string MapsRaw(IEnumerable<string> entries)
    {
        var sb = new StringBuilder($"{Cli} maps apply");
        foreach (var e in entries) sb.Append(' ').Append(Quote(e));
        return sb.ToString();
    }

    public static string BaseApply() => $"{Cli} base apply";

    /// <summary>POSIX single-quoting, identical to HostCommands.Quote: safe values stay bare.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "@%+=:,./_-".Contains(c))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
