// Its own usings: Roster.Tests compiles this file too, without Host.Tests' global usings.
using Workstation.Roster;
using System.Globalization;
using System.Text;

namespace Host.Tests;

/// <summary>
/// Raw command lines for the hostile-argument sweep only (Roster.Tests' HostileCliTests, which
/// links this file and runs them on the local host/ tree; and MapsTests): values the roster engine
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

    /// <summary>
    /// Hostile values for every argument of every command (each reaches the script as one
    /// argument). An injected command would create <paramref name="pwned"/>.
    /// </summary>
    public static IReadOnlyList<string> Commands(string pwned = "/pwned")
    {
        string[] names = ["a;touch /pwned", "../x", "root", "$(id)", "$(touch /pwned)", "`touch /pwned`", "x y", "Ana", "-rf", "a/b", "nobody", "systemd-coredump", "workstation",
            "a_b", "ab-", "_x", "docker", "sudo", "code-shared"];
        var list = new List<string>();
        foreach (var n in names)
        {
            list.Add(UserCommand("apply", n, "power-user", "4160", "4260", null, null, false));
            list.Add(UserOnly("user suspend", n));
            list.Add(MapsRaw([$"{n}:auth.user:4160"]));
            list.Add(UserOnly("user status", n, " --json"));
            list.Add(UserOnly("firewall check", n));
            list.Add(UserOnly("user code apply", n));
            list.Add(UserOnly("user services stop", n));
            list.Add(UserCommand("account apply", n, "power-user", "4160", "4260", null, null, false));
            list.Add(UserCommand("services apply", n, "power-user", "4160", "4260", null, null, false));
        }
        list.Add(UserCommand("account apply", "$(touch /pwned)", "power-user", "4160", "4260", "2160", null, false));
        list.Add(UserCommand("apply", "hostile", "admin;touch /pwned", "4160", "4260", null, null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "80", "4260", null, null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "$(touch /pwned)", null, null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "4160", null, null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "4260", "0", null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "4260", "2160;touch /pwned", null, false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "4260", null, ["ok", "../etc"], false));
        list.Add(UserCommand("apply", "hostile", "power-user", "4160", "4260", null, ["$(touch /pwned)"], false));
        // The secrets step, with empty stdin: refused before anything is read or touched.
        list.Add(HostCommands.Cli + " user secrets apply hostile --secrets snapshot-token --values-stdin");
        list.Add(HostCommands.Cli + " user secrets apply hostile --secrets snapshot-token");
        list.Add(HostCommands.Cli + " user secrets apply hostile --secrets bogus --values-stdin");
        list.Add(HostCommands.Cli + " user secrets apply hostile --secrets snapshot-token,snapshot-token --values-stdin");
        list.Add(HostCommands.Cli + " user secrets apply hostile --secrets memory-key --values-stdin");
        list.Add(HostCommands.Cli + " user secrets apply hostile --rotate " + Quote("snapshot-token=1;touch /pwned"));
        list.Add(HostCommands.Cli + " user secrets apply " + Quote("$(touch /pwned)"));
        list.Add(HostCommands.Cli + " user secrets remove hostile --bogus");
        list.Add(Apply("hostile", "power-user", 4160, 4260) + " --bogus");
        list.Add(Apply("hostile", "power-user", 4160, 4260, revokeGroups: ["$(touch /pwned)"]));
        list.Add(Apply("hostile", "power-user", 4160, 4260, revokeGroups: ["workstation"]));
        list.Add(Apply("hostile", "power-user", 4160, 4260, groups: ["docker"], revokeGroups: ["docker"]));
        list.Add(Apply("hostile", "power-user", 4160, 4260, revokeGroups: ["docker", "docker"]));
        list.Add(Apply("hostile", "power-user", 4160, 4260) + " --revoke-groups 'docker,'");
        list.Add(HostCommands.Manual.FirewallApply + " extra");
        list.Add(UserOnly("user suspend", "hostile", " --forced"));
        list.Add(UserCommand("services apply", "hostile", "power-user", "4160", "$(touch /pwned)", null, null, false));
        list.Add(HostCommands.Cli + " base apply --inputs-sha256 " + Quote("$(touch /pwned)"));
        list.Add(HostCommands.Cli + " base apply --inputs-sha256 " + new string('A', 64));
        list.Add(HostCommands.Cli + " base apply --swap-size 8GB --inputs-sha256 " + new string('a', 64));
        list.Add(HostCommands.Cli + " base apply --swap-size 8G");
        list.Add(UserOnly("user purge", "hostile", " --archive-dir /var/backups/../../etc"));
        list.Add(UserOnly("user purge", "hostile", " --archive-dir relative/dir"));
        list.Add(UserOnly("user purge", "hostile", " --archive-dir " + Quote("/x;touch /pwned")));
        list.Add(UserOnly("user purge", "$(touch /pwned)", " --archive-dir /var/backups/x"));
        list.Add(UserOnly("user purge", "hostile", " --archive-dir /var/backups/x --uid 0"));
        list.Add(UserOnly("user restore", "hostile", " --from /var/backups/x.tar"));
        list.Add(UserOnly("user restore", "hostile", " --from " + Quote("/x/$(touch /pwned).tar.gz")));
        list.Add(UserOnly("user restore", "root", " --from /var/backups/x.tar.gz"));
        const string Keep = " --keep-daily 1 --keep-weekly 1 --keep-monthly 1";
        list.Add(HostCommands.Cli + " backup apply --repository relative/repo" + Keep + " --password-stdin");
        list.Add(HostCommands.Cli + " backup apply --repository " + Quote("/srv/x;touch /pwned") + Keep + " --password-stdin");
        list.Add(HostCommands.Cli + " backup apply --repository /srv/x" + Keep); // no --password-stdin
        list.Add(HostCommands.Cli + " backup apply --repository /srv/x" + Keep + " --password-stdin"); // empty stdin
        list.Add(HostCommands.Cli + " backup apply --repository /srv/x --keep-daily 0 --keep-weekly 0 --keep-monthly 0 --password-stdin");
        list.Add(HostCommands.Cli + " backup apply --repository /srv/x" + Keep + " --on-calendar " + Quote("daily;touch /pwned") + " --password-stdin");
        list.Add(HostCommands.Cli + " backup run extra");
        list.Add(HostCommands.Manual.StatusAll + " extra");
        list.Add(HostCommands.Manual.Audit("$(touch /pwned)"));
        list.Add(HostCommands.Manual.Audit("hostile", since: "yesterday;touch /pwned"));
        list.Add(HostCommands.Manual.Audit("hostile", since: "$(touch /pwned)"));
        list.Add(HostCommands.Manual.Audit("hostile", since: "-7d --output=cat"));
        list.Add(HostCommands.Manual.Audit("hostile", since: "not a time"));
        list.Add(HostCommands.Manual.Audit("hostile", since: new string('1', 65)));
        list.Add(HostCommands.Manual.Audit("hostile") + " --until now");
        // `me` is the caller's own: no word may name another person.
        list.Add(HostCommands.Cli + " me bob");
        list.Add(HostCommands.Cli + " me --json bob");
        list.Add(HostCommands.Cli + " me -- bob");
        list.Add(HostCommands.Cli + " me " + Quote("$(touch /pwned)"));
        list.Add(HostCommands.Manual.PressureSample("relative/dir"));
        list.Add(HostCommands.Manual.PressureSample(memoryWarn: 101));
        list.Add(HostCommands.Cli + " pressure sample --io-warn " + Quote("5;touch /pwned"));
        list.Add(HostCommands.Cli + " adopt plan " + Quote("$(touch /pwned):4100:4200"));
        list.Add(HostCommands.Cli + " adopt plan newb:4100");
        list.Add(HostCommands.Cli + " adopt plan newb:80:4200");
        list.Add(HostCommands.Manual.AdoptRecord("/etc/passwd"));
        list.Add(HostCommands.Manual.AdoptRecord("/etc/systemd/system/../../passwd"));
        list.Add(HostCommands.Cli + " adopt record");
        list.Add(HostCommands.Manual.BackupRestore("$(touch /pwned)", "/srv/x"));
        list.Add(HostCommands.Manual.BackupRestore("hostile", "/home/x"));
        list.Add(HostCommands.Manual.BackupRestore("hostile", "/srv/x", "latest;touch /pwned"));
        list.Add(Site("", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3", admin: "$(touch /pwned)"));
        list.Add(Site("", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3", admin: "root"));
        list.Add(MapsRaw(["ok:$(touch /pwned):4160"]));
        list.Add(MapsRaw(["ok:auth:4160:extra"]));
        list.Add(MapsRaw(["ok:auth:4160", "ok:other:4161"]));
        list.Add(Site("file:///srv/x';touch /pwned;'", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3"));
        list.Add(Site("-uoops", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3"));
        list.Add(Site("", "https://a.test/\"x", "k", "c", "https://s.test", "https://v.test", "t3"));
        // Credentials in a URL would land in site.env and logs.
        list.Add(Site("https://oauth2:SeCrEt-T0k@git.test/x.git", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3"));
        list.Add(Site("", "https://SeCrEt-T0k@a.test/", "k", "c", "https://s.test", "https://v.test", "t3"));
        list.Add(Site("ssh://git:SeCrEt-T0k@git.test/x.git", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3"));
        list.Add(Site("", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3", edgeUser: "$(touch /pwned)"));
        list.Add(Site("", "https://a.test", "k", "c", "https://s.test", "https://v.test", "t3", privilegedGroups: ["ok", "a;touch /pwned"]));
        return list.Select(c => c.Replace("/pwned", pwned, StringComparison.Ordinal)).ToList();
    }


    /// <summary>POSIX single-quoting, identical to HostCommands.Quote: safe values stay bare.</summary>
    public static string Quote(string value) => Workstation.Roster.HostCommands.Quote(value);

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
