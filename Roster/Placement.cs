using System.Text.Json;

namespace Workstation.Roster;

/// <summary>One host of the fleet as placement sees it: its entry and its ceiling (null: hostMemory unset, not checked).</summary>
public sealed record FleetMember(HostEntry Entry, HostCapacity? Capacity)
{
    public string Name => Entry.Name;
}

/// <summary>Where each active person lives, once the roster is checked against the stack's fleet.</summary>
public sealed record FleetPlacement(IReadOnlyDictionary<string, string> HostOf)
{
    /// <summary>The active people on one host, sorted by os_user.</summary>
    public IReadOnlyList<DerivedUser> On(string host, IEnumerable<DerivedUser> users) =>
        users.Where(u => HostOf.GetValueOrDefault(u.OsUser) == host).OrderBy(u => u.OsUser, StringComparer.Ordinal).ToList();
}

/// <summary>What one host holds: the budgets of its people against its ceiling, and what a fleet report measured there.</summary>
public sealed record HostLoad(string Host, long MemoryHigh, long TasksMax, long Measured, HostCapacity? Capacity, IReadOnlyList<string> People)
{
    /// <summary>What counts against the ceiling: the promised memory, or what the host measured when that is more.</summary>
    public long Used => Math.Max(MemoryHigh, Measured);

    public long? Free => Capacity is { } c ? c.Limit - Used : null;
}

/// <summary>A person `roster place` could not put anywhere, and why.</summary>
public sealed record Unplaced(string OsUser, string Why);

public sealed record PlaceResult(string Admin, IReadOnlyList<(string OsUser, string Host)> Placed, IReadOnlyList<Unplaced> Unplaced, IReadOnlyList<HostLoad> Hosts)
{
    /// <summary>The lines to commit, one per placed person: the entry's path and its `host:` line.</summary>
    public string Lines => string.Concat(Placed.Select(p => $"{(p.OsUser == Admin ? "admin" : $"users.{p.OsUser}")}:  host: {p.Host}\n"));
}

/// <summary>
/// The fleet side of the roster (issue 27): which host each person is on, checked against the
/// stack's `hosts:`, and `roster place`'s proposal for people without one. The ceiling is today's
/// (<see cref="Capacity.Check"/>), per host; tasks add up against <see cref="MaxTasks"/>.
/// </summary>
public static class Placement
{
    /// <summary>The kernel's pid_max ceiling: the people's tasks_max on one host add up to at most this.</summary>
    public const long MaxTasks = Budgets.MaxTasksMax;

    /// <summary>
    /// Every active person's host: their `host:`, or in a one-host fleet that host. Refused, at the
    /// roster's line: a host the stack doesn't name, nobody's host in a fleet of several, and a host
    /// whose people's budgets are over its ceiling (naming all of them).
    /// </summary>
    public static (FleetPlacement? Placement, IReadOnlyList<RosterError> Errors) Check(RosterModel roster, IReadOnlyList<FleetMember> hosts)
    {
        var errors = new List<RosterError>();
        var names = hosts.Select(h => h.Name).ToList();
        var known = string.Join(", ", names);
        var hostOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in roster.Everyone)
        {
            var (entryAt, hostAt, movedAt) = roster.Lines.GetValueOrDefault(p.OsUser, (new Loc(1, 1), new Loc(1, 1), new Loc(1, 1)));
            var path = p.Tier == Tier.Admin ? "admin" : $"users.{p.OsUser}";
            if (p.Host is { } h)
            {
                if (names.Contains(h)) hostOf[p.OsUser] = h;
                else errors.Add(new RosterError(roster.File, hostAt.Line, hostAt.Column, path + ".host", $"'{h}' is not a host of the stack (its hosts: {known})"));
            }
            else if (hosts.Count == 1) hostOf[p.OsUser] = names[0];
            else errors.Add(new RosterError(roster.File, entryAt.Line, entryAt.Column, path + ".host",
                $"no host: in a fleet of {hosts.Count} hosts ({known}); `roster place --stack STACKFILE` prints the line to add"));
            if (p.MovedFrom is { } from && !names.Contains(from))
                errors.Add(new RosterError(roster.File, movedAt.Line, movedAt.Column, path + ".moved_from", $"'{from}' is not a host of the stack (its hosts: {known})"));
        }
        foreach (var r in roster.Retired)
        {
            var (_, rAt, _) = roster.Lines.GetValueOrDefault(r.OsUser, (new Loc(1, 1), new Loc(1, 1), new Loc(1, 1)));
            if (r.Host is { } rh && !names.Contains(rh))
                errors.Add(new RosterError(roster.File, rAt.Line, rAt.Column, $"retired.{r.OsUser}.host", $"'{rh}' is not a host of the stack (its hosts: {known})"));
            else if (r.Purge && r.Host is null && hosts.Count > 1)
                errors.Add(new RosterError(roster.File, rAt.Line, rAt.Column, $"retired.{r.OsUser}.host",
                    $"a purge in a fleet of {hosts.Count} hosts ({known}) needs the host the account is on: set host:"));
        }
        var users = Derivation.Derive(roster).Users;
        foreach (var host in hosts)
        {
            var on = users.Where(u => hostOf.GetValueOrDefault(u.OsUser) == host.Name).ToList();
            if (on.Count == 0) continue;
            // Reported at the last of its people in the file: the one whose line tipped it over.
            var last = roster.Everyone.Last(p => hostOf.GetValueOrDefault(p.OsUser) == host.Name);
            var (_, at, _) = roster.Lines.GetValueOrDefault(last.OsUser, (new Loc(1, 1), new Loc(1, 1), new Loc(1, 1)));
            var field = (last.Tier == Tier.Admin ? "admin" : $"users.{last.OsUser}") + ".host";
            var people = string.Join(", ", on.Select(u => u.OsUser).Order(StringComparer.Ordinal));
            if (host.Capacity is { } capacity && Capacity.Check(on, capacity) is { Verdict: CapacityVerdict.Over } report)
                errors.Add(new RosterError(roster.File, at.Line, at.Column, field, $"host '{host.Name}' is over its ceiling: {report.Message} On it: {people}."));
            var tasks = on.Sum(u => (long)u.Budget.TasksMax);
            if (tasks > MaxTasks)
                errors.Add(new RosterError(roster.File, at.Line, at.Column, field,
                    $"host '{host.Name}' is over its task ceiling: the people's tasks_max add up to {tasks}, above {MaxTasks}. On it: {people}."));
        }
        return (errors.Count == 0 ? new FleetPlacement(hostOf) : null, errors);
    }

    /// <summary>
    /// `roster place`: a host for everyone without one, never moving anyone who has one. Admin
    /// first, then the largest memory_high first (ties by os_user); each to the uncordoned host with
    /// the most free memory it fits in (budgets and tasks both under the ceiling), which spreads
    /// people over the fleet. A host without hostMemory can't be measured and takes no one.
    /// <paramref name="measured"/>: host → memory in use, from a fleet report (<see cref="MeasuredFrom"/>).
    /// </summary>
    public static PlaceResult Place(RosterModel roster, IReadOnlyList<FleetMember> hosts, IReadOnlyDictionary<string, long>? measured = null)
    {
        var users = Derivation.Derive(roster).Users.ToDictionary(u => u.OsUser, StringComparer.Ordinal);
        var loads = hosts.ToDictionary(h => h.Name, h =>
        {
            var on = roster.Everyone.Where(p => p.Host == h.Name).Select(p => users[p.OsUser]).ToList();
            return new HostLoad(h.Name, on.Sum(u => u.Budget.MemoryHigh), on.Sum(u => (long)u.Budget.TasksMax),
                measured?.GetValueOrDefault(h.Name) ?? 0, h.Capacity, on.Select(u => u.OsUser).ToList());
        }, StringComparer.Ordinal);
        var waiting = roster.Everyone.Where(p => p.Host is null).Select(p => users[p.OsUser])
            .OrderBy(u => u.IsAdmin ? 0 : 1).ThenByDescending(u => u.Budget.MemoryHigh).ThenBy(u => u.OsUser, StringComparer.Ordinal).ToList();
        var placed = new List<(string, string)>();
        var unplaced = new List<Unplaced>();
        foreach (var u in waiting)
        {
            var fits = hosts.Where(h => !h.Entry.Cordon && h.Capacity is not null)
                .Select(h => loads[h.Name])
                .Where(l => l.Used + u.Budget.MemoryHigh <= l.Capacity!.Limit && l.TasksMax + u.Budget.TasksMax <= MaxTasks)
                .OrderByDescending(l => l.Free).ThenBy(l => hosts.ToList().FindIndex(h => h.Name == l.Host))
                .FirstOrDefault();
            if (fits is null)
            {
                var open = hosts.Where(h => !h.Entry.Cordon && h.Capacity is not null).Select(h => h.Name).ToList();
                unplaced.Add(new Unplaced(u.OsUser, open.Count == 0
                    ? "no host takes new people (every host is cordoned or has no hostMemory)"
                    : $"memory_high {Sizes.Human(u.Budget.MemoryHigh)} fits under no host's ceiling ({string.Join(", ", open.Select(n => $"{n} {Sizes.Human(Math.Max(0, loads[n].Free ?? 0))} free"))}); add a host or lower budgets"));
                continue;
            }
            loads[fits.Host] = fits with
            {
                MemoryHigh = fits.MemoryHigh + u.Budget.MemoryHigh,
                TasksMax = fits.TasksMax + u.Budget.TasksMax,
                Measured = fits.Measured == 0 ? 0 : fits.Measured + u.Budget.MemoryHigh,
                People = [.. fits.People, u.OsUser],
            };
            placed.Add((u.OsUser, fits.Host));
        }
        return new PlaceResult(roster.Admin.OsUser, placed, unplaced, hosts.Select(h => loads[h.Name]).ToList());
    }

    /// <summary>
    /// A fleet report: `{"hosts": {"NAME": REPORT, ...}}`, each REPORT a host's `workstation status
    /// --json`. Measured use per host is the sum of its people's `memory_current` (bytes; a report
    /// without it measures nothing, and the budgets alone count). Null and why when it isn't one.
    /// </summary>
    public static (IReadOnlyDictionary<string, long>? Measured, string? Why) MeasuredFrom(JsonElement report)
    {
        if (report.ValueKind != JsonValueKind.Object || !report.TryGetProperty("hosts", out var hosts) || hosts.ValueKind != JsonValueKind.Object)
            return (null, "a fleet report is {\"hosts\": {\"NAME\": `workstation status --json` of that host, ...}}");
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var host in hosts.EnumerateObject())
        {
            if (!host.Value.TryGetProperty("people", out var people) || people.ValueKind != JsonValueKind.Array)
                return (null, $"hosts.{host.Name}: not a `workstation status --json` report (no people list)");
            long sum = 0;
            foreach (var p in people.EnumerateArray())
            {
                if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty("memory_current", out var m) && m.TryGetInt64(out var bytes) && bytes > 0)
                    sum += Math.Min(bytes, Budgets.MaxMemory);
            }
            result[host.Name] = sum;
        }
        return (result, null);
    }
}
