namespace Workstation.Roster;

/// <summary>`roster validate [FILE]`, `roster derive --json [FILE]`, `roster host-commands [FILE] [--repo-token]`, `roster diff BASE HEAD [--json] [--status REPORT]`, `roster drift REPORT [ROSTER]`, `roster import-plan [ROSTER] --stack STACKFILE`, `roster docs multi-tenancy [OUT]` and `roster host-rules [OUT]`.</summary>
public static class Cli
{
    private const string Usage = "usage: roster validate [ROSTER] [--stack STACKFILE]\n       roster derive --json [ROSTER]\n       roster host-commands [ROSTER] [--repo-token]\n       roster diff BASE HEAD [--json] [--status REPORT]\n       roster drift REPORT [ROSTER]\n       roster import-plan [ROSTER] --stack STACKFILE\n       roster docs multi-tenancy [OUT]\n       roster host-rules [OUT]\n       " + Report.AccessReportCli.Usage + "\n       roster retire USER [ROSTER]\n       roster cut-targets USER [ROSTER] --stack STACKFILE\n       roster place [ROSTER] --stack STACKFILE [--report FLEETREPORT]\n       roster routes [ROSTER] --stack STACKFILE\n" +
        "(ROSTER defaults to roster.yaml; STACKFILE, e.g. Pulumi.devvm.yaml, adds the capacity ceiling check;\n" +
        " host-commands prints the host command lines the program sends, KEY<TAB>COMMAND (the lines of tests/golden/host-commands.txt but the site and secrets lines, which need the stack's values);\n import-plan prints a bash script that `pulumi import`s the stack's cluster, Vault and Authentik objects that already exist;\n OUT to docs/multi-tenancy.md, or host/lib/rules.sh;\n BASE and HEAD are roster files or git revisions of one, REV:PATH, e.g. origin/main:roster.yaml;\n REPORT is `workstation status --json` from the host, or - for stdin; diff reads it for whose playwright entry is hand-made)";

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var rest = args.Skip(1).ToList();
        switch (args.FirstOrDefault())
        {
            case "validate" when Validate(rest) is { } v:
                {
                    var result = RosterLoader.LoadFile(v.Roster);
                    if (!result.Ok) return Fail(result, stderr);
                    var m = result.Model!;
                    stdout.WriteLine($"ok: admin {m.Admin.OsUser}, {m.Users.Count} users, {m.Retired.Count} retired");
                    return v.Stack is null ? 0 : CheckCapacity(m, v.Roster, v.Stack, stdout, stderr);
                }
            case "derive" when rest.Contains("--json") && rest.Count(a => a != "--json") <= 1:
                {
                    var result = RosterLoader.LoadFile(rest.FirstOrDefault(a => a != "--json") ?? "roster.yaml");
                    if (!result.Ok) return Fail(result, stderr);
                    stdout.Write(DerivedJson.Write(Derivation.Derive(result.Model!)));
                    return 0;
                }
            case "host-commands" when rest.Count(a => a != "--repo-token") <= 1 && rest.All(a => a == "--repo-token" || !a.StartsWith('-')):
                {
                    // The benchmarks' command lines: never typed by hand, so they can't drift from what the program sends.
                    var result = RosterLoader.LoadFile(rest.FirstOrDefault(a => a != "--repo-token") ?? "roster.yaml");
                    if (!result.Ok) return Fail(result, stderr);
                    // Without the lines that need the stack's values: the site line (site values) and the secrets lines (the memory URL).
                    foreach (var (key, command) in HostCommands.Lines(Derivation.Derive(result.Model!), site: null, rest.Contains("--repo-token"), memoryUrl: null)
                                 .Where(l => !l.Key.StartsWith("secrets:", StringComparison.Ordinal)))
                        stdout.Write($"{key}\t{command}\n");
                    return 0;
                }
            case "diff" when DiffArgs(rest) is { } d:
                {
                    var names = d.Sides;
                    IReadOnlySet<string>? handMade = null;
                    if (d.Status is { } status)
                    {
                        var (doc, why) = ReadReport(status);
                        if (doc is null)
                        {
                            stderr.WriteLine($"roster diff: {status}: not a `workstation status --json` report: {why}");
                            return 2;
                        }
                        using (doc) handMade = PlaywrightEntryState.HandMadeIn(doc.RootElement);
                    }
                    var sides = new List<DerivedRoster>();
                    foreach (var name in names)
                    {
                        var (text, why) = RosterSource.Read(name);
                        if (text is null)
                        {
                            stderr.WriteLine($"roster diff: {why}");
                            return 2;
                        }
                        var result = RosterLoader.Load(text, name);
                        if (!result.Ok) return Fail(result, stderr);
                        sides.Add(Derivation.Derive(result.Model!));
                    }
                    var diff = Access.AccessDiffs.Diff(sides[0], sides[1], handMadeEntries: handMade);
                    stdout.Write(d.Json ? Access.AccessDiffs.Json(diff) : Access.AccessDiffs.Markdown(diff, names[0], names[1]));
                    return 0;
                }
            case "drift" when rest.Count is 1 or 2:
                {
                    var result = RosterLoader.LoadFile(rest.ElementAtOrDefault(1) ?? "roster.yaml");
                    if (!result.Ok) return Fail(result, stderr);
                    var (report, why) = ReadReport(rest[0]);
                    if (report is null)
                    {
                        stderr.WriteLine($"roster drift: {rest[0]}: not a `workstation status --json` report: {why}");
                        return 2;
                    }
                    using (report)
                    {
                        var items = Drift.Check(Derivation.Derive(result.Model!), report.RootElement);
                        foreach (var item in items) stdout.WriteLine(item);
                        stdout.WriteLine(items.Count == 0 ? "no drift" : $"{items.Count} drift(s)");
                        return items.Count == 0 ? 0 : 1;
                    }
                }
            case "access-report":
                return Report.AccessReportCli.Run(rest, stdout, stderr);
            case "retire":
                return Report.RosterRetire.Run(rest, stdout, stderr);
            case "cut-targets":
                return Report.CutTargets.Run(rest, stdout, stderr);
            case "place" when PlaceArgs(rest) is { } pa:
                return Place(pa.Roster, pa.Stack, pa.Report, stdout, stderr);
            case "routes" when Validate(rest) is { Stack: { } routesStack } ra:
                return Routes(ra.Roster, routesStack, stdout, stderr);
            case "import-plan" when Validate(rest) is { Stack: { } stack } p:
                return PrintImportPlan(p.Roster, stack, stdout, stderr);
            case "docs" when rest.FirstOrDefault() == "multi-tenancy" && rest.Count <= 2:
                {
                    // Generated, not hand-written: the doc states what Roster/Access grants.
                    var path = rest.ElementAtOrDefault(1) ?? Access.MultiTenancyDoc.RelativePath;
                    File.WriteAllText(path, Access.MultiTenancyDoc.Render(), new System.Text.UTF8Encoding(false));
                    stdout.WriteLine($"wrote {path}");
                    return 0;
                }
            case "host-rules" when rest.Count <= 1:
                {
                    // Generated, not hand-written: the host checks what the engine checks.
                    var path = rest.FirstOrDefault() ?? HostRules.RelativePath;
                    File.WriteAllText(path, HostRules.Render(), new System.Text.UTF8Encoding(false));
                    stdout.WriteLine($"wrote {path}");
                    return 0;
                }
            default:
                stderr.WriteLine(Usage);
                return 2;
        }
    }

    /// <summary>diff's arguments: BASE HEAD, --json and --status REPORT in any order; null when they don't parse.</summary>
    private static (List<string> Sides, bool Json, string? Status)? DiffArgs(List<string> rest)
    {
        var sides = new List<string>();
        string? status = null;
        var json = false;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] == "--json") json = true;
            else if (rest[i] == "--status" && i + 1 < rest.Count && status is null) status = rest[++i];
            else if (rest[i] == "--status") return null;
            else sides.Add(rest[i]);
        }
        return sides.Count == 2 ? (sides, json, status) : null;
    }

    /// <summary>A host report (`workstation status --json`) from a file, or stdin for -: the document, or why not.</summary>
    private static (System.Text.Json.JsonDocument? Doc, string? Why) ReadReport(string path)
    {
        try
        {
            var text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            return (System.Text.Json.JsonDocument.Parse(text), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return (null, e.Message);
        }
    }

    /// <summary>validate's arguments: [ROSTER] [--stack FILE], in any order; null when they don't parse.</summary>
    private static (string Roster, string? Stack)? Validate(List<string> rest)
    {
        string? roster = null, stack = null;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] == "--stack" && i + 1 < rest.Count && stack is null) stack = rest[++i];
            else if (!rest[i].StartsWith('-') && roster is null) roster = rest[i];
            else return null;
        }
        return (roster ?? "roster.yaml", stack);
    }

    /// <summary>place's arguments: [ROSTER] --stack FILE [--report FILE], in any order.</summary>
    private static (string Roster, string Stack, string? Report)? PlaceArgs(List<string> rest)
    {
        var report = rest.IndexOf("--report");
        string? reportPath = null;
        if (report >= 0)
        {
            if (report + 1 >= rest.Count) return null;
            reportPath = rest[report + 1];
            rest = rest.Where((_, i) => i != report && i != report + 1).ToList();
        }
        return Validate(rest) is { Stack: { } stack } v ? (v.Roster, stack, reportPath) : null;
    }

    /// <summary>The stack file's fleet with each host's ceiling; null (and the errors printed) when it has none or a bad one.</summary>
    private static IReadOnlyList<FleetMember>? Fleet(string stackPath, string verb, TextWriter stderr)
    {
        var (config, why) = StackFile.Read(stackPath);
        if (config is null)
        {
            stderr.WriteLine($"roster {verb}: {why}");
            return null;
        }
        var (hosts, errors) = StackFile.ReadHosts(stackPath);
        foreach (var e in errors) stderr.WriteLine(e);
        if (hosts is null)
        {
            if (errors.Count == 0) stderr.WriteLine($"roster {verb}: {Path.GetFileName(stackPath)} names no host (neither {StackFile.Project}:{FleetHosts.Key} nor {StackFile.Project}:{SshSection.SshHost})");
            return null;
        }
        var members = new List<FleetMember>();
        var bad = false;
        foreach (var (h, i) in hosts.Select((h, i) => (h, i)))
        {
            var (capacity, capacityErrors) = h.Capacity(k => config.GetValueOrDefault(StackFile.Project + ":" + k));
            foreach (var (key, message) in capacityErrors)
                stderr.WriteLine($"{Path.GetFileName(stackPath)}: {StackFile.Project}:{(hosts.Count > 1 || h.Name != FleetHosts.DefaultName ? $"{FleetHosts.Key}[{i}]." : "")}{key}: {message}");
            bad |= capacityErrors.Count > 0;
            members.Add(new FleetMember(h, capacity));
        }
        return bad ? null : members;
    }

    /// <summary>`roster place`: the `host:` lines for everyone without one; exit 1 when someone fits nowhere.</summary>
    private static int Place(string rosterPath, string stackPath, string? reportPath, TextWriter stdout, TextWriter stderr)
    {
        var result = RosterLoader.LoadFile(rosterPath);
        if (!result.Ok) return Fail(result, stderr);
        if (Fleet(stackPath, "place", stderr) is not { } fleet) return 2;
        IReadOnlyDictionary<string, long>? measured = null;
        if (reportPath is not null)
        {
            var (doc, why) = ReadReport(reportPath);
            if (doc is null)
            {
                stderr.WriteLine($"roster place: {reportPath}: not a fleet report: {why}");
                return 2;
            }
            using (doc)
            {
                (measured, why) = Placement.MeasuredFrom(doc.RootElement);
                if (measured is null)
                {
                    stderr.WriteLine($"roster place: {reportPath}: {why}");
                    return 2;
                }
            }
        }
        var place = Placement.Place(result.Model!, fleet, measured);
        if (place.Placed.Count == 0 && place.Unplaced.Count == 0) stdout.WriteLine("# everyone has a host: nothing to place");
        else if (place.Placed.Count > 0) stdout.WriteLine("# add each line's host: to that entry of the roster, and commit it as a PR");
        stdout.Write(place.Lines);
        foreach (var l in place.Hosts)
            stdout.WriteLine($"# {l.Host}: {l.People.Count} people, memory_high {Sizes.Human(l.MemoryHigh)}" +
                (l.Measured > 0 ? $", measured {Sizes.Human(l.Measured)}" : "") +
                (l.Capacity is { } c ? $", ceiling {Sizes.Human(c.Limit)}, free {Sizes.Human(Math.Max(0, l.Free!.Value))}" : ", no hostMemory: not measured") +
                (fleet.First(f => f.Name == l.Host).Entry.Cordon ? " (cordoned)" : ""));
        foreach (var u in place.Unplaced) stderr.WriteLine($"{u.OsUser}: not placed: {u.Why}");
        return place.Unplaced.Count == 0 ? 0 : 1;
    }

    /// <summary>`roster routes`: the fleet routing map the program exports as fleetRoutes.</summary>
    private static int Routes(string rosterPath, string stackPath, TextWriter stdout, TextWriter stderr)
    {
        var result = RosterLoader.LoadFile(rosterPath);
        if (!result.Ok) return Fail(result, stderr);
        if (Fleet(stackPath, "routes", stderr) is not { } fleet) return 2;
        var (placement, errors) = Placement.Check(result.Model!, fleet);
        if (placement is null) return Fail(new RosterResult(null, errors), stderr);
        stdout.Write(FleetRoutes.Render(fleet.Select(f => f.Entry), placement, Derivation.Derive(result.Model!).Users));
        return 0;
    }

    /// <summary>The ceiling, with the stack file's hostMemory, swapSize and memoryReserve: exit 1 above the limit.</summary>
    private static int CheckCapacity(RosterModel roster, string rosterPath, string stackPath, TextWriter stdout, TextWriter stderr)
    {
        var (config, why) = StackFile.Read(stackPath);
        if (config is null)
        {
            stderr.WriteLine($"roster validate: {why}");
            return 2;
        }
        if (config.ContainsKey($"{StackFile.Project}:{FleetHosts.Key}") || StackFile.ReadHosts(stackPath).Hosts is { Count: > 1 })
            return CheckFleet(roster, stackPath, stdout, stderr);
        // One host: its people's host: must name it (devvm), then today's ceiling check, worded as it always was.
        if (StackFile.ReadHosts(stackPath).Hosts is { } one && Placement.Check(roster, [new FleetMember(one[0], null)]).Errors is { Count: > 0 } hostErrors)
            return Fail(new RosterResult(null, hostErrors), stderr);
        var (capacity, errors) = HostCapacity.FromConfig(k => config.GetValueOrDefault(StackFile.Project + ":" + k));
        foreach (var (key, message) in errors) stderr.WriteLine($"{Path.GetFileName(stackPath)}: {StackFile.Project}:{key}: {message}");
        if (errors.Count > 0) return 1;
        if (capacity is null)
        {
            stdout.WriteLine($"capacity: not checked ({StackFile.Project}:{HostCapacity.Keys.HostMemory} is not set in {Path.GetFileName(stackPath)})");
            return 0;
        }
        var report = Capacity.Check(Derivation.Derive(roster).Users, capacity);
        switch (report.Verdict)
        {
            case CapacityVerdict.Over:
                stderr.WriteLine($"{Path.GetFileName(rosterPath)}: capacity: {report.Message}");
                stderr.WriteLine("1 error(s); nothing was changed.");
                return 1;
            case CapacityVerdict.Warn:
                stderr.WriteLine($"warning: capacity: {report.Message}");
                return 0;
            default:
                stdout.WriteLine($"capacity: {report.Message}");
                return 0;
        }
    }

    /// <summary>A fleet's check (`hosts:`): every host: names a host of the stack, each host's ceiling separately.</summary>
    private static int CheckFleet(RosterModel roster, string stackPath, TextWriter stdout, TextWriter stderr)
    {
        if (Fleet(stackPath, "validate", stderr) is not { } fleet) return 1;
        var (placement, errors) = Placement.Check(roster, fleet);
        if (placement is null) return Fail(new RosterResult(null, errors), stderr);
        var users = Derivation.Derive(roster).Users;
        foreach (var host in fleet)
        {
            var on = placement.On(host.Name, users);
            if (host.Capacity is not { } capacity)
                stdout.WriteLine($"capacity ({host.Name}): not checked (no hostMemory for this host), {on.Count} people");
            else if (Capacity.Check(on, capacity) is { Verdict: CapacityVerdict.Warn } warn)
                stderr.WriteLine($"warning: capacity ({host.Name}): {warn.Message}");
            else
                stdout.WriteLine($"capacity ({host.Name}): {Capacity.Check(on, capacity).Message}");
        }
        return 0;
    }

    /// <summary>
    /// The import plan as a bash script on stdout: the roster's resources in the cluster, Vault and
    /// Authentik, with the stack file's name, layers and addresses. Nothing is looked up here.
    /// </summary>
    private static int PrintImportPlan(string rosterPath, string stackPath, TextWriter stdout, TextWriter stderr)
    {
        var (config, why) = StackFile.Read(stackPath);
        if (config is null)
        {
            stderr.WriteLine($"roster import-plan: {why}");
            return 2;
        }
        var file = Path.GetFileName(stackPath);
        var (stack, errors) = ImportStack.FromConfig(file, k => config.GetValueOrDefault(StackFile.Project + ":" + k));
        foreach (var (key, message) in errors)
            stderr.WriteLine(key == "(file)" ? $"{file}: {message}" : $"{file}: {StackFile.Project}:{key}: {message}");
        if (stack is null) return 1;
        // After the stack: its Vault OIDC claim says what the roster must hold (an email for everyone, with `email`).
        var result = RosterLoader.LoadFile(rosterPath, stack.VaultOidcUserClaim);
        if (!result.Ok) return Fail(result, stderr);
        var generatedBy = string.Concat($"roster import-plan {rosterPath} --stack {stackPath}".Select(c => char.IsControl(c) ? '?' : c));
        stdout.Write(Imports.Script(Imports.Plan(Derivation.Derive(result.Model!), stack), generatedBy));
        return 0;
    }

    private static int Fail(RosterResult result, TextWriter stderr)
    {
        foreach (var e in result.Errors) stderr.WriteLine(e);
        stderr.WriteLine($"{result.Errors.Count} error(s); nothing was changed.");
        return 1;
    }
}
