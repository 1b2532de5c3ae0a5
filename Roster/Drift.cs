using System.Text.Json;

namespace Workstation.Roster;

/// <summary>One fact where the host is not what the roster says: the expected value and the actual one.</summary>
public sealed record DriftItem(string OsUser, string Fact, string Expected, string Actual)
{
    public override string ToString() => $"{OsUser}: {Fact}: expected {Expected}; actual {Actual}";
}

/// <summary>
/// `roster drift REPORT [ROSTER]`: the host's own report (`workstation status --json`) against
/// what the roster implies, fact by fact. pulumi-command can't read the host back, so this is
/// how a unit disabled by hand, a group added or a map edited becomes visible.
/// </summary>
public static class Drift
{
    public static IReadOnlyList<DriftItem> Check(DerivedRoster roster, JsonElement report)
    {
        // A name the report gives twice (a hand-edited /etc/group can list a member twice) is drift
        // of its own, not a crash; the first report of it is compared.
        var reported = report.GetProperty("people").EnumerateArray().GroupBy(p => p.GetProperty("user").GetString()!, StringComparer.Ordinal).ToList();
        var people = reported.ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var items = new List<DriftItem>();
        foreach (var twice in reported.Where(g => g.Count() > 1))
            items.Add(new(twice.Key, "account", "reported once", $"reported {twice.Count()} times"));
        foreach (var m in roster.Members)
        {
            people.TryGetValue(m.OsUser, out var p);
            var state = p.ValueKind == JsonValueKind.Object ? Str(p, "state") ?? "unknown" : "absent or unmanaged";
            switch (m)
            {
                case Member.Active { User: var u }:
                    if (state != "active")
                    {
                        items.Add(new(u.OsUser, "account", "managed, active", state));
                        continue;
                    }
                    items.AddRange(ActiveDrift(u, p));
                    break;
                case Member.Retired { Tombstone: var t }:
                    var want = t.Purge ? "absent or unmanaged" : "suspended";
                    if (state != want && !(t.Purge && state == "suspended")) items.Add(new(t.OsUser, "account", want, state));
                    items.AddRange(ForeignBindings(t));
                    break;
            }
        }
        foreach (var name in people.Keys.Where(n => roster.Members.All(m => m.OsUser != n)).Order(StringComparer.Ordinal))
            items.Add(new(name, "account", "not in the roster (a managed account nobody names)", $"managed, {Str(people[name], "state")}"));
        return items;
    }

    /// <summary>
    /// Bindings another stack made for a leaver: offboarding leaves them, so each is reported
    /// until the owner removes it there and drops it from the tombstone (a reviewed roster edit).
    /// </summary>
    private static IEnumerable<DriftItem> ForeignBindings(RetiredUser t)
    {
        const string Fact = "still to remove by hand in the stack that owns it";
        var path = $"retired.{t.OsUser}";
        foreach (var (ns, name) in t.ExternalBindings)
            yield return new(t.OsUser, $"{Fact}: RoleBinding {name} in namespace {ns}", $"gone, then dropped from {path}.external_bindings", "still named there");
        foreach (var name in t.ClusterBindings)
            yield return new(t.OsUser, $"{Fact}: ClusterRoleBinding {name}", $"gone, then dropped from {path}.cluster_bindings", "still named there");
    }

    private static IEnumerable<DriftItem> ActiveDrift(DerivedUser u, JsonElement p)
    {
        var n = u.OsUser;
        var tier = Str(p, "tier") ?? "none";
        if (tier != u.Tier.ToYaml()) yield return new(n, "tier", u.Tier.ToYaml(), tier);

        var expected = u.TierGroups.Append(u.MarkerGroup).Append(n).ToHashSet(StringComparer.Ordinal);
        var actual = p.GetProperty("groups").EnumerateArray().Select(g => g.GetString()!).ToHashSet(StringComparer.Ordinal);
        foreach (var g in expected.Except(actual).Order(StringComparer.Ordinal)) yield return new(n, $"group {g}", "member", "not a member");
        // extra_groups: held or not, never drift (an allowance, not a grant).
        foreach (var g in actual.Except(expected).Except(u.ExtraGroups).Order(StringComparer.Ordinal)) yield return new(n, $"group {g}", "not a member", "member");

        var listed = p.GetProperty("units").EnumerateArray().GroupBy(x => Str(x, "unit") ?? "", StringComparer.Ordinal).ToList();
        foreach (var twice in listed.Where(g => g.Count() > 1)) yield return new(n, $"unit {twice.Key}", "reported once", $"reported {twice.Count()} times");
        var units = listed.ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var unit in u.Services)
        {
            var have = units.TryGetValue(unit, out var x) ? $"{Str(x, "enabled")}, {Str(x, "active")}" : "missing";
            if (have != "enabled, active") yield return new(n, $"unit {unit}", "enabled, active", have);
        }
        // A unit the host lists that the roster does not derive (a host CLI of another version).
        foreach (var (unit, x) in units.Where(kv => !u.Services.Contains(kv.Key, StringComparer.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            yield return new(n, $"unit {unit}", "not one of the person's units", $"{Str(x, "enabled")}, {Str(x, "active")}");

        foreach (var (name, port) in new[] { ("t3", u.Ports.T3), ("playwright", u.Ports.Playwright) })
        {
            var file = p.GetProperty("ports").GetProperty(name);
            var have = file.ValueKind == JsonValueKind.Number ? file.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
            if (have != port.ToString(System.Globalization.CultureInfo.InvariantCulture)) yield return new(n, $"{name} port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), have);
            var owners = p.GetProperty("listening").GetProperty(name).EnumerateArray().Select(o => o.GetString()!).ToList();
            var who = owners.Count == 0 ? "nobody" : string.Join(", ", owners);
            if (who != n) yield return new(n, $"listening on the {name} port {port}", n, who);
        }

        if (PlaywrightEntry(n, u.Ports.Playwright, p) is { } entry) yield return entry;

        var maps = p.GetProperty("maps");
        var ttyd = Str(maps, "ttyd") ?? "no entry";
        if (ttyd != u.AuthentikUser) yield return new(n, "ttyd-user-map entry", u.AuthentikUser, ttyd);
        var d = maps.GetProperty("dispatch");
        // The host lists every entry that names the person (several: an array), so one beside theirs shows.
        static string Entry(JsonElement e) => $"{Str(e, "authentik")} → port {e.GetProperty("port").GetInt32()}";
        var dispatch = d.ValueKind switch
        {
            JsonValueKind.Object => Entry(d),
            JsonValueKind.Array => string.Join(", ", d.EnumerateArray().Select(Entry)),
            _ => "no entry",
        };
        var want = $"{u.AuthentikUser} → port {u.Ports.T3}";
        if (dispatch != want) yield return new(n, "dispatch.json entry", want, dispatch);

        // The budget systemd holds for each of the person's slices.
        var budget = Budget(u.Budget, u.MemoryLimits);
        if (p.TryGetProperty("budget", out var budgets))
        {
            foreach (var (key, slice) in new[] { ("services", $"workstation-{n}.slice"), ("logins", $"user-{u.Uid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "UID"}.slice") })
            {
                var have = budgets.TryGetProperty(key, out var b) && b.ValueKind == JsonValueKind.Object ? Budget(b) : "unknown";
                if (have != budget) yield return new(n, $"budget of {slice}", budget, have);
            }
        }
        else yield return new(n, "budget", budget, "not reported (a host CLI older than budgets)");

        // What the host itself flags (privileged groups beyond the tier, a home others can enter).
        // An open home the roster keeps open on purpose (`private_home: false`) is its intent, not drift.
        foreach (var x in p.GetProperty("drift").EnumerateArray())
            if (!(u.OpenHome && Str(x, "kind") == "home-mode"))
                yield return new(n, $"host: {Str(x, "kind")} {Str(x, "value")}", "none", Str(x, "detail") ?? "");
    }

    public const string PlaywrightEntryFact = "playwright MCP entry in ~/.claude.json";

    /// <summary>
    /// Where the person's browser tool connects: their entry's loopback port against the roster's
    /// playwright port. A report without the fact (a host CLI before it) says nothing either way.
    /// </summary>
    private static DriftItem? PlaywrightEntry(string n, int port, JsonElement p)
    {
        if (!p.TryGetProperty("playwright_entry", out var e) || e.ValueKind != JsonValueKind.Object) return null;
        int? have = e.TryGetProperty("port", out var x) && x.ValueKind == JsonValueKind.Number ? x.GetInt32() : null;
        var at = have is { } q ? $"port {q.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "no local port";
        var actual = Str(e, "state") switch
        {
            PlaywrightEntryState.Missing => "missing",
            PlaywrightEntryState.Unreadable => "unreadable (not a regular file, over the size limit, or not JSON)",
            PlaywrightEntryState.HandMade when have != port => $"{at}, made by hand (its person repoints it)",
            PlaywrightEntryState.Ours when have != port => at,
            PlaywrightEntryState.Ours or PlaywrightEntryState.HandMade => null,
            var other => other ?? "not reported",
        };
        return actual is null ? null : new(n, PlaywrightEntryFact, $"port {port.ToString(System.Globalization.CultureInfo.InvariantCulture)}", actual);
    }

    // Observed: systemd holds no memory limit (it shows infinity).
    private static string Budget(Budget b, MemoryLimits memory) => memory == MemoryLimits.Observed
        ? $"memory_high infinity, memory_max infinity, cpu_weight {b.CpuWeight}, tasks_max {b.TasksMax}"
        : $"memory_high {Sizes.Human(b.MemoryHigh)}, memory_max {Sizes.Human(b.MemoryMax)}, cpu_weight {b.CpuWeight}, tasks_max {b.TasksMax}";

    /// <summary>systemctl's values: bytes or "infinity", a number or "[not set]".</summary>
    private static string Budget(JsonElement b)
    {
        string Size(string name) => Str(b, name) is { } v && long.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? Sizes.Human(bytes) : Str(b, name) ?? "none";
        string Count(string name) => Str(b, name) ?? "none";
        return $"memory_high {Size("memory_high")}, memory_max {Size("memory_max")}, cpu_weight {Count("cpu_weight")}, tasks_max {Count("tasks_max")}";
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>The states `workstation user status --json` gives the person's playwright_entry (host/lib/home.sh).</summary>
public static class PlaywrightEntryState
{
    public const string Missing = "missing";
    public const string Ours = "ours";
    public const string HandMade = "hand-made";
    public const string Unreadable = "unreadable";

    /// <summary>The people whose entry a status report (`workstation status --json`) says they made by hand.</summary>
    public static IReadOnlySet<string> HandMadeIn(JsonElement report) =>
        report.TryGetProperty("people", out var people) && people.ValueKind == JsonValueKind.Array
            ? people.EnumerateArray()
                .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("playwright_entry", out var e) && e.ValueKind == JsonValueKind.Object &&
                    e.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() == HandMade &&
                    p.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.String)
                .Select(p => p.GetProperty("user").GetString()!).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
}
