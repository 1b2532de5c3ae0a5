using Workstation.Roster;
using System.Globalization;
using System.Text;

namespace Host.Tests;

/// <summary>
/// Raw command lines for the hostile-argument tests only (SafetyTests): values the roster engine
/// would refuse, so HostCommands can't build them. Every other test builds its command lines
/// with HostCommands (through <see cref="TestUser"/> and <see cref="HostWorld"/>), the strings
/// the Pulumi program sends. Every argument goes through <see cref="Quote"/>, which leaves a
/// valid value unchanged, so a hostile value reaches the host script as one argument.
/// </summary>
public static class HostileCli
{
    private const string Cli = Workstation.Roster.HostCommands.Cli;

    public static string Site(
        string repoUrl, string oidcIssuer, string oidcClientId, string clusterName,
        string clusterServer, string vaultAddr, string t3Command, string admin = "wiz",
        string? edgeUser = null, IReadOnlyList<string>? privilegedGroups = null)
    {
        var s = new StringBuilder($"{Cli} site apply --repo-url {Quote(repoUrl)} --oidc-issuer {Quote(oidcIssuer)} " +
            $"--oidc-client-id {Quote(oidcClientId)} --cluster-name {Quote(clusterName)} " +
            $"--cluster-server {Quote(clusterServer)} --vault-addr {Quote(vaultAddr)} --t3-command {Quote(t3Command)} --admin {Quote(admin)}");
        if (edgeUser is not null) s.Append(" --edge-user ").Append(Quote(edgeUser));
        if (privilegedGroups is { Count: > 0 }) s.Append(" --privileged-groups ").Append(Quote(string.Join(',', privilegedGroups)));
        return s.ToString();
    }

    public static string Apply(
        string user, string tier, int t3Port, int playwrightPort, int? uid = null,
        IReadOnlyList<string>? groups = null, bool adopt = false,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false) =>
        UserCommand("apply", user, tier, Num(t3Port), Num(playwrightPort), uid is { } u ? Num(u) : null, groups, adopt, revokeGroups, privateHome);

    /// <summary>`user VERB` (apply: all options; account apply: the account's; services apply: the ports).</summary>
    public static string UserCommand(
        string verb, string user, string tier, string t3Port, string playwrightPort, string? uid,
        IReadOnlyList<string>? groups, bool adopt,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false)
    {
        var sb = new StringBuilder($"{Cli} user {verb} {Quote(user)}");
        if (verb != "services apply") sb.Append(" --tier ").Append(Quote(tier));
        if (verb != "account apply") sb.Append(" --t3-port ").Append(Quote(t3Port)).Append(" --playwright-port ").Append(Quote(playwrightPort));
        if (uid is not null) sb.Append(" --uid ").Append(Quote(uid));
        if (groups is { Count: > 0 }) sb.Append(" --groups ").Append(Quote(string.Join(',', groups)));
        if (adopt) sb.Append(" --adopt");
        if (revokeGroups is { Count: > 0 }) sb.Append(" --revoke-groups ").Append(Quote(string.Join(',', revokeGroups)));
        if (privateHome) sb.Append(" --private-home");
        return sb.ToString();
    }

    /// <summary>`user NOUN... USER` for the verbs that take only a user (suspend, status --json, code apply, services stop).</summary>
    public static string UserOnly(string verb, string user, string suffix = "") => $"{Cli} {verb} {Quote(user)}{suffix}";

    public static string MapsRaw(IEnumerable<string> entries)
    {
        var sb = new StringBuilder($"{Cli} maps apply");
        foreach (var e in entries) sb.Append(' ').Append(Quote(e));
        return sb.ToString();
    }

    /// <summary>POSIX single-quoting, identical to HostCommands.Quote: safe values stay bare.</summary>
    public static string Quote(string value) => Workstation.Roster.HostCommands.Quote(value);

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
