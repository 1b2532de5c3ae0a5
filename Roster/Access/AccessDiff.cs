using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using static Workstation.Roster.JsonArrays;

namespace Workstation.Roster.Access;

/// <summary>The four places a person has access.</summary>
public enum DiffLayer { Host, Kubernetes, Vault, Authentik }

/// <summary>
/// One fact of a person's access, in words a reviewer reads (e.g. "admin in namespace team-b").
/// Secret: the shared secret the fact is about (a host fact: the secrets step stages it), if any.
/// External: the binding another stack owns that the fact is about, if any: losing it revokes nothing.
/// </summary>
public sealed record AccessFact(DiffLayer Layer, string Text, SharedSecret? Secret = null, ForeignBinding? External = null);

/// <summary>
/// A binding another stack made for a person (roster external_bindings: a RoleBinding, Namespace
/// set; cluster_bindings: a ClusterRoleBinding). Workstation reads it, never owns or removes it.
/// </summary>
public sealed record ForeignBinding(string Kind, string? Namespace, string Name, K8sSubject Subject, string Grants)
{
    /// <summary>namespace/name, or the name of a cluster-wide one.</summary>
    public string Id => Namespace is null ? Name : $"{Namespace}/{Name}";

    public override string ToString() => $"{Kind} {Id}";
}

/// <summary>One gained (+) or lost (−) fact.</summary>
public sealed record AccessChange(DiffLayer Layer, bool Gained, string Text, SharedSecret? Secret = null);

/// <summary>
/// What changes for one person between two rosters; State is active, retired, purged or absent.
/// Rotate: for a person active in BASE and retired or gone in HEAD, every shared secret they held
/// (sorted by name): shared values they keep knowing, so each is rotated in Vault.
/// StillToRemove: bindings another stack made for the person that the roster no longer names
/// (they left, or the entry dropped it): Workstation never owned them, so nothing here removes
/// them; they are not in Changes, since that access is not lost until their owner drops it.
/// </summary>
public sealed record PersonDiff(string OsUser, string Before, string After, IReadOnlyList<AccessChange> Changes)
{
    public IReadOnlyList<SharedSecret> Rotate { get; init; } = [];

    public IReadOnlyList<ForeignBinding> StillToRemove { get; init; } = [];

    /// <summary>A move between hosts (issue 27 §2): the roster's host: changed; null: none.</summary>
    public HostMove? Move { get; init; }
}

/// <summary>A person moving from one devvm to another, and the steps the one `up` takes, in order.</summary>
public sealed record HostMove(string From, string To, IReadOnlyList<string> Steps)
{
    public static HostMove Of(string from, string to, int? uid) => new(from, to,
    [
        $"on {from}: `user move-out`: the offboarding cut (services stopped, account locked), then a final restic snapshot of the home",
        $"on {to}: `user move-in --uid {(uid is { } u ? u.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")}`: the account with the same uid, the home restored from that snapshot",
        $"on {to}: the account, code, services and secrets steps",
        $"{from} keeps the account cut (reversible) until a purge there; the edge's fleetRoutes and each host's maps follow",
    ]);
}

/// <summary>A change a reviewer should look at twice.</summary>
public sealed record DiffWarning(string OsUser, string Text);

public sealed record RosterDiff(IReadOnlyList<PersonDiff> People, IReadOnlyList<DiffWarning> Warnings);

/// <summary>
/// `roster diff BASE HEAD`: who gains and who loses what, on the host, in the cluster, in Vault
/// and at the edge. Pure (no credentials) and built from the same access model the components
/// map to resources (Derivation, K8sAccess, VaultAccess, AuthentikAccess), so it can't drift
/// from them. Deterministic: people by os_user, facts in a fixed layer order, then by text.
/// </summary>
public static class AccessDiffs
{
    public const string Absent = "absent";

    /// <param name="handMadeEntries">Whose playwright MCP entry the host reports as made by hand (`--status`): the host leaves it alone.</param>
    public static RosterDiff Diff(DerivedRoster before, DerivedRoster after, VaultOptions? vault = null, IReadOnlySet<string>? handMadeEntries = null)
    {
        vault ??= VaultOptions.Default;
        handMadeEntries ??= new HashSet<string>(StringComparer.Ordinal);
        var a = Facts(before, vault);
        var b = Facts(after, vault);
        var people = new List<PersonDiff>();
        var warnings = new List<DiffWarning>();
        foreach (var name in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            var (stateA, factsA) = a.GetValueOrDefault(name, (Absent, []));
            var (stateB, factsB) = b.GetValueOrDefault(name, (Absent, []));
            var lost = factsA.Except(factsB).ToList();
            // Another stack's binding the roster stops naming stays in the cluster: not a loss, a to-do.
            var leftovers = lost.Select(f => f.External).OfType<ForeignBinding>()
                .OrderBy(e => e.Kind, StringComparer.Ordinal).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
            var changes = lost.Where(f => f.External is null).Select(f => new AccessChange(f.Layer, false, f.Text, f.Secret))
                .Concat(factsB.Except(factsA).Select(f => new AccessChange(f.Layer, true, f.Text, f.Secret)))
                .OrderBy(c => c.Layer).ThenBy(c => c.Gained).ThenBy(c => c.Text, StringComparer.Ordinal).ToList();
            var (memberA, memberB) = (Member(before, name), Member(after, name));
            var move = MoveOf(memberA, memberB);
            if (changes.Count == 0 && leftovers.Count == 0 && stateA == stateB && move is null) continue;
            var rotate = memberA is Roster.Member.Active { User: var held } && memberB is not Roster.Member.Active
                // A person's own kube token is theirs alone: nobody else's copy to rotate.
                ? held.Secrets.Where(x => !x.IsPersonal()).ToList() : [];
            people.Add(new PersonDiff(name, stateA, stateB, changes) { Rotate = rotate, StillToRemove = leftovers, Move = move });
            if (move is not null && memberB is Roster.Member.Active { User.MovedFrom: null })
                warnings.Add(new(name, $"moves from host {move.From} to {move.To} without `moved_from: {move.From}`: without it nothing carries the home over; " +
                    $"add `moved_from: {move.From}` (and a pinned uid:) to the entry"));
            warnings.AddRange(Warn(name, memberA, memberB, leftovers));
            if (EntryWarning(memberA, memberB, handMadeEntries.Contains(name)) is { } entry) warnings.Add(new(name, entry));
        }
        return new RosterDiff(people, warnings);
    }

    /// <summary>A host: change of an active person (from their old host:, or the moved_from: the head names), or null.</summary>
    private static HostMove? MoveOf(Member? a, Member? b)
    {
        if (a is not Roster.Member.Active { User: var before } || b is not Roster.Member.Active { User: var after } || after.Host is not { } to) return null;
        var from = before.Host ?? after.MovedFrom;
        if (from is null || from == to || (before.Host == after.Host && before.MovedFrom == after.MovedFrom)) return null;
        return HostMove.Of(from, to, after.Uid);
    }

    private static Member? Member(DerivedRoster r, string osUser) => r.Members.FirstOrDefault(m => m.OsUser == osUser);

    /// <summary>Every person's state and access facts, by os_user.</summary>
    public static IReadOnlyDictionary<string, (string State, IReadOnlyList<AccessFact> Facts)> Facts(DerivedRoster roster, VaultOptions vault)
    {
        var k8s = K8sOptions.From(roster.Settings);
        var members = AuthentikAccess.Members(roster).ToHashSet(StringComparer.Ordinal);
        var result = new SortedDictionary<string, (string, IReadOnlyList<AccessFact>)>(StringComparer.Ordinal);
        foreach (var m in roster.Members)
        {
            result[m.OsUser] = m switch
            {
                Member.Active { User: var u } => (m.State, ActiveFacts(u, k8s, vault, members)),
                Member.Retired { Tombstone: var t } => (m.State, RetiredFacts(t, vault)),
                _ => throw new InvalidOperationException($"unknown member {m.GetType().Name}"),
            };
        }
        return result;
    }

    private static List<AccessFact> ActiveFacts(DerivedUser u, K8sOptions k8s, VaultOptions vault, HashSet<string> members)
    {
        var facts = new List<AccessFact>
        {
            Host($"account {u.OsUser}{(u.Uid is { } uid ? $" (uid {uid})" : "")}: active, can log in"),
            Host($"tier {u.Tier.ToYaml()}"),
            Host($"t3 port {u.Ports.T3}"),
            Host($"playwright port {u.Ports.Playwright}"),
        };
        facts.AddRange(u.TierGroups.Select(g => Host($"group {g}{(Rules.PrivilegedGroups.Contains(g) ? " (privileged)" : "")}")));
        facts.AddRange(u.Services.Select(s => Host($"service {s}")));
        facts.AddRange(u.RevokeGroups.Select(g => Host($"revokes group {g}")));
        facts.AddRange(u.ExtraGroups.Select(g => Host($"may keep group {g} (extra_groups)")));
        if (u.PrivateHome) facts.Add(Host("home made private (0700)"));
        var budget = u.Budget;
        facts.Add(Host($"memory budget {Sizes.Human(budget.MemoryHigh)} (hard cap {Sizes.Human(budget.MemoryMax)})"));
        facts.Add(Host($"cpu weight {budget.CpuWeight}, at most {budget.TasksMax} tasks"));
        facts.AddRange(u.Secrets.Select(s => new AccessFact(DiffLayer.Host, SecretFact(s), s)));

        var access = K8sAccess.For(u, k8s);
        foreach (var b in access.Bindings)
        {
            facts.Add(new AccessFact(DiffLayer.Kubernetes, b.Namespace is null
                ? $"{RoleInWords(b.RoleRefName)} cluster-wide ({b.Kind} {b.Name} → {b.RoleRefKind} {b.RoleRefName})"
                : $"{RoleInWords(b.RoleRefName)} in namespace {b.Namespace} ({b.Kind} {b.Name} → {b.RoleRefKind} {b.RoleRefName})"));
        }
        foreach (var e in access.ExternalBindings)
            facts.Add(new AccessFact(DiffLayer.Kubernetes,
                $"{RoleInWords(e.RoleRefName)} in namespace {e.Namespace} through another stack's RoleBinding {e.BindingName} (checked, not owned)",
                External: new ForeignBinding(K8sAccess.RoleBinding, e.Namespace, e.BindingName, e.Subject, $"{e.RoleRefKind} {e.RoleRefName}")));
        foreach (var c in access.ClusterBindings)
            facts.Add(new AccessFact(DiffLayer.Kubernetes,
                $"cluster-wide through another stack's ClusterRoleBinding {c.BindingName} (held to the tier at every preview, not owned)",
                External: new ForeignBinding(K8sAccess.ClusterRoleBinding, null, c.BindingName, c.Subject, "what its ClusterRole grants")));

        var v = VaultAccess.For(u, vault);
        facts.Add(new AccessFact(DiffLayer.Vault, $"entity {v.Entity.Name}: enabled, policy {v.Policy.Name}"));
        facts.Add(new AccessFact(DiffLayer.Vault, $"login {v.Alias.Name} on auth/{v.Alias.MountPath} maps to entity {v.Entity.Name}"));
        facts.AddRange(VaultAccess.Grants(u.OsUser, vault).Select(g => new AccessFact(DiffLayer.Vault, $"{string.Join(", ", g.Capabilities)} on {g.Path}")));

        if (members.Contains(u.AuthentikUser))
            facts.Add(new AccessFact(DiffLayer.Authentik, $"{u.AuthentikUser} in group {AuthentikAccess.GroupName}: reaches the workstation edge"));
        return facts;

        static AccessFact Host(string text) => new(DiffLayer.Host, text);
    }

    private static List<AccessFact> RetiredFacts(RetiredUser t, VaultOptions vault)
    {
        var facts = new List<AccessFact>
        {
            new(DiffLayer.Host, $"t3 port {t.Ports.T3} reserved"),
            new(DiffLayer.Host, $"playwright port {t.Ports.Playwright} reserved"),
        };
        var uid = t.Uid is { } u ? $" (uid {u})" : "";
        if (t.Purge)
        {
            facts.Add(new(DiffLayer.Host, $"account {t.OsUser}{uid}: purged (home archived, account deleted)"));
            return facts;
        }
        facts.Add(new(DiffLayer.Host, $"account {t.OsUser}{uid}: cut (locked and expired, home kept)"));
        facts.Add(new(DiffLayer.Vault, $"entity {t.OsUser}: disabled, policy {VaultAccess.PolicyName(t.OsUser)} detached"));
        if (VaultAccess.AliasName(t, vault.UserClaim) is { } login)
            facts.Add(new(DiffLayer.Vault, $"login {login} maps to the disabled entity {t.OsUser} (refused)"));
        return facts;
    }

    /// <summary>A shared secret the secrets step stages in the person's home, and where it lands.</summary>
    public static string SecretFact(SharedSecret s) => $"shared secret {s.Name()} → {s.Where()}";

    private static string RoleInWords(string clusterRole) => clusterRole switch
    {
        K8sAccess.PowerUserRoleName => "read (get, list, watch)",
        "admin" => "admin (read and write, no RBAC or quota changes)",
        _ => $"ClusterRole {clusterRole}",
    };

    private static IEnumerable<DiffWarning> Warn(string name, Member? before, Member? after, IReadOnlyList<ForeignBinding> leftovers)
    {
        // What offboarding leaves in the cluster, said where it claims what it revokes.
        var stays = leftovers.Count == 0 ? "" :
            $"{string.Join(", ", leftovers)} {(leftovers.Count == 1 ? "stays" : "stay")} " +
            "(another stack's): remove by hand, see below";
        var a = (before as Member.Active)?.User;
        var b = (after as Member.Active)?.User;
        if (b is not null)
        {
            foreach (var g in b.TierGroups.Where(g => Rules.PrivilegedGroups.Contains(g) && !(a?.TierGroups.Contains(g) ?? false)))
                yield return new(name, $"gains the privileged group {g} (root-equivalent on the devvm)");
            foreach (var g in b.RevokeGroups.Where(g => !(a?.RevokeGroups.Contains(g) ?? false)))
                yield return new(name, $"revoke_groups takes the group {g} away");
            if (b.Tier == Tier.NamespaceOwner)
                foreach (var ns in b.Namespaces.Where(ns => !(a is { Tier: Tier.NamespaceOwner } && a.Namespaces.Contains(ns))))
                    yield return new(name, $"new namespace-owner namespace {ns}: admin there");
        }
        var portsA = a?.Ports ?? (before as Member.Retired)?.Tombstone.Ports;
        var portsB = b?.Ports ?? (after as Member.Retired)?.Tombstone.Ports;
        if (portsA is not null && portsB is not null && portsA != portsB)
            yield return new(name, $"ports move: t3 {portsA.T3} → {portsB.T3}, playwright {portsA.Playwright} → {portsB.Playwright}");
        if (before is Member.Active && after is Member.Retired)
            yield return new(name, leftovers.Count == 0
                ? "retired: the account is cut, cluster and Vault access revoked"
                : $"retired: the account is cut, Vault access and Workstation's own cluster bindings revoked; {stays}");
        if (after is Member.Retired { Tombstone.Purge: true } && before is not Member.Retired { Tombstone.Purge: true })
            yield return new(name, "purge: the home is archived, then the account and the Vault identity are deleted");
        if (before is not null && after is null)
            yield return new(name, "removed outright: cut, and the Vault identity deleted; nothing stays reserved" + (stays.Length == 0 ? "" : $"; {stays}"));
        if (before is Member.Active && after is Member.Active && leftovers.Count > 0)
            yield return new(name, $"external_bindings no longer names it: {stays}");
        if (a is { Secrets.Count: > 0 } && b is null)
            yield return new(name, $"held the shared secrets {string.Join(", ", a.Secrets.Select(SharedSecrets.Name))}: rotate each in Vault, then bump its serial");
    }

    /// <summary>
    /// A playwright port that moves for someone who stays: the services step repoints the MCP entry
    /// it wrote once the server restarts there; one the host reports as made by hand it leaves alone.
    /// </summary>
    private static string? EntryWarning(Member? before, Member? after, bool handMade)
    {
        if (before is not Member.Active { User.Ports.Playwright: var from } || after is not Member.Active { User.Ports.Playwright: var to } || from == to) return null;
        return handMade
            ? $"playwright entry needs the person to repoint it to port {to}: theirs, made by hand (`--status`), so the host leaves it on {from}"
            : $"playwright entry will be repointed from port {from} to {to} in ~/.claude.json (once the server restarts there, when its person is idle)";
    }

    private static string Sign(bool gained) => gained ? "+" : "−";

    /// <summary>Markdown for a PR comment.</summary>
    public static string Markdown(RosterDiff diff, string baseName, string headName)
    {
        var sb = new StringBuilder();
        sb.Append("## Roster access diff: `").Append(baseName).Append("` → `").Append(headName).Append("`\n\n");
        if (diff.People.Count == 0)
        {
            sb.Append("No change in anyone's access.\n");
            return sb.ToString();
        }
        if (diff.Warnings.Count > 0)
        {
            sb.Append("### Look twice\n\n");
            foreach (var w in diff.Warnings) sb.Append("- ⚠ **").Append(w.OsUser).Append("** ").Append(w.Text).Append('\n');
            sb.Append('\n');
        }
        foreach (var p in diff.People)
        {
            sb.Append("### ").Append(p.OsUser).Append(" (").Append(p.Before == p.After ? p.After : $"{p.Before} → {p.After}").Append(")\n\n");
            if (p.Move is { } move)
            {
                sb.Append("Moves from host `").Append(move.From).Append("` to `").Append(move.To).Append("`, in one `up`, in this order:\n\n");
                foreach (var (step, i) in move.Steps.Select((x, i) => (x, i))) sb.Append(i + 1).Append(". ").Append(step).Append('\n');
                sb.Append('\n');
            }
            if (p.Changes.Count == 0)
            {
                sb.Append("No change in access.\n\n");
            }
            else
            {
                sb.Append("| layer | | change |\n| --- | --- | --- |\n");
                foreach (var c in p.Changes)
                    sb.Append("| ").Append(LayerName(c.Layer)).Append(" | ").Append(Sign(c.Gained)).Append(" | ").Append(c.Text.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |\n");
                sb.Append('\n');
                Revoke(sb, p);
            }
            StillToRemove(sb, p);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The shared secrets a person who leaves held: they know the values, and everyone eligible
    /// shares them, so taking their copy away is not enough. Each is rotated in Vault; the serial
    /// bump then makes the secrets step rewrite it for everyone still eligible.
    /// </summary>
    private static void Revoke(StringBuilder sb, PersonDiff p)
    {
        if (p.Rotate.Count == 0) return;
        sb.Append("#### Revoke: the shared secrets ").Append(p.OsUser).Append(" held\n\n");
        sb.Append("These are shared: everyone eligible holds the same value, and ").Append(p.OsUser)
            .Append(" still knows it after leaving. Rotate each in Vault, then bump its serial (`")
            .Append(SharedSecrets.NextSerial).Append("`: one more than its value in the stack's `rotate` config) ")
            .Append("so the secrets step rewrites it for everyone still eligible:\n\n");
        foreach (var s in p.Rotate) sb.Append("- `").Append(s.Name()).Append("` → ").Append(s.Where()).Append('\n');
        sb.Append("\n```sh\n");
        foreach (var s in p.Rotate) sb.Append(SharedSecrets.RotationLine(s)).Append('\n');
        sb.Append("```\n\n");
    }

    /// <summary>
    /// The bindings another stack made for the person that nothing here removes: the change to
    /// make in that stack, and the read-only command that shows whether it is done.
    /// </summary>
    private static void StillToRemove(StringBuilder sb, PersonDiff p)
    {
        if (p.StillToRemove.Count == 0) return;
        sb.Append("#### Still to remove by hand: what another stack grants ").Append(p.OsUser).Append("\n\n");
        sb.Append("Workstation never made these bindings, so nothing it does removes them: ").Append(p.OsUser)
            .Append(" keeps this access in the cluster until the stack that owns each binding drops it. ")
            .Append("Make the change there (in the seed's RBAC stack: the person's `k8s_users` entry), then check:\n\n");
        foreach (var e in p.StillToRemove) sb.Append("- ").Append(HandChange(e)).Append('\n');
        sb.Append("\n```sh\n");
        foreach (var e in p.StillToRemove) sb.Append(CheckLine(e)).Append('\n');
        sb.Append("```\n\n");
    }

    /// <summary>The change to make in the stack that owns the binding.</summary>
    public static string HandChange(ForeignBinding e) =>
        $"{e.Kind} `{e.Name}`{(e.Namespace is null ? "" : $" in namespace `{e.Namespace}`")}: remove the subject `{e.Subject.Kind} {e.Subject.Name}` " +
        $"(or the binding, if it binds no one else; it grants {e.Grants})";

    /// <summary>A read-only check of the binding's subjects: done when the person is not listed (or the binding is not found).</summary>
    public static string CheckLine(ForeignBinding e) =>
        $"kubectl {(e.Namespace is null ? "" : $"-n {e.Namespace} ")}get {e.Kind.ToLowerInvariant()} {e.Name} -o jsonpath='{{.subjects}}'  # done when {e.Subject.Name} is not listed";

    /// <summary>The same as JSON (indented, LF, trailing newline).</summary>
    public static string Json(RosterDiff diff)
    {
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, NewLine = "\n" };
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, options))
        {
            w.WriteStartObject();
            Objects(w, "people", diff.People, p =>
            {
                w.WriteString("os_user", p.OsUser);
                w.WriteString("before", p.Before);
                w.WriteString("after", p.After);
                if (p.Move is { } move)
                {
                    w.WriteStartObject("move");
                    w.WriteString("from", move.From);
                    w.WriteString("to", move.To);
                    Strings(w, "steps", move.Steps);
                    w.WriteEndObject();
                }
                Objects(w, "changes", p.Changes, c =>
                {
                    w.WriteString("layer", LayerName(c.Layer));
                    w.WriteString("change", c.Gained ? "gained" : "lost");
                    w.WriteString("what", c.Text);
                    if (c.Secret is { } secret) w.WriteString("secret", secret.Name());
                });
                Objects(w, "rotate", p.Rotate, s =>
                {
                    w.WriteString("secret", s.Name());
                    w.WriteString("where", s.Where());
                    w.WriteString("line", SharedSecrets.RotationLine(s));
                });
                Objects(w, "still_to_remove", p.StillToRemove, e =>
                {
                    w.WriteString("binding", e.Id);
                    w.WriteString("subject", $"{e.Subject.Kind} {e.Subject.Name}");
                    w.WriteString("change", HandChange(e));
                    w.WriteString("check", CheckLine(e));
                });
            });
            Objects(w, "warnings", diff.Warnings, x =>
            {
                w.WriteString("os_user", x.OsUser);
                w.WriteString("warning", x.Text);
            });
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static string LayerName(DiffLayer layer) => layer switch
    {
        DiffLayer.Host => "host",
        DiffLayer.Kubernetes => "kubernetes",
        DiffLayer.Vault => "vault",
        DiffLayer.Authentik => "authentik",
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };
}
