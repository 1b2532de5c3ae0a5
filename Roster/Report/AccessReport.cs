using System.Globalization;
using System.Text.Json;
using Workstation.Roster.Access;

namespace Workstation.Roster.Report;

/// <summary>One host's `workstation status --json`, named after its file (alpha.json: alpha).</summary>
public sealed record HostStatus(string Host, JsonElement Report);

/// <summary>What one host says of one person, beside the roster: its state and the facts where they differ (from <see cref="Drift"/>).</summary>
/// <param name="LastLogin">The host's last login record of the person (`last_login`); null: a host whose status doesn't report one.</param>
/// <param name="CutAt">When the host recorded the cut (`cut_at`: the time of /etc/workstation/suspended/USER); null: not cut, or a host that doesn't say.</param>
/// <param name="Cut">The cut probes (`cut` in the status), as the host wrote them: name and value; empty when the host has none.</param>
public sealed record HostView(string Host, string State, string? Tier, IReadOnlyList<string> Groups, LastLogin? LastLogin, DateTimeOffset? CutAt,
    bool? CutHolds, IReadOnlyList<KeyValuePair<string, string>> Cut, IReadOnlyList<string> Mismatches);

/// <summary>
/// A host's record of a person's last login (lastlog, as `workstation status` reads it): At null
/// when the host has none (the person never logged in there, or not since the account was made).
/// </summary>
public sealed record LastLogin(DateTimeOffset? At)
{
    /// <summary>The `last_login` field of a status person: absent (a host before it was reported: null), null, or an ISO-8601 UTC time; anything else is not a status.</summary>
    public static LastLogin? Read(JsonElement person, string host)
    {
        if (!person.TryGetProperty("last_login", out var v)) return null;
        if (v.ValueKind == JsonValueKind.Null) return new LastLogin((DateTimeOffset?)null);
        if (v.ValueKind == JsonValueKind.String && DateTimeOffset.TryParseExact(v.GetString(), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return new LastLogin(at);
        throw new InvalidOperationException($"host {host}: people[{AccessReports.Str(person, "user")}].last_login: {v.GetRawText()} is not null or a time like 2026-06-30T08:15:00Z");
    }
}

/// <summary>
/// An active person: the roster's grants in each layer (the same facts `roster diff` shows), the
/// commit that last changed their entry, and each host's live view.
/// </summary>
public sealed record PersonAccess(string OsUser, string Tier, IReadOnlyList<string> HostGroups, IReadOnlyList<string> Services, Ports Ports,
    IReadOnlyList<string> Secrets, IReadOnlyList<string> Kubernetes, IReadOnlyList<string> Vault, IReadOnlyList<string> Authentik,
    IReadOnlyList<string> ExternalBindings, EntryEvidence? Evidence, IReadOnlyList<HostView> Hosts, IReadOnlyList<string> Flags);

/// <summary>
/// A leaver (retired: or purged): when the roster retired them (Evidence.Since: the commit that
/// put the tombstone there, its merge time), each host's cut (time, probes), the time from the merge to
/// the cut per host, and what they still hold (another stack's bindings, a host not cut).
/// </summary>
public sealed record LeaverAccess(string OsUser, string State, EntryEvidence? Evidence, IReadOnlyList<HostView> Hosts,
    IReadOnlyList<KeyValuePair<string, TimeSpan>> TimeToRevoke, IReadOnlyList<string> StillHeld, IReadOnlyList<string> Flags);

/// <summary>The whole report. Flags: history findings that are not any one person's (a rewritten HEAD).</summary>
public sealed record AccessReportModel(DateTimeOffset Generated, string Roster, string? Head, string? HistoryNote, IReadOnlyList<string> HostNames,
    IReadOnlyList<PersonAccess> People, IReadOnlyList<LeaverAccess> Leavers, IReadOnlyList<string> Flags);

/// <summary>
/// `roster access-report`: who can reach what, who approved it, and how long removal took.
/// Pure but for git (read through <see cref="RosterHistories"/>) and the files it is given; the
/// grants are <see cref="AccessDiffs.Facts"/>, the evaluator `roster diff` and the multi-tenancy
/// doc use, so the report can't claim other access than the program grants.
/// </summary>
public static class AccessReports
{
    public static AccessReportModel Build(DerivedRoster roster, string rosterName, RosterHistory history, IReadOnlyList<HostStatus> hosts,
        JsonElement? previous, DateTimeOffset now, VaultOptions? vault = null)
    {
        vault ??= VaultOptions.Default;
        var facts = AccessDiffs.Facts(roster, vault);
        var drift = hosts.ToDictionary(h => h.Host, h => Drift.Check(roster, h.Report).ToLookup(d => d.OsUser, StringComparer.Ordinal), StringComparer.Ordinal);
        var seen = Previous(previous);
        var flags = new List<string>();
        if (previous is not null && history.Head is not null)
        {
            var head = Str(previous.Value, "head");
            if (head is not null && head != history.Head && !history.FirstParentLine.Contains(head))
                flags.Add($"history rewritten: the previous report's HEAD {Short(head)} is not in the first-parent history of HEAD {Short(history.Head)} (a force-push)");
        }

        var people = new List<PersonAccess>();
        var leavers = new List<LeaverAccess>();
        foreach (var m in roster.Members)
        {
            var key = m is Member.Retired ? RosterEntries.RetiredKey(m.OsUser) : m is Member.Active { User.IsAdmin: true } ? RosterEntries.Admin : RosterEntries.UserKey(m.OsUser);
            var evidence = history.Entries.GetValueOrDefault(key);
            var personFlags = HistoryFlags(m.OsUser, evidence, seen, history).ToList();
            var views = hosts.Select(h => View(h, m.OsUser, drift[h.Host])).OfType<HostView>().ToList();
            var layer = facts[m.OsUser].Facts;
            switch (m)
            {
                case Member.Active { User: var u }:
                    people.Add(new PersonAccess(u.OsUser, u.Tier.ToYaml(), u.TierGroups, u.Services, u.Ports,
                        u.Secrets.Select(s => s.Name()).ToList(),
                        Texts(layer, DiffLayer.Kubernetes), Texts(layer, DiffLayer.Vault), Texts(layer, DiffLayer.Authentik),
                        Bindings(u.ExternalBindings, u.ClusterBindings), evidence, views, personFlags));
                    break;
                case Member.Retired { Tombstone: var t }:
                    var merged = evidence?.Since?.CommitDate;
                    var ttr = views.Where(v => v.CutAt is not null && merged is not null).Select(v => KeyValuePair.Create(v.Host, v.CutAt!.Value - merged!.Value)).ToList();
                    var held = Bindings(t.ExternalBindings, t.ClusterBindings).Select(b => $"{b} (another stack's: remove it there, then drop it from the tombstone)").ToList();
                    foreach (var v in views.Where(v => v.State == "active"))
                        held.Add($"host {v.Host}: the account is still active (not cut)");
                    foreach (var v in views.Where(v => v.State == "suspended" && v.CutHolds == false))
                        held.Add($"host {v.Host}: the cut does not hold on every probe");
                    leavers.Add(new LeaverAccess(t.OsUser, m.State, evidence, views, ttr, held, personFlags));
                    break;
            }
        }
        // Someone the previous report named that the roster no longer has, not even as a tombstone.
        foreach (var (name, _) in seen.Where(s => roster.Members.All(m => m.OsUser != s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal))
            flags.Add($"{name}: in the previous report, now in neither users: nor retired: (an entry deleted without a tombstone)");
        var hostNames = hosts.Select(h => h.Host).ToList();
        return new AccessReportModel(now, rosterName, history.Head, history.Why, hostNames, people, leavers, flags);
    }

    /// <summary>The previous report's evidence commit per person (its JSON), empty without one.</summary>
    private static Dictionary<string, string?> Previous(JsonElement? previous)
    {
        var seen = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (previous is not { } p || p.ValueKind != JsonValueKind.Object) return seen;
        foreach (var list in new[] { "people", "leavers" })
        {
            if (!p.TryGetProperty(list, out var items) || items.ValueKind != JsonValueKind.Array) continue;
            foreach (var item in items.EnumerateArray())
            {
                if (Str(item, "os_user") is not { } name) continue;
                seen[name] = item.TryGetProperty("evidence", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("last_change", out var c) &&
                    c.ValueKind == JsonValueKind.Object ? Str(c, "commit") : null;
            }
        }
        return seen;
    }

    /// <summary>
    /// A force-push is reported, not hidden: the commit the previous report cited for this person
    /// is no longer on HEAD's first-parent line (the entry's history was rewritten), or today's
    /// evidence is an uncommitted change.
    /// </summary>
    private static IEnumerable<string> HistoryFlags(string osUser, EntryEvidence? evidence, Dictionary<string, string?> seen, RosterHistory history)
    {
        if (evidence is { Uncommitted: true }) yield return "the entry on disk differs from the last commit (an uncommitted change: no review behind it)";
        if (history.Head is null || !seen.TryGetValue(osUser, out var before) || before is null) yield break;
        if (!history.FirstParentLine.Contains(before))
            yield return $"history rewritten: the previous report cited commit {Short(before)} for this entry; it is no longer in the history of HEAD (a force-push)" +
                (evidence?.LastChange is { } now ? $"; now {Short(now.Sha)}" : "");
    }

    private static HostView? View(HostStatus host, string osUser, ILookup<string, DriftItem> drift)
    {
        var p = host.Report.GetProperty("people").EnumerateArray().FirstOrDefault(x => Str(x, "user") == osUser);
        var mismatches = drift[osUser].Select(d => $"{d.Fact}: roster {d.Expected}; host {d.Actual}").ToList();
        if (p.ValueKind != JsonValueKind.Object)
            return new HostView(host.Host, "absent or unmanaged", null, [], null, null, null, [], mismatches);
        var groups = p.TryGetProperty("groups", out var g) && g.ValueKind == JsonValueKind.Array ? g.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [];
        var cut = new List<KeyValuePair<string, string>>();
        bool? holds = null;
        if (p.TryGetProperty("cut", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            foreach (var probe in c.EnumerateObject())
            {
                if (probe.Name == "holds") holds = probe.Value.ValueKind == JsonValueKind.True;
                else cut.Add(KeyValuePair.Create(probe.Name, probe.Value.ValueKind == JsonValueKind.String ? probe.Value.GetString()! : probe.Value.GetRawText()));
            }
        }
        DateTimeOffset? cutAt = Str(p, "cut_at") is { } at && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
        return new HostView(host.Host, Str(p, "state") ?? "unknown", Str(p, "tier"), groups, LastLogin.Read(p, host.Host), cutAt, holds, cut, mismatches);
    }

    private static IReadOnlyList<string> Texts(IReadOnlyList<AccessFact> facts, DiffLayer layer) =>
        facts.Where(f => f.Layer == layer).Select(f => f.Text).ToList();

    private static List<string> Bindings(IReadOnlyDictionary<string, string> external, IReadOnlyList<string> cluster) =>
        external.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"RoleBinding {e.Value} in namespace {e.Key}")
            .Concat(cluster.Select(c => $"ClusterRoleBinding {c}")).ToList();

    internal static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
