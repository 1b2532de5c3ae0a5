using System.Globalization;
using System.Text;

namespace Workstation.Roster;

/// <summary>Machine-wide values the per-user host steps read from /etc/workstation/site.env.</summary>
/// <param name="EdgeUser">The account the edge/dispatcher runs as: besides the owner, the only one that may connect to t3 ports; null: none.</param>
/// <param name="SnapshotUrl">Where the snapshot refresh fetches the chrome-service storage state; null: the refresh does nothing.</param>
/// <param name="RestartIdleMinutes">How long a person must be keystroke-idle before a changed service of theirs restarts; null: the host's default (20).</param>
/// <param name="OidcGrantType">The grant kubelogin uses in every person's kubeconfig (oidcGrantType).</param>
public sealed record SiteSettings(
    string RepoUrl,
    string OidcIssuer,
    string OidcClientId,
    string ClusterName,
    string ClusterServer,
    string VaultAddr,
    string T3Command,
    string? EdgeUser = null,
    string? SnapshotUrl = null,
    int? RestartIdleMinutes = null,
    OidcGrantType OidcGrantType = Kubelogin.DefaultGrantType);

/// <summary>restic backups of /home on the devvm (the password is separate: a secret, on stdin).</summary>
/// <param name="Repository">The restic repository (an absolute path or a restic URL).</param>
/// <param name="OnCalendar">When the backup timer fires (systemd OnCalendar).</param>
public sealed record BackupSettings(string Repository, int KeepDaily, int KeepWeekly, int KeepMonthly, string OnCalendar);

/// <summary>
/// The exact one-line commands the Pulumi program runs over SSH. The host tests run these
/// same strings, so the chain from roster to host is tested end to end.
/// </summary>
public static class HostCommands
{
    public const string InstallDir = "/usr/local/lib/workstation";
    public const string Cli = InstallDir + "/bin/workstation";

    /// <summary>The t3 command line when the stack sets none (t3Command) and the host has no site.env: the shell fills in the port.</summary>
    public const string DefaultT3Command = "t3 serve --host 127.0.0.1 --port ${" + Derivation.T3PortKey + "}";

    /// <summary>Unpacks a base64 tar.gz of host/ from stdin and runs its installer; the temp dir never outlives it.</summary>
    public const string Install =
        "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && base64 -d | tar -xzf - -C \"$d\" && \"$d/host/install.sh\"";

    /// <summary>The installer taking over these unit templates (the stack's takeOver): each, when a hand-made setup wrote it, is backed up, its diff shown, and replaced.</summary>
    public static string InstallTakingOver(IEnumerable<string> unitPaths) =>
        Install + string.Concat(unitPaths.Select(p => $" --take-over {Quote(p)}"));

    /// <summary>
    /// The account step (create and update): the account, groups, lock state, home mode, what the
    /// tier grants on the host, the shell files. Everything here follows the tier, nothing the ports.
    /// </summary>
    public static string Account(DerivedUser u) => $"{Cli} {HostStep.Account.CreateVerb} {u.OsUser}{AccountOptions(u)}";

    /// <summary>The account step's options, in the order docs/host.md gives them.</summary>
    private static string AccountOptions(DerivedUser u)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $" --tier {u.Tier.ToYaml()}");
        if (u.Uid is { } uid) sb.Append(CultureInfo.InvariantCulture, $" --uid {uid}");
        if (u.TierGroups.Count > 0) sb.Append(" --groups ").Append(string.Join(',', u.TierGroups));
        if (u.Adopt) sb.Append(" --adopt");
        if (u.RevokeGroups.Count > 0) sb.Append(" --revoke-groups ").Append(string.Join(',', u.RevokeGroups));
        if (u.PrivateHome) sb.Append(" --private-home");
        // Only the fallback is written out: everyone on OIDC keeps the command line they had.
        if (u.KubeAuth != KubeAuth.Oidc) sb.Append(" --kube-auth ").Append(u.KubeAuth.ToYaml());
        // Another stack's bindings, so `user status` still names them after the cut (sorted: a stable line).
        foreach (var (ns, name) in u.ExternalBindings.OrderBy(b => b.Key, StringComparer.Ordinal))
            sb.Append(" --external-binding ").Append(ns).Append('/').Append(name);
        foreach (var name in u.ClusterBindings.Order(StringComparer.Ordinal))
            sb.Append(" --cluster-binding ").Append(name);
        return sb.ToString();
    }

    /// <summary>The services step's options: ports, then the budget of the person's slices.</summary>
    private static string ServicesOptions(DerivedUser u) =>
        string.Create(CultureInfo.InvariantCulture, $" --t3-port {u.Ports.T3} --playwright-port {u.Ports.Playwright}") +
        BudgetOptions(u.Budget, u.MemoryLimits);

    // An observed person's memory gets no limit (--observe-memory), only accounting.
    private static string BudgetOptions(Budget b, MemoryLimits memory) => string.Create(CultureInfo.InvariantCulture,
        $"{(memory == MemoryLimits.Observed ? " --observe-memory" : $" --memory-high {Sizes.Format(b.MemoryHigh)} --memory-max {Sizes.Format(b.MemoryMax)}")} --cpu-weight {b.CpuWeight} --tasks-max {b.TasksMax}");

    /// <summary>
    /// The account step's delete: the reversible cut. None for the admin: automation never cuts
    /// the admin (the host refuses it too, see <see cref="Manual.ForceSuspend"/>).
    /// </summary>
    public static string? Suspend(DerivedUser u) => Delete(HostStep.Account, u);

    /// <summary>The ~/code step (create; its delete does nothing: homes are kept). The repository is a site value.</summary>
    /// <param name="repoToken">The stack stages repo-token: until the secrets step has staged it, the code step leaves the first clone to that step.</param>
    public static string Code(DerivedUser u, bool repoToken = false) => $"{Cli} {HostStep.Code.CreateVerb} {u.OsUser}" + (repoToken ? " --repo-token" : "");

    /// <summary>The services step (create and update): ports, the slices' budget, the MCP entry, the firewall, the units.</summary>
    public static string Services(DerivedUser u) => $"{Cli} {HostStep.Services.CreateVerb} {u.OsUser}{ServicesOptions(u)}";

    /// <summary>
    /// The secrets step (create and update): the names of the secrets the person holds (their
    /// values: one JSON object on stdin), the rotation serials above 0 of those, and the
    /// claude_memory server's URL when they hold its key. So a preview shows who gains or loses
    /// which secret, and a rotation as an update of exactly the holders' steps; never a value.
    /// </summary>
    public static string Secrets(DerivedUser u, IReadOnlyCollection<SharedSecret> held, IReadOnlyDictionary<SharedSecret, int> rotate, string? memoryUrl)
    {
        var sb = new StringBuilder($"{Cli} {HostStep.Secrets.CreateVerb} {u.OsUser}");
        var names = held.Select(s => s.Name()).Order(StringComparer.Ordinal).ToList();
        if (names.Count > 0) sb.Append(" --secrets ").Append(string.Join(',', names)).Append(" --values-stdin");
        var serials = held.Where(s => rotate.GetValueOrDefault(s) > 0).OrderBy(s => s.Name(), StringComparer.Ordinal)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Name()}={rotate[s]}")).ToList();
        if (serials.Count > 0) sb.Append(" --rotate ").Append(string.Join(',', serials));
        if (held.Contains(SharedSecret.MemoryKey) && memoryUrl is not null) sb.Append(" --memory-url ").Append(Quote(memoryUrl));
        return sb.ToString();
    }

    /// <summary>The secrets step's delete, at the cut: every secret leaves the home. None for the admin (see <see cref="Suspend"/>).</summary>
    public static string? RemoveSecrets(DerivedUser u) => Delete(HostStep.Secrets, u);

    /// <summary>The services step's delete: units off, ports out of the firewall. None for the admin (see <see cref="Suspend"/>).</summary>
    public static string? StopServices(DerivedUser u) => Delete(HostStep.Services, u);

    /// <summary>
    /// A host step's delete for <paramref name="u"/>: `workstation DELETE-VERB USER`, what Pulumi
    /// stores with the step and replays when it deletes it. None for a step without a delete verb,
    /// and none for the admin: automation never cuts the admin.
    /// </summary>
    public static string? Delete(HostStep step, DerivedUser u) =>
        u.IsAdmin || step.DeleteVerb is null ? null : $"{Cli} {step.DeleteVerb} {u.OsUser}";

    /// <summary>
    /// The files of host/ the base step reads (folders: every file below), relative to host/. Their
    /// hash (<see cref="BaseInputsSha256"/>) is in the base step's command line, so the step re-runs,
    /// as an update, exactly when one of them or the swap size changes.
    /// </summary>
    public static readonly IReadOnlyList<string> BaseInputs = ["base", "lib/base.sh", "lib/configbase.sh", "lib/pressure.sh", "lib/swap.sh", "lib/tools.sh", "npm-packages.txt", "packages.txt", "tools.txt"];

    /// <summary>
    /// The base step (create and update): packages, the claude CLI, managed settings, /etc/skel,
    /// swap. The host refuses it unless its installed base inputs hash to <paramref name="inputsSha256"/>.
    /// </summary>
    /// <param name="b">The stack's base settings (the base section); the base files of its takeOver go here, its unit templates to the installer.</param>
    public static string Base(string inputsSha256, BaseSettings b) =>
        $"{Cli} base apply --inputs-sha256 {Quote(inputsSha256)}" + (b.SwapSize is null ? "" : $" --swap-size {Quote(b.SwapSize)}") +
        (b.Swappiness is { } s ? string.Create(CultureInfo.InvariantCulture, $" --swappiness {s}") : "") +
        (b.ToolsMirror is null ? "" : $" --tools-mirror {Quote(b.ToolsMirror)}") +
        (b.PinnedTools ? "" : " --no-pinned-tools") +
        (b.OwnLauncher ? "" : " --no-launcher") +
        (b.NodeExporter is null ? "" : $" --node-exporter {Quote(b.NodeExporter)}") +
        (b.ConfigBase is { } c ? $" --config-base {Quote(c.Url)} --config-base-ref {Quote(c.Ref)}" + (c.Hooks ? " --config-base-hooks" : "") : "") +
        (b.ClaudeCodeIfMissing ? " --claude-code if-missing" : "") +
        (b.T3Package is null ? "" : $" --t3-package {Quote(b.T3Package)}") +
        string.Concat(b.TakeOver.OfType<SharedFiles.BaseTarget>().Select(t => $" --take-over {Quote(t.Path)}"));

    /// <summary>
    /// The hash of the base inputs: sha256 of the `sha256sum` lines ("HEX  PATH\n") of every file
    /// they cover, in ordinal path order. host/lib/base.sh computes the same over the installed copy.
    /// </summary>
    /// <param name="files">Every file of host/, as (path relative to host/, content).</param>
    public static string BaseInputsSha256(IEnumerable<(string Path, byte[] Content)> files) => InputsSha256(BaseInputs, files);

    /// <summary>
    /// The code every verb of the CLI runs: bin/workstation sources every file of lib/ before it
    /// looks at its arguments (a helper, a constant or top-level code of any of them can change
    /// what any verb does), so no verb's code is narrower than this.
    /// </summary>
    public static readonly IReadOnlyList<string> CliCode = ["bin/workstation", "lib"];

    /// <summary>
    /// What a verb reads from host/ besides <see cref="CliCode"/>, by verb: the one place this is
    /// kept (a Roster test holds it to the paths below host/ that lib/ names). The services step
    /// compares its units' effective command with the one they started with, so what makes up
    /// that command is its input: the unit templates, their runners, and the npm pins.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> VerbReads = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        [HostStep.Services.CreateVerb!] = ["bin/playwright-mcp-run", "bin/playwright-snapshot-refresh", "bin/t3-serve-run", "npm-packages.txt", "units"],
        // The clone's credential.helper names it; the secrets step makes the first clone of a private repository.
        [HostStep.Code.CreateVerb!] = ["bin/git-credential-workstation"],
        [HostStep.Secrets.CreateVerb!] = ["bin/git-credential-workstation"],
    };

    /// <summary>The files of host/ a host step's create/update runs (folders: every file below); none for a step without a create.</summary>
    public static IReadOnlyList<string> StepInputs(HostStep step) =>
        step.CreateVerb is not { } verb ? [] : [.. CliCode, .. VerbReads.GetValueOrDefault(verb) ?? []];

    /// <summary>
    /// A host step's create/update line at a revision of its host code: the hash of
    /// <see cref="StepInputs"/> rides on the line, so a change of that code changes the line and
    /// the engine runs the step again as an update (a trigger would replace it, and a replaced
    /// step runs its stored delete: `user suspend` for the account). The host checks it is hex
    /// and otherwise ignores it. The golden file holds the lines without it.
    /// </summary>
    public static string AtHostRev(string apply, string hostRev) =>
        System.Text.RegularExpressions.Regex.IsMatch(hostRev, "^[0-9a-f]{64}$")
            ? $"{apply} {HostRevOption} {hostRev}"
            : throw new ArgumentException($"the host revision {hostRev} is not 64 lowercase hex digits", nameof(hostRev));

    /// <summary>The option that carries <see cref="AtHostRev"/>'s hash; always last on the line.</summary>
    public const string HostRevOption = "--host-rev";

    /// <summary>sha256 of the `sha256sum` lines of every file <paramref name="inputs"/> cover (folders: every file below), in ordinal path order.</summary>
    public static string InputsSha256(IReadOnlyList<string> inputs, IEnumerable<(string Path, byte[] Content)> files)
    {
        var lines = new StringBuilder();
        foreach (var (path, content) in files
                     .Where(f => inputs.Any(i => f.Path == i || f.Path.StartsWith(i + "/", StringComparison.Ordinal)))
                     .OrderBy(f => f.Path, StringComparer.Ordinal))
            lines.Append(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))).Append("  ").Append(path).Append('\n');
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(lines.ToString())));
    }

    /// <summary>
    /// The purge step of a tombstone with `purge: true` (create only; no delete: a purge is undone
    /// by hand, with <see cref="Manual.Restore"/>). The host archives the cut home, checks the
    /// archive, and only then deletes the account; it refuses a person who is not cut.
    /// </summary>
    /// <param name="archiveDir">Where the archives go (the stack's `purgeArchiveDir`).</param>
    public static string Purge(RetiredUser r, string archiveDir) =>
        $"{Cli} user purge {r.OsUser} --archive-dir {Quote(archiveDir)}" +
        (r.Uid is { } uid ? string.Create(CultureInfo.InvariantCulture, $" --uid {uid}") : "");

    /// <summary>
    /// A move's first step, on the host the person leaves (issue 27 §2): the offboarding cut, then a
    /// final snapshot of the home into the repository both hosts reach; prints `snapshot ID`. The
    /// repository password on stdin. Re-run, it reuses the snapshot while the home is unchanged.
    /// </summary>
    public static string MoveOut(string osUser, string repository) =>
        $"{Cli} user move-out {osUser} --repo {Quote(repository)} --password-stdin";

    /// <summary>A move's second step, on the host the person goes to: the account with the same uid, the home restored from the snapshot.</summary>
    public static string MoveIn(string osUser, int uid, string snapshot, string repository) =>
        string.Create(CultureInfo.InvariantCulture, $"{Cli} user move-in {osUser} --uid {uid} --snapshot {Quote(snapshot)} --repo {Quote(repository)} --password-stdin");

    /// <summary>The snapshot id from move-out's output (its last `snapshot ID` line); "" when there is none (the move-in then refuses it).</summary>
    public static string SnapshotOf(string? moveOutStdout) =>
        (moveOutStdout ?? "").Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("snapshot ", StringComparison.Ordinal)) is { } line
            ? line["snapshot ".Length..].Trim() : "";

    /// <summary>The backup step (create and update): repository, retention and schedule; the password on stdin.</summary>
    public static string Backup(BackupSettings b) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Cli} backup apply --repository {Quote(b.Repository)} --keep-daily {b.KeepDaily} --keep-weekly {b.KeepWeekly} --keep-monthly {b.KeepMonthly}") +
        $" --on-calendar {Quote(b.OnCalendar)} --password-stdin";

    /// <summary>
    /// Every line the program sends for a roster, keyed as tests/golden/host-commands.txt keys
    /// them (install, site, then per person account, suspend, code, services, stop, secrets,
    /// remove-secrets, then maps): the golden file and `roster host-commands` (the benchmarks'
    /// command lines) are this list. No site line without site values; nothing rotated.
    /// </summary>
    /// <param name="repoToken">The stack stages repo-token (the code step's --repo-token).</param>
    /// <param name="memoryUrl">The claude_memory server's URL, for the secrets lines.</param>
    public static IReadOnlyList<(string Key, string Command)> Lines(DerivedRoster roster, SiteSettings? site, bool repoToken, string? memoryUrl)
    {
        var result = new List<(string, string)> { ("install", Install) };
        if (site is not null) result.Add(("site", Site(site, roster.Settings, roster.Users.Single(u => u.IsAdmin).OsUser)));
        var noRotation = new Dictionary<SharedSecret, int>();
        foreach (var u in roster.Users.OrderBy(u => u.OsUser, StringComparer.Ordinal))
        {
            result.Add(($"account:{u.OsUser}", Account(u)));
            // The admin's steps have no delete: no suspend or stop line for them.
            if (Suspend(u) is { } suspend) result.Add(($"suspend:{u.OsUser}", suspend));
            result.Add(($"code:{u.OsUser}", Code(u, repoToken)));
            result.Add(($"services:{u.OsUser}", Services(u)));
            if (StopServices(u) is { } stop) result.Add(($"stop:{u.OsUser}", stop));
            result.Add(($"secrets:{u.OsUser}", Secrets(u, u.Secrets, noRotation, memoryUrl)));
            if (RemoveSecrets(u) is { } remove) result.Add(($"remove-secrets:{u.OsUser}", remove));
        }
        result.Add(("maps", Maps(roster.Users)));
        return result;
    }

    public static string Maps(IEnumerable<DerivedUser> users)
    {
        var sb = new StringBuilder($"{Cli} maps apply");
        foreach (var u in users.OrderBy(u => u.OsUser, StringComparer.Ordinal))
            sb.Append(CultureInfo.InvariantCulture, $" {u.OsUser}:{u.AuthentikUser}:{u.Ports.T3}");
        return sb.ToString();
    }

    /// <summary>
    /// The site values, the roster's admin (whom the host then refuses to cut) and the roster's
    /// extra privileged groups (the built-in ones are in host/lib/rules.sh).
    /// </summary>
    public static string Site(SiteSettings s, RosterSettings roster, string admin)
    {
        var sb = new StringBuilder($"{Cli} site apply --repo-url {Quote(s.RepoUrl)} --oidc-issuer {Quote(s.OidcIssuer)} " +
            $"--oidc-client-id {Quote(s.OidcClientId)} --cluster-name {Quote(s.ClusterName)} " +
            $"--cluster-server {Quote(s.ClusterServer)} --vault-addr {Quote(s.VaultAddr)} --t3-command {Quote(s.T3Command)}");
        sb.Append(" --admin ").Append(Quote(admin));
        if (s.SnapshotUrl is { } snapshot) sb.Append(" --snapshot-url ").Append(Quote(snapshot));
        if (s.EdgeUser is { } edge) sb.Append(" --edge-user ").Append(Quote(edge));
        if (s.RestartIdleMinutes is { } idle) sb.Append(CultureInfo.InvariantCulture, $" --restart-idle-minutes {idle}");
        if (roster.PrivilegedGroups.Count > 0)
            sb.Append(" --privileged-groups ").Append(string.Join(',', roster.PrivilegedGroups.Order(StringComparer.Ordinal)));
        // The kubeconfig's login (issue 24 §3): a grant that works without a browser, and the scope the username claim needs.
        sb.Append(" --oidc-grant-type ").Append(s.OidcGrantType.Name());
        if (Kubelogin.ExtraScope(roster.K8sUsernameClaim) is { } scope) sb.Append(" --oidc-extra-scope ").Append(scope);
        return sb.ToString();
    }

    /// <summary>
    /// Verbs the program never sends: an operator runs them by hand (docs/host.md says when).
    /// Built here so the docs, the host tests and the program share one spelling.
    /// </summary>
    public static class Manual
    {
        /// <summary>The three steps in one run (account, code, services), for onboarding a person by hand.</summary>
        public static string UserApply(DerivedUser u) =>
            $"{Cli} user apply {u.OsUser}{AccountOptions(u)}{ServicesOptions(u)}";

        /// <summary>
        /// The one-time, idle-gated move from a hand-made per-user playwright unit to the system
        /// instance on the roster's port: the services step's options, so it runs that step itself.
        /// </summary>
        public static string Migrate(DerivedUser u) => $"{Cli} user migrate {u.OsUser}{ServicesOptions(u)}";

        /// <summary>Undoes <see cref="Migrate"/>: the system instance off, the recorded per-user units back.</summary>
        public static string MigrateRollback(string osUser) => $"{Cli} user migrate rollback {Quote(osUser)}";

        /// <summary>The one-time, idle-gated move from a ~/code link into the admin's tree to the person's own clone.</summary>
        public static string Cutover(string osUser) => $"{Cli} user cutover {Quote(osUser)}";

        /// <summary>Undoes <see cref="Cutover"/>: every recorded item back, the clone moved aside.</summary>
        public static string CutoverRollback(string osUser) => $"{Cli} user cutover rollback {Quote(osUser)}";

        /// <summary>Brings a purged home back from its archive, byte for byte, under the uid the purge recorded; the account stays cut.</summary>
        public static string Restore(string osUser, string archive) => $"{Cli} user restore {Quote(osUser)} --from {Quote(archive)}";

        /// <summary>One backup now (what the backup timer's service runs).</summary>
        public const string BackupRun = Cli + " backup run";

        /// <summary>The backup repository's snapshots (read-only).</summary>
        public const string BackupSnapshots = Cli + " backup snapshots";

        /// <summary>A person's home from a backup snapshot into a new folder beside the live homes (docs/runbooks/restore-home.md).</summary>
        public static string BackupRestore(string osUser, string target, string? snapshot = null) =>
            $"{Cli} backup restore {Quote(osUser)} --target {Quote(target)}" + (snapshot is null ? "" : $" --snapshot {Quote(snapshot)}");

        /// <summary>Day one on a hand-made devvm (read-only): every conflict with the roster's people, and what the first apply would touch.</summary>
        public static string AdoptPlan(IEnumerable<DerivedUser> people)
        {
            var sb = new StringBuilder($"{Cli} adopt plan");
            foreach (var u in people.OrderBy(u => u.OsUser, StringComparer.Ordinal))
                sb.Append(CultureInfo.InvariantCulture, $" {u.OsUser}:{u.Ports.T3}:{u.Ports.Playwright}");
            return sb.ToString();
        }

        /// <summary>Backs up a shared file Workstation did not write and hands it over to the next apply.</summary>
        public static string AdoptRecord(string path) => $"{Cli} adopt record {Quote(path)}";

        /// <summary>The pinned tools of a manifest (default: the installed tools.txt, what the base step runs), from upstream or a mirror.</summary>
        public static string ToolsInstall(string? manifest = null, string? mirror = null) =>
            $"{Cli} tools install" + (manifest is null ? "" : $" --manifest {Quote(manifest)}") + (mirror is null ? "" : $" --mirror {Quote(mirror)}");

        /// <summary>One pressure sample now (what workstation-pressure.timer runs), optionally elsewhere and with other thresholds.</summary>
        public static string PressureSample(string? textfileDir = null, int? memoryWarn = null, int? ioWarn = null, int? diskFreeWarn = null)
        {
            var sb = new StringBuilder($"{Cli} pressure sample");
            if (textfileDir is not null) sb.Append(" --textfile-dir ").Append(Quote(textfileDir));
            if (memoryWarn is { } m) sb.Append(CultureInfo.InvariantCulture, $" --memory-warn {m}");
            if (ioWarn is { } i) sb.Append(CultureInfo.InvariantCulture, $" --io-warn {i}");
            if (diskFreeWarn is { } d) sb.Append(CultureInfo.InvariantCulture, $" --disk-free-warn {d}");
            return sb.ToString();
        }

        /// <summary>Every managed person's facts (read-only), for `roster drift`.</summary>
        public const string StatusAll = Cli + " status --json";

        /// <summary>What the host knows of a person (read-only); an operator's check after a cut.</summary>
        public static string Status(string osUser) => $"{Cli} user status {Quote(osUser)} --json";

        /// <summary>What a person did on the machine (read-only, root only): logins, t3 and MCP sessions, sudo, the program's steps.</summary>
        public static string Audit(string osUser, string? since = null, bool json = true) =>
            $"{Cli} audit {Quote(osUser)}" + (since is null ? "" : $" --since {Quote(since)}") + (json ? " --json" : "");

        /// <summary>Cuts a person the program does not cut: the admin (the host refuses without --force).</summary>
        public static string ForceSuspend(string osUser) => $"{Cli} user suspend {Quote(osUser)} --force";

        /// <summary>Restarts the pending units of people idle long enough (what workstation-restart-pending.timer runs).</summary>
        public const string RestartPending = Cli + " restart pending";

        /// <summary>Reloads the port firewall from the port files (the services steps and the unit do it).</summary>
        public const string FirewallApply = Cli + " firewall apply";

        /// <summary>What each unit's ExecStartPre runs (host/units); by hand, it shows whether USER's ports are guarded.</summary>
        public static string FirewallCheck(string osUser) => $"{Cli} firewall check {Quote(osUser)}";
    }

    /// <summary>POSIX single-quoting; values are config, not roster names, so they get quoted.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "@%+=:,./_-".Contains(c))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
