using System.Globalization;
using System.Text;

namespace Workstation.Roster.Report;

/// <summary>
/// `roster retire USER [ROSTER]`: the roster edit of an emergency cut, so git catches up with
/// what the cut did: the person's entry leaves users: and a tombstone with their uid, ports,
/// logins and other stacks' bindings goes under retired:. The rest of the file, comments
/// included, is kept byte for byte; the result is loaded again before it is written, and
/// written atomically.
/// </summary>
public static class RosterRetire
{
    public sealed record Outcome(string? Text, string Message, bool Changed);

    public static Outcome Retire(string text, string fileName, string osUser)
    {
        var loaded = RosterLoader.Load(text, fileName);
        if (!loaded.Ok) return new(null, string.Join('\n', loaded.Errors) + $"\n{loaded.Errors.Count} error(s); nothing was changed.", false);
        var model = loaded.Model!;
        if (model.Retired.Any(r => r.OsUser == osUser)) return new(text, $"{osUser} is already under retired: in {fileName}; nothing to change", false);
        if (model.Admin.OsUser == osUser) return new(null, $"{fileName}: {osUser} is the admin: automation never cuts the admin (edit the roster by hand)", false);
        var person = model.Users.FirstOrDefault(u => u.OsUser == osUser);
        if (person is null) return new(null, $"{fileName}: users: has no {osUser}", false);

        var root = (YMap)YamlTree.Parse(text, (_, _, _) => { })!;
        var lines = text.Split('\n').ToList();
        var users = Section(root, "users")!;
        if (IsFlow(lines, users.At)) return new(null, $"{fileName}: users: is written inline ({{...}}): move {osUser} to retired: by hand", false);
        var keys = users.Entries.Select(e => e.Key.At.Line).ToList();
        var at = users.Entries.Select((e, i) => (e, i)).First(x => x.e.Key.Value == osUser);
        var first = at.e.Key.At.Line - 1; // 0-based
        var end = at.i + 1 < keys.Count ? keys[at.i + 1] - 1 : NextTopLevel(lines, first + 1);
        // Comment and blank lines at the end belong to what follows (a commented-out entry, say).
        while (end > first + 1 && IsBlankOrComment(lines[end - 1])) end--;
        var indent = lines[first].Length - lines[first].TrimStart(' ').Length;

        var tombstone = Tombstone(person, new string(' ', indent));
        lines.RemoveRange(first, end - first);
        var retired = Section(ReparseOrNull(string.Join('\n', lines)), "retired");
        var rLine = RetiredLine(lines);
        if (rLine < 0)
        {
            if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
            lines.Add("retired:");
            lines.AddRange(tombstone);
            lines.Add("");
        }
        else if (retired is { Entries.Count: > 0 } && !IsFlow(lines, retired.At))
        {
            var after = NextTopLevel(lines, rLine + 1);
            while (after > rLine + 1 && IsBlankOrComment(lines[after - 1])) after--;
            lines.InsertRange(after, tombstone);
        }
        else if (retired is null || lines[rLine].TrimEnd() is "retired: {}" or "retired:" || lines[rLine].StartsWith("retired: {} ", StringComparison.Ordinal) ||
                 lines[rLine].StartsWith("retired: {}#", StringComparison.Ordinal))
        {
            lines[rLine] = "retired:";
            lines.InsertRange(rLine + 1, tombstone);
        }
        else return new(null, $"{fileName}: retired: is written inline ({{...}}): move {osUser} there by hand", false);

        var result = string.Join('\n', lines);
        var check = RosterLoader.Load(result, fileName);
        if (!check.Ok || check.Model!.Users.Any(u => u.OsUser == osUser) || check.Model.Retired.All(r => r.OsUser != osUser))
            return new(null, $"{fileName}: moving {osUser} to retired: did not give a valid roster; nothing was changed" +
                (check.Ok ? "" : ":\n" + string.Join('\n', check.Errors)), false);
        return new(result, $"{osUser} moved to retired: in {fileName}", true);
    }

    private static List<string> Tombstone(Person p, string indent)
    {
        var inv = CultureInfo.InvariantCulture;
        var i2 = indent + indent;
        var t = new List<string> { $"{indent}{p.OsUser}:" };
        if (p.Uid is { } uid) t.Add(string.Create(inv, $"{i2}uid: {uid}"));
        t.Add($"{i2}authentik_user: {p.AuthentikUser}");
        t.Add($"{i2}k8s_user: {p.K8sUser}");
        t.Add(string.Create(inv, $"{i2}ports: {{ t3: {p.Ports.T3}, playwright: {p.Ports.Playwright} }}"));
        if (p.ExternalBindings.Count > 0)
            t.Add($"{i2}external_bindings: {{ {string.Join(", ", p.ExternalBindings.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => $"{b.Key}: {b.Value}"))} }}");
        if (p.ClusterBindings.Count > 0) t.Add($"{i2}cluster_bindings: [{string.Join(", ", p.ClusterBindings)}]");
        return t;
    }

    private static YMap? Section(YNode? root, string name) =>
        root is YMap m ? m.Entries.FirstOrDefault(e => e.Key.Value == name).Value as YMap : null;

    private static YNode? ReparseOrNull(string text) => YamlTree.Parse(text, (_, _, _) => { });

    /// <summary>A mapping that starts on its key's line ({...}) rather than below it.</summary>
    private static bool IsFlow(List<string> lines, Loc at) => at.Line - 1 < lines.Count && lines[at.Line - 1].TrimStart().StartsWith('{');

    private static int RetiredLine(List<string> lines) => lines.FindIndex(l => l.StartsWith("retired:", StringComparison.Ordinal));

    private static int NextTopLevel(List<string> lines, int from)
    {
        for (var i = from; i < lines.Count; i++)
            if (lines[i].Length > 0 && lines[i][0] is not (' ' or '#' or '\t')) return i;
        return lines.Count;
    }

    private static bool IsBlankOrComment(string line) => line.TrimStart().Length == 0 || line.TrimStart().StartsWith('#');

    /// <summary>The CLI verb: rewrites ROSTER in place (atomically) or says why not; exit 0 when done or already done.</summary>
    public static int Run(IReadOnlyList<string> rest, TextWriter stdout, TextWriter stderr)
    {
        if (rest.Count is < 1 or > 2 || rest.Any(a => a.StartsWith('-')))
        {
            stderr.WriteLine("usage: roster retire USER [ROSTER]");
            return 2;
        }
        var path = rest.ElementAtOrDefault(1) ?? "roster.yaml";
        string text;
        try
        {
            if (new FileInfo(path).Length > RosterLoader.MaxBytes) throw new IOException($"larger than {RosterLoader.MaxBytes} bytes");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"roster retire: {path}: {e.Message}");
            return 2;
        }
        var outcome = Retire(text, Path.GetFileName(path), rest[0]);
        if (outcome.Text is null)
        {
            stderr.WriteLine(outcome.Message);
            return 1;
        }
        if (outcome.Changed)
        {
            var tmp = path + ".retire-tmp";
            File.WriteAllText(tmp, outcome.Text, new UTF8Encoding(false));
            File.Move(tmp, path, overwrite: true);
        }
        stdout.WriteLine(outcome.Message);
        return 0;
    }
}

/// <summary>
/// `roster cut-targets USER [ROSTER] --stack STACKFILE`: the --target list of the targeted `up`
/// that cuts one retired person now (<see cref="OffboardTargets"/>, the list the program's own
/// hint names), one per line. Every person target is a glob, so the stack's layers only matter
/// for the one literal URN (the T3 Users group, with enableAuthentik).
/// </summary>
public static class CutTargets
{
    public static int Run(IReadOnlyList<string> rest, TextWriter stdout, TextWriter stderr)
    {
        string? user = null, roster = null, stackFile = null;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] == "--stack" && i + 1 < rest.Count && stackFile is null) stackFile = rest[++i];
            else if (rest[i].StartsWith('-')) user = roster = stackFile = null;
            else if (user is null) user = rest[i];
            else if (roster is null) roster = rest[i];
            else stackFile = null;
        }
        var name = stackFile is null ? null : Path.GetFileName(stackFile);
        if (user is null || stackFile is null || name is null || !name.StartsWith("Pulumi.", StringComparison.Ordinal) || !name.EndsWith(".yaml", StringComparison.Ordinal))
        {
            stderr.WriteLine("usage: roster cut-targets USER [ROSTER] --stack Pulumi.STACK.yaml");
            return 2;
        }
        var stack = name["Pulumi.".Length..^".yaml".Length];
        var (config, why) = StackFile.Read(stackFile);
        if (config is null)
        {
            stderr.WriteLine($"roster cut-targets: {why}");
            return 2;
        }
        var (authentik, error) = StackValues.Switch(config.GetValueOrDefault(StackFile.Project + ":enableAuthentik"));
        if (error is not null)
        {
            stderr.WriteLine($"{name}: {StackFile.Project}:enableAuthentik: {error}");
            return 1;
        }
        var result = RosterLoader.LoadFile(roster ?? "roster.yaml");
        if (!result.Ok)
        {
            foreach (var e in result.Errors) stderr.WriteLine(e);
            return 1;
        }
        var tombstone = result.Model!.Retired.FirstOrDefault(r => r.OsUser == user);
        if (tombstone is null || tombstone.Purge)
        {
            stderr.WriteLine(tombstone is null
                ? $"roster cut-targets: {user} is not under retired: (run `roster retire {user}` first: the up cuts whom the roster retires)"
                : $"roster cut-targets: {user} is purged: nothing left to cut");
            return 1;
        }
        var shape = new StackShape(StagesSecrets: true, K8s: true, Vault: true, Authentik: authentik)
        {
            // A fleet's every host's maps (issue 27); a stack file without hosts: is the one host, devvm.
            Hosts = StackFile.ReadHosts(stackFile).Hosts?.Select(h => h.Name).ToList() ?? [FleetHosts.DefaultName],
        };
        foreach (var t in OffboardTargets.Targets(stack, StackFile.Project, tombstone, shape).Concat(OffboardTargets.Shared(stack, StackFile.Project, shape)))
            stdout.WriteLine(t);
        return 0;
    }
}
