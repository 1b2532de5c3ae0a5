using System.Text.RegularExpressions;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 26 §2: each fact of the host's vocabulary that the engine also knows is typed once, in
/// C#, and reaches host/ only through the generated rules.sh. The literals are the C# values
/// themselves, never retyped here.
/// </summary>
public class HostVocabularyTests
{
    private const string Slot = "%s";

    private static string Host => Path.Combine(TestFiles.Root, "host");

    /// <summary>Each fact's spelling as it would show up typed by hand, with what it is.</summary>
    private static IEnumerable<(string Fact, Regex Pattern)> Literals()
    {
        static string Prefix(string pattern) => pattern[..pattern.IndexOf(Slot, StringComparison.Ordinal)];
        static Regex Text(string s) => new(Regex.Escape(s));
        // A name: not part of a longer name.
        static Regex Word(string s) => new($"(?<![A-Za-z0-9_]){Regex.Escape(s)}(?![A-Za-z0-9_])");

        foreach (var unit in Derivation.Services(Slot))
            yield return ($"the unit name {unit}", Text(unit[..(unit.IndexOf('@', StringComparison.Ordinal) + 1)]));
        foreach (var key in new[] { Derivation.T3PortKey, Derivation.PlaywrightPortKey })
            yield return ($"the env key {key}", Word(key));
        foreach (var file in new[] { Derivation.T3EnvFile(Slot), Derivation.PlaywrightEnvFile(Slot) })
        {
            yield return ($"the env file {file}", Text(Prefix(file)));
            yield return ($"the env file {file} as a glob", Text(Path.GetFileName(file).Replace(Slot, "*", StringComparison.Ordinal)));
        }
        foreach (var digits in new[] { HostRules.PortDigits, HostRules.UidDigits })
            yield return ($"the pattern {digits}", Text(digits.Trim('^', '$')));
        foreach (var s in SharedSecrets.All)
        {
            if (s.HomeFile() is { } file) yield return ($"where {s.Name()} lands", Text(file));
            // "ha" is too short to tell from other words; the longer server names are checked.
            if (s.McpServer() is { Length: > 2 } server) yield return ($"the MCP server of {s.Name()}", Word(server));
        }
        foreach (var map in new[] { SharedFiles.TtydMap, SharedFiles.DispatchDir, SharedFiles.DispatchJson })
            yield return ($"the map path {map}", Text(map));
        yield return ("the shared code group", Word(Rules.SharedCodeGroup));
        yield return ("the launcher's name", Text(Path.GetFileName(SharedFiles.Launcher)));
        yield return ("the default t3 command", Text(HostCommands.DefaultT3Command));
        foreach (var field in new[] { SuspensionRecord.Lock, SuspensionRecord.Expire })
            yield return ($"the suspension record's field {field}", new Regex($"(?<![A-Za-z0-9_]){field}="));
    }

    /// <summary>Every text file of host/ but rules.sh, with its path relative to host/.</summary>
    private static IEnumerable<(string Rel, string[] Lines)> HostFiles() =>
        Directory.GetFiles(Host, "*", SearchOption.AllDirectories)
            .Select(f => (Rel: Path.GetRelativePath(Host, f).Replace('\\', '/'), Full: f))
            .Where(f => f.Rel != "lib/rules.sh")
            .OrderBy(f => f.Rel, StringComparer.Ordinal)
            .Select(f => (f.Rel, File.ReadAllLines(f.Full)));

    /// <summary>
    /// What a line says as code: comments are free to name the facts. A usage placeholder
    /// (USER:T3_PORT:PLAYWRIGHT_PORT) names an argument's part, not the variable. The unit
    /// templates' EnvironmentFile= lines are held to Derivation by the test below, and the
    /// skeleton's tmux.conf (read by tmux, not bash) by the one after it.
    /// </summary>
    private static string? Code(string rel, string line)
    {
        var trimmed = line.TrimStart();
        if (trimmed.StartsWith('#')) return null;
        if (rel.StartsWith("units/", StringComparison.Ordinal) && trimmed.StartsWith("EnvironmentFile=", StringComparison.Ordinal)) return null;
        if (rel == "base/skel/tmux.conf" && trimmed.StartsWith("set-option -g default-command ", StringComparison.Ordinal)) return null;
        var comment = line.IndexOf(" # ", StringComparison.Ordinal);
        if (comment >= 0) line = line[..comment];
        return Regex.Replace(line, @"\bUSER(:[A-Z0-9_]+)+", "USER:…");
    }

    [Fact]
    public void No_host_file_but_rules_sh_types_a_fact_the_engine_owns()
    {
        var literals = Literals().DistinctBy(l => l.Pattern.ToString()).ToList();
        Assert.True(literals.Count >= 20, "the list of facts came out short");
        var found = new List<string>();
        foreach (var (rel, lines) in HostFiles())
            for (var i = 0; i < lines.Length; i++)
                if (Code(rel, lines[i]) is { } code)
                    found.AddRange(literals.Where(l => l.Pattern.IsMatch(code)).Select(l => $"host/{rel}:{i + 1}: {l.Fact}: {lines[i].Trim()}"));
        Assert.True(found.Count == 0, "typed by hand outside rules.sh (use its constant):\n" + string.Join('\n', found));
    }

    /// <summary>The names rules.sh defines (readonly A=… B=…, declare -grA C=(…)).</summary>
    private static IReadOnlyList<string> RulesNames() =>
        Regex.Matches(HostRules.Render(), @"(?:^|\s)(WS_[A-Z0-9_]+)=", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().ToList();

    /// <summary>A fact with no spelling of its own (the idle default's 20) is caught by its name: no host file sets a name rules.sh sets.</summary>
    [Fact]
    public void No_host_file_redefines_a_name_rules_sh_defines()
    {
        var names = RulesNames();
        Assert.Contains("WS_DEFAULT_RESTART_IDLE_MINUTES", names);
        var found = new List<string>();
        foreach (var (rel, lines) in HostFiles())
            for (var i = 0; i < lines.Length; i++)
                if (Code(rel, lines[i]) is { } code)
                    found.AddRange(names.Where(n => Regex.IsMatch(code, $"(?<![A-Za-z0-9_$]){n}=")).Select(n => $"host/{rel}:{i + 1}: sets {n}"));
        Assert.True(found.Count == 0, "rules.sh's names set again by hand:\n" + string.Join('\n', found));
    }

    /// <summary>
    /// Each unit template's EnvironmentFile= is the env file Derivation gives its unit: for every
    /// person of the shipped roster, the templates' files (with %i their os_user) are exactly the
    /// files of their derived EnvFiles, each read by the unit Derivation names for it.
    /// </summary>
    [Fact]
    public void Each_unit_templates_EnvironmentFile_is_the_one_Derivation_gives_its_unit()
    {
        var templates = Directory.GetFiles(Path.Combine(Host, "units"))
            .Select(f => (Name: Path.GetFileName(f), Env: File.ReadAllLines(f).Where(l => l.StartsWith("EnvironmentFile=", StringComparison.Ordinal))
                .Select(l => l["EnvironmentFile=".Length..]).ToList()))
            .Where(t => t.Env.Count > 0).ToList();
        Assert.All(templates, t => Assert.Single(t.Env));
        var byUnit = new Dictionary<Func<string, string>, Func<string, string>>
        {
            [Derivation.T3Unit] = Derivation.T3EnvFile,
            [Derivation.PlaywrightUnit] = Derivation.PlaywrightEnvFile,
        };
        var users = Derivation.Derive(RosterLoader.LoadFile(TestFiles.ShippedRoster).ModelOrThrow()).Users;
        Assert.NotEmpty(users);
        foreach (var u in users)
        {
            var fromTemplates = templates.ToDictionary(
                t => t.Name.Replace("@.", $"@{u.OsUser}.", StringComparison.Ordinal),
                t => t.Env[0].Replace("%i", u.OsUser, StringComparison.Ordinal));
            var derived = byUnit.ToDictionary(p => p.Key(u.OsUser), p => p.Value(u.OsUser));
            Assert.Equal(derived.OrderBy(p => p.Key, StringComparer.Ordinal), fromTemplates.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(u.EnvFiles.Keys.Order(StringComparer.Ordinal), fromTemplates.Values.Order(StringComparer.Ordinal));
            Assert.All(derived.Keys, unit => Assert.Contains(unit, u.Services));
        }
    }

    /// <summary>
    /// Issue 26 §6: host/base/tmpfiles.d/workstation.conf lists exactly the fixed directories the
    /// host makes under /run, /var/lib and /var/backups (ensure_dir NAME MODE, ensure_root_dir
    /// NAME: 0700, root's), with the same modes, and their parents (0755). The paths are the
    /// host's own constants, read by bash from host/lib.
    /// </summary>
    [Fact]
    public void The_tmpfiles_conf_lists_the_fixed_directories_the_host_makes_with_their_modes()
    {
        var lib = Path.Combine(Host, "lib");
        var calls = Directory.GetFiles(lib, "*.sh", SearchOption.AllDirectories).SelectMany(f =>
                Regex.Matches(File.ReadAllText(f), @"ensure_(root_)?dir ""\$(WS_[A-Z0-9_]+)""(?: ([0-7]{4}))?")
                    .Select(m => (Name: m.Groups[2].Value, Mode: m.Groups[1].Success ? "0700" : m.Groups[3].Value)))
            .Distinct().ToList();
        Assert.Contains(("WS_RUN_DIR", "0700"), calls);
        Assert.All(calls, c => Assert.NotEqual("", c.Mode));
        var sources = Regex.Matches(File.ReadAllText(Path.Combine(Host, "bin", "workstation")), "source \"\\$WS_LIB/([^\"]+)\"")
            .Select(m => m.Groups[1].Value).ToList();
        var script = "set -euo pipefail; " + string.Join("; ", sources.Select(f => $"source \"$0/{f}\"")) + "; " +
            string.Join("; ", calls.Select(c => $"printf '%s {c.Mode}\\n' \"${c.Name}\""));
        var (code, output, err) = Processes.Run("bash", ["-c", script, lib]);
        Assert.True(code == 0, err);
        var made = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).Select(f => (Path: f[0], Mode: f[1]))
            .Where(d => new[] { "/run/", "/var/lib/", "/var/backups/" }.Any(p => d.Path.StartsWith(p, StringComparison.Ordinal)))
            .ToHashSet();
        Assert.Contains(("/run/workstation", "0700"), made);

        var conf = File.ReadAllLines(Path.Combine(Host, "base", "tmpfiles.d", "workstation.conf"))
            .Where(l => !l.StartsWith('#') && l.Trim().Length > 0).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.All(conf, f => Assert.Equal(["d", "root", "root", "-"], new[] { f[0], f[3], f[4], f[5] }));
        var listed = conf.Select(f => (Path: f[1], Mode: f[2])).ToHashSet();
        var parents = made.SelectMany(d => Ancestors(d.Path)).Where(p => !made.Any(d => d.Path == p)).Select(p => (Path: p, Mode: "0755"));
        Assert.Equal(made.Concat(parents).Distinct().Order(), listed.Order());
    }

    /// <summary>The folders between a fixed directory and its top (/run, /var/lib, /var/backups), those excluded.</summary>
    private static IEnumerable<string> Ancestors(string path)
    {
        string[] tops = ["/run", "/var/lib", "/var/backups"];
        for (var p = Path.GetDirectoryName(path)!; !tops.Contains(p); p = Path.GetDirectoryName(p)!) yield return p;
    }

    /// <summary>The skeleton's tmux.conf (tmux reads it, so it can't use rules.sh) starts the launcher by its one name.</summary>
    [Fact]
    public void The_skeletons_tmux_conf_starts_the_launcher_by_its_name()
    {
        var line = Assert.Single(File.ReadAllLines(Path.Combine(Host, "base", "skel", "tmux.conf")), l => l.StartsWith("set-option -g default-command ", StringComparison.Ordinal));
        Assert.Contains($"\"$HOME/{Path.GetFileName(SharedFiles.Launcher)}\"", line, StringComparison.Ordinal);
        Assert.Contains(SharedFiles.Base, f => f.Path == SharedFiles.Launcher && f.Source == "skel/" + Path.GetFileName(SharedFiles.Launcher));
    }
}
