using System.Globalization;
using System.Text;

namespace Workstation.Roster;

/// <summary>The outcome of loading a roster: a model, or every error found.</summary>
public sealed record RosterResult(RosterModel? Model, IReadOnlyList<RosterError> Errors)
{
    public bool Ok => Model is not null && Errors.Count == 0;

    public RosterModel ModelOrThrow() =>
        Ok ? Model! : throw new RosterException(Errors);
}

public sealed class RosterException(IReadOnlyList<RosterError> errors)
    : Exception("invalid roster:\n" + string.Join('\n', errors))
{
    public IReadOnlyList<RosterError> Errors { get; } = errors;
}

/// <summary>Parses and validates roster.yaml. Reports all errors at once; never throws on bad input.</summary>
public static class RosterLoader
{
    /// <summary>Large enough for tens of thousands of users, small enough to refuse junk early.</summary>
    public const long MaxBytes = 8 * 1024 * 1024;

    /// <param name="claim">The stack's Vault OIDC user claim: with email, every person needs an email (it names their Vault alias).</param>
    public static RosterResult LoadFile(string path, Access.VaultUserClaim claim = Access.VaultUserClaim.PreferredUsername)
    {
        var name = Path.GetFileName(path);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) return Fail(name, "(file)", $"roster file not found: {path}");
            if (info.Length > MaxBytes)
                return Fail(name, "(file)", $"the roster is {info.Length} bytes; the limit is {MaxBytes} bytes");
            var bytes = File.ReadAllBytes(path);
            return Load(bytes, name, claim);
        }
        catch (IOException e)
        {
            return Fail(name, "(file)", $"cannot read the roster: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(name, "(file)", $"cannot read the roster: {e.Message}");
        }
    }

    public static RosterResult Load(string text, string fileName = "roster.yaml") =>
        Load(Encoding.UTF8.GetBytes(text), fileName);

    public static RosterResult Load(string text, string fileName, Access.VaultUserClaim claim) =>
        Load(Encoding.UTF8.GetBytes(text), fileName, claim);

    public static RosterResult Load(byte[] bytes, string fileName) => Load(bytes, fileName, Access.VaultUserClaim.PreferredUsername);

    public static RosterResult Load(byte[] bytes, string fileName, Access.VaultUserClaim claim)
    {
        if (bytes.Length > MaxBytes)
            return Fail(fileName, "(file)", $"the roster is {bytes.Length} bytes; the limit is {MaxBytes} bytes");
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Fail(fileName, "(file)", "the roster is not valid UTF-8");
        }
        if (text.StartsWith('\uFEFF')) text = text[1..]; // a UTF-8 byte order mark, as some editors write
        var reader = new Reader(fileName, claim);
        var model = reader.Read(text);
        var errors = reader.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
        return new RosterResult(errors.Count == 0 ? model : null, errors);
    }

    private static RosterResult Fail(string file, string field, string message) =>
        new(null, [new RosterError(file, 1, 1, field, message)]);

    /// <summary>One pass over the tree, collecting errors as it goes.</summary>
    private sealed class Reader(string file, Access.VaultUserClaim claim)
    {
        /// <summary>What the stack's Vault OIDC role names logins by (the roster must hold it for everyone).</summary>
        public Access.VaultUserClaim Claim { get; } = claim;

        public List<RosterError> Errors { get; } = [];

        /// <summary>Read first: an entry's budget is checked over its tier's.</summary>
        private RosterSettings _settings = RosterSettings.Default;

        private void Error(Loc at, string field, string message) =>
            Errors.Add(new RosterError(file, at.Line, at.Column, Escape(field), Escape(message)));

        /// <summary>Keeps each error on one line and visible: control and format characters become \uXXXX.</summary>
        private static string Escape(string text)
        {
            if (!text.Any(NeedsEscape)) return text;
            var sb = new StringBuilder(text.Length + 8);
            foreach (var c in text)
            {
                if (NeedsEscape(c)) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                else sb.Append(c);
            }
            return sb.ToString();
        }

        private static bool NeedsEscape(char c) =>
            char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

        public RosterModel? Read(string text)
        {
            var root = YamlTree.Parse(text, Error);
            if (root is null) return null;
            if (root is not YMap map)
            {
                Error(root.At, "(root)", "the roster must be a mapping with 'admin', 'users' and 'retired'");
                return null;
            }
            var top = Fields(map, "", ["settings", "admin", "users", "retired"], required: ["admin", "users"]);

            var settings = top.TryGetValue("settings", out var s) ? ReadSettings(s) : RosterSettings.Default;
            _settings = settings;
            var admin = top.TryGetValue("admin", out var a) ? ReadPerson(a, "admin", null, isAdmin: true) : null;
            var users = top.TryGetValue("users", out var u) ? ReadKeyed(u, "users", (k, n) => ReadPerson(n, $"users.{YamlTree.Key(k.Value)}", k, isAdmin: false)) : [];
            var retired = top.TryGetValue("retired", out var r) ? ReadKeyed(r, "retired", ReadRetired) : [];

            if (admin is null) return null;
            var check = new CrossCheck(this, settings);
            check.Run(admin, users, retired);
            if (Errors.Count > 0) return null;
            var lines = users.Select(x => x.Value).Prepend(admin).ToDictionary(p => p.Value.OsUser, p => (p.At,
                p.Fields.GetValueOrDefault("host")?.At ?? p.At, p.Fields.GetValueOrDefault("moved_from")?.At ?? p.At), StringComparer.Ordinal);
            foreach (var (_, t) in retired) lines[t.Value.OsUser] = (t.At, t.Fields.GetValueOrDefault("host")?.At ?? t.At, t.At);
            return new RosterModel(settings, admin.Value, users.Select(x => x.Value.Value).ToList(), retired.Select(x => x.Value.Value).ToList())
            {
                File = file,
                Lines = lines,
            };
        }

        // --- sections -------------------------------------------------------------------------

        private RosterSettings ReadSettings(YNode node)
        {
            var d = RosterSettings.Default;
            if (AsMap(node, "settings") is not { } map) return d;
            var f = Fields(map, "settings", ["t3_base_port", "playwright_base_port", "deny_users", "k8s_username_prefix", "k8s_username_claim", "privileged_groups", "budgets"], []);
            var claim = d.K8sUsernameClaim;
            if (f.TryGetValue("k8s_username_claim", out var c) && Str(c, "settings.k8s_username_claim") is { } cs)
            {
                switch (cs)
                {
                    case "email": claim = K8sUsernameClaim.Email; break;
                    case "name": claim = K8sUsernameClaim.Name; break;
                    default: Error(c.At, "settings.k8s_username_claim", $"unknown claim '{cs}' (expected email or name)"); break;
                }
            }
            var prefix = d.K8sUsernamePrefix;
            if (f.TryGetValue("k8s_username_prefix", out var p) && Str(p, "settings.k8s_username_prefix") is { } ps)
            {
                if (ps.Length > 0 && !Rules.K8sUser().IsMatch(ps))
                    Error(p.At, "settings.k8s_username_prefix", $"'{ps}' is not a valid prefix: {Rules.WhyInvalid(ps, Rules.K8sUser())}");
                else prefix = ps;
            }
            var deny = new List<string>();
            if (f.TryGetValue("deny_users", out var dn))
            {
                foreach (var (item, field) in List(dn, "settings.deny_users"))
                {
                    if (Str(item, field) is { } name) deny.Add(name);
                }
            }
            return new RosterSettings(
                f.TryGetValue("t3_base_port", out var t) ? Port(t, "settings.t3_base_port") ?? d.T3BasePort : d.T3BasePort,
                f.TryGetValue("playwright_base_port", out var w) ? Port(w, "settings.playwright_base_port") ?? d.PlaywrightBasePort : d.PlaywrightBasePort,
                deny, prefix, claim,
                ReadGroups(f, "privileged_groups", "settings"),
                f.TryGetValue("budgets", out var b) ? ReadTierBudgets(b) : null);
        }

        /// <summary>settings.budgets: per tier, any of the budget fields over the built-in budget.</summary>
        private Dictionary<Tier, Budget>? ReadTierBudgets(YNode node)
        {
            if (AsMap(node, "settings.budgets") is not { } map) return null;
            var tiers = Enum.GetValues<Tier>().Select(t => t.ToYaml()).ToArray();
            var f = Fields(map, "settings.budgets", tiers, []);
            var result = new Dictionary<Tier, Budget>();
            foreach (var (name, value) in f)
            {
                var tier = TierNames.Parse(name)!.Value;
                var path = $"settings.budgets.{name}";
                if (ReadBudget(value, path) is not { } set) continue;
                var budget = set.Over(Budgets.Defaults[tier]);
                if (CheckBudget(budget, set, value.At, path, $"the built-in {name} budget's")) result[tier] = budget;
            }
            return result;
        }

        /// <summary>A budget mapping: each field optional, each checked on its own.</summary>
        private BudgetOverride? ReadBudget(YNode node, string path)
        {
            if (AsMap(node, path) is not { } map) return null;
            var f = Fields(map, path, Budgets.Fields, []);
            if (map.Refused.Contains("<<")) return null;
            var refused = false;
            long? Memory(string key)
            {
                if (!f.TryGetValue(key, out var n)) return null;
                var field = $"{path}.{key}";
                var bytes = n is YScalar sc ? Sizes.Parse(sc.Value) : null;
                var why = bytes switch
                {
                    null => $"{Show(n)} is not a size: {HostCapacity.SizeHelp}",
                    < Budgets.MinMemory => $"{Show(n)} is below {Sizes.Format(Budgets.MinMemory)}: too little for a shell and a Claude session",
                    > Budgets.MaxMemory => $"{Show(n)} is above {Sizes.Format(Budgets.MaxMemory)}",
                    _ => null,
                };
                if (why is null) return bytes;
                Error(n.At, field, why);
                refused = true;
                return null;
            }
            int? Count(string key, int min, int max)
            {
                if (!f.TryGetValue(key, out var n)) return null;
                var v = Int(n, $"{path}.{key}");
                if (v >= min && v <= max) return v;
                if (v is not null) Error(n.At, $"{path}.{key}", $"{v} is outside {min}-{max}");
                refused = true;
                return null;
            }
            var set = new BudgetOverride(Memory("memory_high"), Memory("memory_max"),
                Count("cpu_weight", Budgets.MinCpuWeight, Budgets.MaxCpuWeight), Count("tasks_max", Budgets.MinTasksMax, Budgets.MaxTasksMax));
            // A refused field is reported already: comparing without it would only echo that error.
            return refused ? null : set;
        }

        /// <summary>memory_high must not be above memory_max, wherever each of them comes from.</summary>
        private bool CheckBudget(Budget budget, BudgetOverride set, Loc at, string path, string inherited)
        {
            if (budget.MemoryHigh <= budget.MemoryMax) return true;
            string Origin(long? own) => own is null ? $" ({inherited})" : "";
            Error(at, path, $"memory_high {Sizes.Format(budget.MemoryHigh)}{Origin(set.MemoryHigh)} is above memory_max {Sizes.Format(budget.MemoryMax)}{Origin(set.MemoryMax)}: " +
                "memory_high is where throttling starts and must be at most memory_max, where the OOM killer acts");
            return false;
        }

        private static readonly string[] AdminKeys = ["os_user", "authentik_user", "k8s_user", "email", "ports", "uid", "adopt", "revoke_groups", "extra_groups", "private_home", "budget", "ha", "memory", "claude_login", "kube_auth", "host"];
        private static readonly string[] UserKeys = ["authentik_user", "k8s_user", "email", "tier", "namespaces", "external_bindings", "cluster_bindings", "ports", "uid", "adopt", "revoke_groups", "extra_groups", "private_home", "budget", "ha", "memory", "claude_login", "kube_auth", "host", "moved_from"];

        /// <summary>Reads the admin (keyed by its os_user field) or a user (keyed by the map key).</summary>
        private Located<Person>? ReadPerson(YNode node, string path, YScalar? key, bool isAdmin)
        {
            if (AsMap(node, path) is not { } map) return null;
            var f = Fields(map, path, isAdmin ? AdminKeys : UserKeys,
                isAdmin ? ["os_user", "authentik_user", "k8s_user"] : ["authentik_user", "k8s_user", "email", "tier"]);
            if (map.Refused.Contains("<<")) return null; // built from a refused merge: checking it would only echo that error

            YScalar? osNode = key;
            if (isAdmin && f.TryGetValue("os_user", out var o)) osNode = Str(o, "admin.os_user") is null ? null : (YScalar)o;
            var osUser = osNode?.Value;
            if (osUser is "") Error(osNode!.At, isAdmin ? "admin.os_user" : path, "os_user must not be empty");

            var tier = Tier.Admin;
            if (!isAdmin && f.TryGetValue("tier", out var t) && Str(t, path + ".tier") is { } ts)
            {
                var parsed = TierNames.Parse(ts);
                if (parsed is null or Tier.Admin)
                {
                    Error(t.At, path + ".tier", $"unknown tier '{ts}' (expected power-user or namespace-owner; the admin is its own section)");
                }
                else tier = parsed.Value;
            }
            var namespaces = ReadNames(f, "namespaces", path);
            var external = ReadExternalBindings(f, path, namespaces);
            var nsNode = f.GetValueOrDefault("namespaces");
            if (!isAdmin && tier == Tier.NamespaceOwner && nsNode is null or YSeq { Items.Count: 0 })
                Error(nsNode?.At ?? map.At, path + ".namespaces", "a namespace-owner needs at least one namespace");
            if (!isAdmin && tier == Tier.PowerUser && nsNode is not null)
                Error(nsNode.At, path + ".namespaces", "namespaces apply only to the namespace-owner tier");
            var ports = f.TryGetValue("ports", out var pt) ? ReadPorts(pt, path + ".ports") : new PartialPorts(null, null, map.At);
            var revoke = ReadRevokeGroups(f, path, osUser, tier);
            BudgetOverride? budget = null;
            if (f.TryGetValue("budget", out var bn) && ReadBudget(bn, path + ".budget") is { } set &&
                CheckBudget(set.Over(_settings.BudgetOf(tier)), set, bn.At, path + ".budget", $"the {tier.ToYaml()} tier's"))
                budget = set;
            // Three states: true closes the home; false, written out, keeps it open on purpose (no drift); absent: drift reports an open home.
            bool? privateHome = f.TryGetValue("private_home", out var ph) ? Bool(ph, path + ".private_home") : null;
            var person = new Person(
                osUser ?? "",
                f.TryGetValue("authentik_user", out var au) ? Str(au, path + ".authentik_user") ?? "" : "",
                f.TryGetValue("k8s_user", out var ku) ? Str(ku, path + ".k8s_user") ?? "" : "",
                f.TryGetValue("email", out var em) ? Str(em, path + ".email") : null,
                tier, namespaces, external,
                new Ports(ports.T3 ?? 0, ports.Playwright ?? 0),
                f.TryGetValue("uid", out var ud) ? Int(ud, path + ".uid") : null,
                f.TryGetValue("adopt", out var ad) && (Bool(ad, path + ".adopt") ?? false),
                revoke,
                privateHome == true,
                budget,
                f.TryGetValue("ha", out var ha) && (Bool(ha, path + ".ha") ?? false),
                f.TryGetValue("memory", out var me) ? Choice(me, path + ".memory", Enum.GetValues<MemoryAccess>(), SharedSecrets.ToYaml) ?? MemoryAccess.Shared : MemoryAccess.Shared,
                f.TryGetValue("claude_login", out var cl) ? Choice(cl, path + ".claude_login", Enum.GetValues<ClaudeLogin>(), SharedSecrets.ToYaml) ?? ClaudeLogin.Interactive : ClaudeLogin.Interactive,
                f.TryGetValue("kube_auth", out var ka) ? Choice(ka, path + ".kube_auth", Enum.GetValues<KubeAuth>(), Kubelogin.ToYaml) ?? KubeAuth.Oidc : KubeAuth.Oidc)
            {
                ClusterBindings = ReadClusterBindings(f, path),
                ExtraGroups = ReadExtraGroups(f, path, osUser, revoke),
                OpenHome = privateHome == false,
                Host = ReadHost(f, "host", path, isAdmin),
                MovedFrom = ReadHost(f, "moved_from", path, isAdmin),
            };
            if (person.MovedFrom is { } from && from == person.Host)
                Error(f["moved_from"].At, path + ".moved_from", $"'{from}' is this person's host: as well; a move names the host they leave");
            else if (person.MovedFrom is not null && person.Host is null)
                Error(f["moved_from"].At, path + ".moved_from", "a move needs the host they go to: set host: as well");
            else if (person.MovedFrom is not null && person.Uid is null)
                Error(f["moved_from"].At, path + ".moved_from", "a move needs a pinned uid: (the account on the new host keeps the one it has; `id -u` on the old host)");
            return new Located<Person>(person, path, osNode?.At ?? map.At, f, ports, map.At);
        }

        /// <summary>
        /// `host:` or `moved_from:`: one host name of the stack's `hosts:` (which ones exist is the
        /// stack's to say: checked with it, by <see cref="Placement.Check"/>). A list is refused; for
        /// the admin it says why: automation's admin lives on one host.
        /// </summary>
        private string? ReadHost(Dictionary<string, YNode> f, string key, string path, bool isAdmin)
        {
            if (!f.TryGetValue(key, out var node)) return null;
            var field = $"{path}.{key}";
            if (node is YSeq { Items.Count: > 1 } && isAdmin)
            {
                Error(node.At, field, "the admin is on one host: name one (the admin is cut by no automation, so it can't be in two places)");
                return null;
            }
            if (Str(node, field) is not { } name) return null;
            if (FleetHosts.Name().IsMatch(name)) return name;
            Error(node.At, field, StackValues.NotA(name, FleetHosts.NameForm));
            return null;
        }

        private Located<RetiredUser>? ReadRetired(YScalar key, YNode node)
        {
            var path = $"retired.{YamlTree.Key(key.Value)}";
            if (key.Value.Length == 0) Error(key.At, path, "os_user must not be empty");
            if (AsMap(node, path) is not { } map) return null;
            var f = Fields(map, path, ["uid", "ports", "authentik_user", "k8s_user", "purge", "external_bindings", "cluster_bindings", "host"], ["ports"]);
            if (map.Refused.Contains("<<")) return null;
            var ports = f.TryGetValue("ports", out var pt) ? ReadPorts(pt, path + ".ports") : new PartialPorts(null, null, map.At);
            var uid = f.TryGetValue("uid", out var u) ? Int(u, path + ".uid") : null;
            // authentik_user keeps the Vault alias of the disabled entity; k8s_user is for the record. Both checked.
            var ids = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (name, pattern) in new[] { ("authentik_user", Rules.AuthentikUser()), ("k8s_user", Rules.K8sUser()) })
            {
                if (!f.TryGetValue(name, out var n) || Str(n, $"{path}.{name}") is not { } v) continue;
                if (pattern.IsMatch(v)) ids[name] = v;
                else Error(n.At, $"{path}.{name}", v.Length == 0 ? "must not be empty" : $"'{v}' is not valid: {Rules.WhyInvalid(v, pattern)}");
            }
            var purge = f.TryGetValue("purge", out var pg) && (Bool(pg, path + ".purge") ?? false);
            var tombstone = new RetiredUser(key.Value, uid, new Ports(ports.T3 ?? 0, ports.Playwright ?? 0),
                ids.GetValueOrDefault("authentik_user"), ids.GetValueOrDefault("k8s_user"), purge)
            {
                // Kept from the entry until removed in the stack that owns them: drift reports each.
                ExternalBindings = ReadExternalBindings(f, path, namespaces: null),
                ClusterBindings = ReadClusterBindings(f, path),
                Host = ReadHost(f, "host", path, isAdmin: false),
            };
            return new Located<RetiredUser>(tombstone, path, key.At, f, ports, map.At);
        }

        /// <summary>A list of group names (valid, each once), e.g. settings.privileged_groups.</summary>
        private List<string> ReadGroups(Dictionary<string, YNode> f, string name, string path)
        {
            var result = new List<string>();
            if (!f.TryGetValue(name, out var node)) return result;
            foreach (var (item, field) in List(node, $"{path}.{name}"))
            {
                if (Str(item, field) is not { } g) continue;
                if (!Rules.AccountName().IsMatch(g))
                    Error(item.At, field, $"'{g}' is not a valid group name: {Rules.WhyInvalid(g, Rules.AccountName())}");
                else if (result.Contains(g))
                    Error(item.At, field, $"group '{g}' is listed twice");
                else result.Add(g);
            }
            return result;
        }

        /// <summary>
        /// revoke_groups: supplementary groups to remove from the account, the one way a group is
        /// ever removed. A group the tier grants (it would be added back) or the marker group (the
        /// account would stop being managed) is refused.
        /// </summary>
        private List<string> ReadRevokeGroups(Dictionary<string, YNode> f, string path, string? osUser, Tier tier) =>
            ReadGroupsExcept(f, "revoke_groups", path, g =>
                g == Rules.MarkerGroup ? $"'{g}' is the marker group every managed account keeps; to offboard, move the entry to retired:"
                : Rules.TierGroups(tier).Contains(g) ? $"'{g}' is granted by tier {tier.ToYaml()}, so it can't be revoked as well"
                : g == osUser ? $"'{g}' is the account's own group"
                : null);

        /// <summary>
        /// extra_groups: ordinary groups the person may keep without drift. A privileged group
        /// (built in or settings.privileged_groups) is refused: only a tier grants one. So is the
        /// marker group, the account's own, and a group the entry also revokes.
        /// </summary>
        private List<string> ReadExtraGroups(Dictionary<string, YNode> f, string path, string? osUser, List<string> revoke) =>
            ReadGroupsExcept(f, "extra_groups", path, g =>
                _settings.AllPrivilegedGroups.Contains(g) ? $"'{g}' is a privileged group: only a tier grants one, never extra_groups"
                : g == Rules.MarkerGroup ? $"'{g}' is the marker group every managed account has already"
                : g == osUser ? $"'{g}' is the account's own group"
                : revoke.Contains(g) ? $"'{g}' is also in revoke_groups"
                : null);

        /// <summary>A group list (<see cref="ReadGroups"/>) less the groups <paramref name="refusal"/> gives a reason for, each refused at its own item.</summary>
        private List<string> ReadGroupsExcept(Dictionary<string, YNode> f, string name, string path, Func<string, string?> refusal)
        {
            var groups = ReadGroups(f, name, path);
            if (groups.Count == 0 || !f.TryGetValue(name, out var node) || node is not YSeq seq) return groups;
            var kept = new List<string>();
            foreach (var (g, i) in groups.Select((g, i) => (g, i)))
            {
                if (refusal(g) is { } why)
                    Error(seq.Items.FirstOrDefault(n => n is YScalar s && s.Value == g)?.At ?? node.At, $"{path}.{name}[{i}]", why);
                else kept.Add(g);
            }
            return kept;
        }

        private List<string> ReadNames(Dictionary<string, YNode> f, string name, string path)
        {
            var result = new List<string>();
            if (!f.TryGetValue(name, out var node)) return result;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (item, field) in List(node, $"{path}.{name}"))
            {
                if (Str(item, field) is not { } ns) continue;
                if (!Rules.Dns1123Label().IsMatch(ns))
                    Error(item.At, field, $"'{ns}' is not a DNS-1123 label: {Rules.WhyInvalid(ns, Rules.Dns1123Label())}");
                else if (!seen.Add(ns))
                    Error(item.At, field, $"namespace '{ns}' is listed twice");
                else result.Add(ns);
            }
            return result;
        }

        /// <summary>
        /// external_bindings: namespace → the name of the RoleBinding another stack made there. The
        /// name is what the deploy reads (it can't be guessed), so both sides are checked here.
        /// A tombstone has no namespaces (null): its keys need only be valid namespace names.
        /// </summary>
        private SortedDictionary<string, string> ReadExternalBindings(Dictionary<string, YNode> f, string path, List<string>? namespaces)
        {
            var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (!f.TryGetValue("external_bindings", out var node)) return result;
            var field = path + ".external_bindings";
            if (node is not YMap map)
            {
                Error(node.At, field, "must be a mapping from namespace to the name of the RoleBinding that already binds this user there, e.g. { plotting-book: oidc-ns-owner-anca }");
                return result;
            }
            foreach (var (key, value) in map.Entries)
            {
                var ns = key.Value;
                var at = $"{field}.{YamlTree.Key(ns)}";
                var known = false;
                if (!Rules.Dns1123Label().IsMatch(ns))
                    Error(key.At, at, $"'{ns}' is not a DNS-1123 label: {Rules.WhyInvalid(ns, Rules.Dns1123Label())}");
                else if (namespaces is not null && !namespaces.Contains(ns))
                    Error(key.At, at, $"'{ns}' is not one of this user's namespaces");
                else known = true;

                if (Str(value, at) is not { } name) continue;
                if (name.Length == 0)
                    Error(value.At, at, "the RoleBinding name must not be empty");
                else if (name.Length > Rules.MaxDns1123Subdomain)
                    Error(value.At, at, $"the RoleBinding name is {name.Length} characters long; the limit is {Rules.MaxDns1123Subdomain}");
                else if (!Rules.Dns1123Subdomain().IsMatch(name))
                    Error(value.At, at, $"'{name}' is not a valid RoleBinding name (a DNS-1123 subdomain): {Rules.WhyInvalid(name, Rules.Dns1123Subdomain())}");
                else if (known) result[ns] = name;
            }
            return result;
        }

        /// <summary>cluster_bindings: names of ClusterRoleBindings another stack made (read by name: it can't be guessed).</summary>
        private List<string> ReadClusterBindings(Dictionary<string, YNode> f, string path)
        {
            var result = new List<string>();
            if (!f.TryGetValue("cluster_bindings", out var node)) return result;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (item, field) in List(node, $"{path}.cluster_bindings"))
            {
                if (Str(item, field) is not { } name) continue;
                if (name.Length == 0 || name.Length > Rules.MaxDns1123Subdomain || !Rules.Dns1123Subdomain().IsMatch(name))
                    Error(item.At, field, $"'{name}' is not a valid ClusterRoleBinding name (a DNS-1123 subdomain of at most {Rules.MaxDns1123Subdomain} characters)");
                else if (!seen.Add(name))
                    Error(item.At, field, $"ClusterRoleBinding '{name}' is listed twice");
                else result.Add(name);
            }
            return result;
        }

        private PartialPorts ReadPorts(YNode node, string path)
        {
            if (AsMap(node, path) is not { } map) return new PartialPorts(null, null, node.At);
            var f = Fields(map, path, ["t3", "playwright"], []);
            return new PartialPorts(
                f.TryGetValue("t3", out var t) ? Port(t, path + ".t3") : null,
                f.TryGetValue("playwright", out var p) ? Port(p, path + ".playwright") : null,
                map.At,
                f.GetValueOrDefault("t3")?.At,
                f.GetValueOrDefault("playwright")?.At,
                f.ContainsKey("t3"), f.ContainsKey("playwright"));
        }

        private List<(YScalar Key, T Value)> ReadKeyed<T>(YNode node, string path, Func<YScalar, YNode, T?> read) where T : class
        {
            var result = new List<(YScalar, T)>();
            if (node is YScalar { Plain: true } empty && (empty.Value.Length == 0 || Rules.CoreNonString(empty.Value) == "null")) return result;
            if (AsMap(node, path) is not { } map) return result;
            foreach (var (key, value) in map.Entries)
            {
                if (read(key, value) is { } item) result.Add((key, item));
            }
            return result;
        }

        // --- primitives -----------------------------------------------------------------------

        private YMap? AsMap(YNode node, string path)
        {
            if (node is YMap map) return map;
            Error(node.At, path, "must be a mapping");
            return null;
        }

        /// <summary>Checks keys against the allowed set (typos are errors) and the required set.</summary>
        private Dictionary<string, YNode> Fields(YMap map, string path, string[] allowed, string[] required)
        {
            var result = new Dictionary<string, YNode>(StringComparer.Ordinal);
            HashSet<string>? hinted = null;
            foreach (var (key, value) in map.Entries)
            {
                if (!allowed.Contains(key.Value))
                {
                    var field = path.Length == 0 ? YamlTree.Key(key.Value) : $"{path}.{YamlTree.Key(key.Value)}";
                    var hint = Closest(key.Value, allowed);
                    if (hint is not null) (hinted ??= new HashSet<string>(StringComparer.Ordinal)).Add(hint);
                    Error(key.At, field, $"unknown key '{key.Value}'" + (hint is null ? $" (allowed: {string.Join(", ", allowed)})" : $" (did you mean '{hint}'?)"));
                    continue;
                }
                result[key.Value] = value;
            }
            // A refused merge key ("<<: *a") may have been meant to supply every field: don't echo it.
            if (map.Refused.Contains("<<")) return result;
            // A key refused (and reported) or misspelt (reported with "did you mean") is not also missing.
            foreach (var name in required.Where(r => !result.ContainsKey(r) && !map.Refused.Contains(r) && !(hinted?.Contains(r) ?? false)))
            {
                if (name == "ports") continue; // reported with a suggested pin by the cross-check
                Error(map.At, path.Length == 0 ? name : $"{path}.{name}", "is required");
            }
            return result;
        }

        private IEnumerable<(YNode Item, string Field)> List(YNode node, string path)
        {
            if (node is not YSeq seq)
            {
                Error(node.At, path, "must be a list");
                yield break;
            }
            for (var i = 0; i < seq.Items.Count; i++) yield return (seq.Items[i], $"{path}[{i}]");
        }

        private string? Str(YNode node, string field)
        {
            if (node is YScalar s && !(s.Plain && Rules.CoreNonString(s.Value) is not null)) return s.Value;
            Error(node.At, field, node is YScalar v
                ? $"must be a string, got the {Rules.CoreNonString(v.Value)} {v.Value} (quote it: \"{v.Value}\")"
                : "must be a string");
            return null;
        }

        private int? Int(YNode node, string field)
        {
            if (node is YScalar { Plain: true } s && s.Value.All(char.IsAsciiDigit) && s.Value.Length is > 0 and < 10)
                return int.Parse(s.Value, CultureInfo.InvariantCulture);
            Error(node.At, field, $"must be a whole number, got {Show(node)}");
            return null;
        }

        private int? Port(YNode node, string field)
        {
            var value = Int(node, field);
            if (value is < Rules.MinPort or > Rules.MaxPort)
            {
                Error(node.At, field, $"port {value} is outside {Rules.MinPort}-{Rules.MaxPort}");
                return null;
            }
            return value;
        }

        private bool? Bool(YNode node, string field)
        {
            if (node is YScalar { Plain: true, Value: "true" or "false" } s) return s.Value == "true";
            Error(node.At, field, $"must be true or false, got {Show(node)}");
            return null;
        }

        /// <summary>One of a fixed set of words (e.g. memory: shared or none); anything else names them all.</summary>
        private T? Choice<T>(YNode node, string field, T[] values, Func<T, string> word) where T : struct
        {
            if (node is YScalar s)
            {
                foreach (var v in values)
                {
                    if (word(v) == s.Value) return v;
                }
            }
            var words = values.Select(word).ToList();
            Error(node.At, field, $"must be {string.Join(", ", words.SkipLast(1))} or {words[^1]}, got {Show(node)}");
            return null;
        }

        private static string Show(YNode node) => node switch
        {
            YScalar s => $"'{s.Value}'",
            YMap => "a mapping",
            _ => "a list",
        };

        private static string? Closest(string key, string[] allowed) =>
            allowed.Select(a => (a, d: Distance(key, a))).Where(x => x.d <= 2).OrderBy(x => x.d).Select(x => x.a).FirstOrDefault();

        private static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (var j = 0; j <= b.Length; j++) d[0, j] = j;
            for (var i = 1; i <= a.Length; i++)
                for (var j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }

        public void Report(Loc at, string field, string message) => Error(at, field, message);
    }

    /// <summary>Ports as written: either may be missing, and we remember where they were.</summary>
    internal sealed record PartialPorts(int? T3, int? Playwright, Loc At, Loc? T3At = null, Loc? PlaywrightAt = null, bool T3Written = false, bool PlaywrightWritten = false);

    /// <summary>A parsed entry plus where its parts stand in the file.</summary>
    internal sealed record Located<T>(T Value, string Path, Loc NameAt, Dictionary<string, YNode> Fields, PartialPorts Ports, Loc At);

    /// <summary>Rules that span entries: uniqueness, reserved names, port and uid reservations.</summary>
    private sealed class CrossCheck(Reader reader, RosterSettings settings)
    {
        public void Run(Located<Person> admin, List<(YScalar Key, Located<Person> Value)> users, List<(YScalar Key, Located<RetiredUser> Value)> retired)
        {
            var people = users.Select(u => u.Value).Prepend(admin).ToList();
            // Sized up front: with tens of thousands of users, growing these is most of their cost.
            var count = people.Count + retired.Count;
            var names = new Dictionary<string, string>(count, StringComparer.Ordinal);
            foreach (var p in people) CheckOsUser(p.Value.OsUser, p.Path, p.NameAt, names);
            foreach (var (_, r) in retired) CheckOsUser(r.Value.OsUser, r.Path, r.NameAt, names);
            CheckSliceNesting(people.Select(p => (p.Value.OsUser, p.Path, p.NameAt)).Concat(retired.Select(r => (r.Value.Value.OsUser, r.Value.Path, r.Value.NameAt))), names);

            var authentik = new Dictionary<string, string>(people.Count, StringComparer.OrdinalIgnoreCase);
            var k8s = new Dictionary<string, string>(people.Count, StringComparer.Ordinal);
            var emails = new Dictionary<string, string>(people.Count, StringComparer.OrdinalIgnoreCase);
            // A tombstone's authentik_user names its Vault alias, and an alias name is unique on the mount:
            // reserved first, so reuse is reported at the new user.
            foreach (var (_, r) in retired)
            {
                if (r.Value.AuthentikUser is not { } login || !r.Fields.TryGetValue("authentik_user", out var an)) continue;
                if (authentik.TryGetValue(login, out var first))
                    reader.Report(an.At, r.Path + ".authentik_user", $"authentik_user '{login}' is already used by {first}");
                else authentik[login] = $"retired user '{r.Value.OsUser}' (its Vault alias keeps that login)";
            }
            foreach (var p in people)
            {
                CheckIdentity(p, "authentik_user", p.Value.AuthentikUser, Rules.AuthentikUser(), authentik);
                CheckIdentity(p, "k8s_user", p.Value.K8sUser, Rules.K8sUser(), k8s);
                if (reader.Claim == Access.VaultUserClaim.Email && p.Value.Email is null)
                    reader.Report(p.At, p.Path + ".email",
                        $"required: the stack's Vault OIDC role names logins by email ({StackFile.Project}:{Access.VaultUserClaims.ConfigKey}: email), so the email names this person's Vault alias");
                if (p.Value.Email is not { } email || !p.Fields.TryGetValue("email", out var en)) continue;
                if (!Rules.Email().IsMatch(email))
                    reader.Report(en.At, p.Path + ".email", $"'{email}' is not a valid email address: {Rules.WhyInvalid(email, Rules.Email())}");
                else if (emails.TryGetValue(email, out var first))
                    reader.Report(en.At, p.Path + ".email", $"email '{email}' is already used by {first} (it names the Kubernetes user)");
                else emails[email] = p.Path;
            }

            // Retired reservations first, so reuse of a retired uid is reported at the new user.
            var uids = new Dictionary<int, string>(count);
            foreach (var (_, r) in retired) CheckUid(r.Value.Uid, r.Path, r.Fields, uids, retiredOwner: r.Value.OsUser);
            foreach (var p in people) CheckUid(p.Value.Uid, p.Path, p.Fields, uids, retiredOwner: null);

            CheckPorts(people, retired.Select(r => r.Value).ToList());
        }

        private void CheckOsUser(string name, string path, Loc at, Dictionary<string, string> seen)
        {
            var field = path == "admin" ? "admin.os_user" : path;
            if (name.Length == 0) return; // already reported as missing
            if (!Rules.OsUser().IsMatch(name))
                reader.Report(at, field, Rules.AccountName().IsMatch(name)
                    ? $"'{name}' is not a valid os_user: it becomes part of Kubernetes object names and labels, so it must match {Rules.Display(Rules.OsUser())} (no '_', a letter first, a letter or digit last)"
                    : $"'{name}' is not a valid os_user: {Rules.WhyInvalid(name, Rules.OsUser())}");
            else if (Rules.ReservedUsers.Contains(name))
                reader.Report(at, field, $"'{name}' is a reserved system account and can't be managed");
            else if (Rules.ReservedGroupNames.Contains(name) || settings.PrivilegedGroups.Contains(name))
                reader.Report(at, field, $"'{name}' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user");
            else if (settings.DenyUsers.Contains(name))
                reader.Report(at, field, $"'{name}' is on settings.deny_users and can't be managed");
            if (seen.TryGetValue(name, out var first))
                reader.Report(at, field, $"os_user '{name}' is already used by {first}");
            else seen[name] = path;
        }

        /// <summary>
        /// systemd reads '-' in a slice name as nesting: workstation-mo-ri.slice sits under
        /// workstation-mo.slice, so mo's budget would also cover mo-ri. Refused at the longer name.
        /// </summary>
        private void CheckSliceNesting(IEnumerable<(string Name, string Path, Loc At)> entries, Dictionary<string, string> names)
        {
            foreach (var (name, path, at) in entries)
            {
                for (var i = name.IndexOf('-', StringComparison.Ordinal); i > 0; i = name.IndexOf('-', i + 1))
                {
                    var outer = name[..i];
                    if (!names.TryGetValue(outer, out var owner)) continue;
                    reader.Report(at, path == "admin" ? "admin.os_user" : path,
                        $"'{name}' would run inside the slice of '{outer}' ({owner}): systemd nests workstation-{name}.slice under workstation-{outer}.slice, " +
                        $"so {outer}'s budget would cover {name} too; choose a name that does not start with '{outer}-'");
                    break;
                }
            }
        }

        private void CheckIdentity(Located<Person> p, string key, string value, System.Text.RegularExpressions.Regex pattern, Dictionary<string, string> seen)
        {
            if (!p.Fields.TryGetValue(key, out var node) || node is not YScalar s || (s.Plain && Rules.CoreNonString(s.Value) is not null)) return; // reported by Str
            var field = $"{p.Path}.{key}";
            if (value.Length == 0 || !pattern.IsMatch(value))
            {
                reader.Report(node.At, field, value.Length == 0 ? "must not be empty" : $"'{value}' is not valid: {Rules.WhyInvalid(value, pattern)}");
                return;
            }
            if (seen.TryGetValue(value, out var first))
                reader.Report(node.At, field, $"{key} '{value}' is already used by {first}");
            else seen[value] = p.Path;
        }

        private void CheckUid(int? uid, string path, Dictionary<string, YNode> fields, Dictionary<int, string> seen, string? retiredOwner)
        {
            if (uid is not { } value || !fields.TryGetValue("uid", out var node)) return;
            if (value is < Rules.MinUid or > Rules.MaxUid)
            {
                reader.Report(node.At, path + ".uid", $"uid {value} is outside {Rules.MinUid}-{Rules.MaxUid}");
                return;
            }
            if (seen.TryGetValue(value, out var first))
                reader.Report(node.At, path + ".uid", $"uid {value} is already used by {first}");
            else seen[value] = retiredOwner is null ? path : $"retired user '{retiredOwner}' (reserved for them)";
        }

        private void CheckPorts(List<Located<Person>> people, List<Located<RetiredUser>> retired)
        {
            // Retired reservations come first, so any reuse is reported against the tombstone.
            var owners = new Dictionary<int, string>(2 * (people.Count + retired.Count));
            void Claim(int? port, Loc? at, string field, string owner)
            {
                if (port is not { } p || at is not { } loc) return;
                if (owners.TryGetValue(p, out var first))
                    reader.Report(loc, field, $"port {p} is already used by {first}");
                else owners[p] = owner;
            }
            foreach (var r in retired)
            {
                var why = $"retired user '{r.Value.OsUser}' (ports of retired users are never reused)";
                Claim(r.Ports.T3, r.Ports.T3At, r.Path + ".ports.t3", why);
                Claim(r.Ports.Playwright, r.Ports.PlaywrightAt, r.Path + ".ports.playwright", why);
                if (!r.Ports.T3Written || !r.Ports.PlaywrightWritten)
                    reader.Report(r.Ports.At, r.Path + ".ports", "a retired user keeps both ports (t3 and playwright)");
            }
            foreach (var p in people)
            {
                Claim(p.Ports.T3, p.Ports.T3At, p.Path + ".ports.t3", p.Path + ".ports.t3");
                Claim(p.Ports.Playwright, p.Ports.PlaywrightAt, p.Path + ".ports.playwright", p.Path + ".ports.playwright");
            }

            // Unpinned ports: suggest the lowest free port from each base, in file order, so the
            // suggestion is deterministic and never moves anyone who is pinned.
            var taken = new HashSet<int>(owners.Keys);
            var cursors = new Dictionary<int, int>();
            foreach (var p in people)
            {
                var needT3 = !p.Ports.T3Written;
                var needPw = !p.Ports.PlaywrightWritten;
                if (!needT3 && !needPw) continue;
                // A written but invalid value (already reported) also gets a suggestion, so the line is pasteable.
                var t3 = p.Ports.T3 ?? NextFree(settings.T3BasePort, taken, cursors);
                var pw = p.Ports.Playwright ?? NextFree(settings.PlaywrightBasePort, taken, cursors);
                var line = $"ports: {{ t3: {t3}, playwright: {pw} }}";
                var what = needT3 && needPw ? "no ports are pinned" : needT3 ? "the t3 port is not pinned" : "the playwright port is not pinned";
                reader.Report(p.Fields.ContainsKey("ports") ? p.Ports.At : p.At, p.Path + ".ports", $"{what}; pin the next free ports with:  {line}");
            }
        }

        /// <summary>
        /// The lowest free port at or above <paramref name="from"/>, or past MaxPort, the lowest
        /// free one from MinPort on (never a taken one). Ports are only ever added to
        /// <paramref name="taken"/>, so each base's scan resumes where it stopped: linear overall.
        /// </summary>
        private static int NextFree(int from, HashSet<int> taken, Dictionary<int, int> cursors)
        {
            var port = cursors.GetValueOrDefault(from, from);
            for (var tried = 0; taken.Contains(port) && tried <= Rules.MaxPort - Rules.MinPort; tried++)
                port = port == Rules.MaxPort ? Rules.MinPort : port + 1;
            taken.Add(port);
            cursors[from] = port;
            return port;
        }
    }
}
