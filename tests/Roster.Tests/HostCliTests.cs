using System.Text;
using System.Text.RegularExpressions;

namespace Workstation.Roster.Tests;

/// <summary>
/// The host CLI's syntax is written once, in host/lib/cli.sh's verb table: its parser reads the
/// table, and the usage is printed from it. Run locally (bash over the sourced libraries, no box):
/// nothing here reaches a verb's body, only its parsing.
/// </summary>
public partial class HostCliTests
{
    private static string Lib => Path.Combine(TestFiles.Root, "host", "lib");

    /// <summary>bash with every library bin/workstation sources (in its order), then SCRIPT; ARGS as $1...</summary>
    private static (int Code, string Out, string Err) Cli(string script, params string[] args)
    {
        var prelude = """
            set -euo pipefail
            lib="$0"
            for f in $(sed -n 's|^source "\$WS_LIB/\(.*\)"$|\1|p' "$lib/../bin/workstation"); do source "$lib/$f"; done
            """;
        return Processes.Run("bash", ["-c", prelude + "\n" + script, Lib, .. args], seconds: 120);
    }

    /// <summary>The verbs of the table, each with the options its parser accepts ("--name kind").</summary>
    private static Dictionary<string, Dictionary<string, string>> Table()
    {
        var r = Cli("""
            for v in "${WS_VERBS[@]}"; do
              printf 'verb\t%s\n' "$v"
              declare -A k=()
              verb_options "$v" k
              for o in "${!k[@]}"; do printf 'opt\t%s\t%s\t%s\n' "$v" "$o" "${k[$o]}"; done
            done
            """);
        Assert.True(r.Code == 0, r.Err);
        var table = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var line in r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f[0] == "verb") table[f[1]] = new(StringComparer.Ordinal);
            else table[f[1]][f[2]] = f[3];
        }
        return table;
    }

    /// <summary>The usage's block for each verb: its line and continuation lines, with its notes.</summary>
    private static Dictionary<string, string> UsageBlocks(string usage)
    {
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var sb = new StringBuilder();
        foreach (var line in usage.Split('\n'))
        {
            if (line.StartsWith("  workstation ", StringComparison.Ordinal) || line.Length == 0)
            {
                if (current is not null) blocks[current] = sb.ToString();
                current = line.Length == 0 ? null : line;
                sb.Clear();
            }
            sb.Append(line).Append('\n');
        }
        return blocks;
    }

    [Fact]
    public void The_usage_names_every_verb_of_the_table_with_every_option_its_parser_accepts()
    {
        var table = Table();
        Assert.True(table.Count >= 30, $"the table holds {table.Count} verbs");
        var usage = Cli("usage_text");
        Assert.Equal(0, usage.Code);
        var blocks = UsageBlocks(usage.Out);
        foreach (var (verb, options) in table)
        {
            // The verb's block: its first line is "workstation VERB" and then its words.
            var key = blocks.Keys.SingleOrDefault(k => Regex.IsMatch(k, $"^  workstation {Regex.Escape(verb)}( |$)")
                && !table.Keys.Any(longer => longer != verb && longer.StartsWith(verb + " ", StringComparison.Ordinal)
                    && Regex.IsMatch(k, $"^  workstation {Regex.Escape(longer)}( |$)")));
            Assert.True(key is not null, $"the usage has no line for `workstation {verb}`:\n{usage.Out}");
            foreach (var option in options.Keys)
                Assert.True(Regex.IsMatch(blocks[key], $@"(^|[\s\[]){Regex.Escape(option)}([\s\]]|$)"),
                    $"`workstation {verb}` accepts {option}, and its usage does not name it:\n{blocks[key]}");
        }
    }

    [Fact]
    public void The_parser_accepts_exactly_the_options_of_the_usage()
    {
        var table = Table();
        var probes = new List<string>();
        foreach (var (verb, options) in table)
        {
            var style = Cli("printf '%s' \"${WS_VERB_STYLE[$1]}\"", verb).Out;
            if (style == "raw") continue;
            var user = style is "user" or "one" ? "alice " : "";
            foreach (var (option, kind) in options)
                probes.Add($"{verb}\t{user}{option}{(kind == "switch" ? "" : " x")}\tknown");
            probes.Add($"{verb}\t{user}--not-an-option\tunknown");
        }
        // One bash for all probes: each parse in its own subshell, its stderr and code kept.
        var r = Cli("""
            while IFS=$'\t' read -r verb words want; do
              read -r -a w <<<"$words"
              declare -A got=()
              err="$( (parse_args "$verb" got "${w[@]}") 2>&1 >/dev/null)" && rc=0 || rc=$?
              printf '%s\t%s\t%s\t%s\t%s\n' "$verb" "$words" "$want" "$rc" "${err//$'\n'/ }"
            done
            """.Replace("done", "done <<<\"$1\"", StringComparison.Ordinal), string.Join('\n', probes));
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(probes.Count, lines.Length);
        foreach (var line in lines)
        {
            var f = line.Split('\t');
            var unknown = f[4].Contains("unknown option", StringComparison.Ordinal) || f[4].Contains("unknown argument", StringComparison.Ordinal);
            if (f[2] == "known") Assert.False(unknown, $"`{f[0]} {f[1]}`: the usage names the option and the parser refuses it: {f[4]}");
            else Assert.True(f[3] == "2" && unknown, $"`{f[0]} {f[1]}` was not refused as unknown (exit {f[3]}): {f[4]}");
        }
    }

    /// <summary>Every option a verb reads from its parsed arguments (args[--name], given[--name]) is one of the table's.</summary>
    [Fact]
    public void Every_option_a_verb_reads_is_in_the_table()
    {
        var known = Table().Values.SelectMany(o => o.Keys).ToHashSet(StringComparer.Ordinal);
        var read = Directory.EnumerateFiles(Lib, "*.sh", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Where(l => !l.TrimStart().StartsWith('#'))
                .SelectMany(l => ReadOption().Matches(l)).Select(m => (File: Path.GetFileName(f), Option: m.Groups[1].Value)))
            .ToList();
        Assert.NotEmpty(read);
        var missing = read.Where(r => !known.Contains(r.Option)).Select(r => $"{r.File}: {r.Option}").Distinct().ToList();
        Assert.True(missing.Count == 0, "read but in no verb's synopsis (cli.sh): " + string.Join(", ", missing));
    }

    [GeneratedRegex(@"\[""?(--[a-z][a-z0-9-]*)""?\]")]
    private static partial Regex ReadOption();

    /// <summary>docs/host.md spells each verb it shows exactly as the table does (a continued line joined).</summary>
    [Fact]
    public void Docs_host_md_spells_each_verb_as_the_table_does()
    {
        var r = Cli("""for v in "${WS_VERBS[@]}"; do printf '%s\t%s\n' "$v" "$(verb_usage "$v")"; done""");
        Assert.True(r.Code == 0, r.Err);
        var table = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        var lines = File.ReadAllLines(Path.Combine(TestFiles.Root, "docs", "host.md"));
        var shown = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("workstation ", StringComparison.Ordinal)) continue;
            var full = lines[i];
            while (full.EndsWith('\\') && i + 1 < lines.Length) full = full[..^1] + " " + lines[++i].Trim();
            full = Regex.Replace(full, @"\s+", " ").Trim();
            var words = full.Split(' ');
            var verb = new[] { 4, 3, 2 }.Select(n => string.Join(' ', words.Skip(1).Take(n - 1))).FirstOrDefault(table.ContainsKey);
            if (verb is null) continue;
            shown++;
            Assert.Equal(table[verb], full);
        }
        Assert.True(shown >= 20, $"docs/host.md shows {shown} verbs");
    }

    [Fact]
    public void The_workstation_command_prints_the_usage_of_the_table()
    {
        var usage = Cli("usage_text");
        var r = Processes.Run("bash", [Path.Combine(TestFiles.Root, "host", "bin", "workstation")]);
        Assert.Equal(2, r.Code);
        Assert.Equal(usage.Out + "workstation: bad argument: expected: workstation NOUN VERB ...\n", r.Err);
    }

    /// <summary>
    /// Each golden line (the strings the Pulumi program sends) parses, and to exactly the values
    /// it spells: USER, each option's value, each switch as 1; the user steps' own checks pass too.
    /// </summary>
    [Fact]
    public void Every_golden_line_parses_to_the_values_it_spells()
    {
        var lines = File.ReadAllLines(TestFiles.GoldenCommands)
            .Select(l => l.Split('\t', 2)[1])
            .Where(l => l.StartsWith(HostCommands.Cli + " ", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(lines);
        var parsed = 0;
        foreach (var line in lines)
        {
            var r = Cli("""
                eval "set -- $1"
                shift
                verb="$1 $2"
                [[ -n "${WS_VERB_STYLE["$verb $3"]+set}" ]] && verb="$verb $3"
                shift "$(wc -w <<<"$verb")"
                [[ "${WS_VERB_STYLE[$verb]}" != raw ]] || { echo raw; exit 0; }
                declare -A got=() checked=()
                parse_args "$verb" got "$@"
                [[ "${WS_VERB_STYLE[$verb]}" != user ]] || parse_user_args "$verb" checked "$@"
                for k in "${!got[@]}"; do [[ "$k" == order ]] || printf '%s\t%s\n' "$k" "${got[$k]}"; done | sort
                """, line);
            Assert.True(r.Code == 0, $"`{line}` did not parse:\n{r.Err}");
            if (r.Out == "raw\n") continue;
            parsed++;
            Assert.Equal(Spelled(line), r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal));
        }
        Assert.True(parsed >= 15, $"{parsed} golden lines parsed");
    }

    /// <summary>"user\tUSER" and "--name\tVALUE" (a switch: 1) as the line spells them (words as sh reads single quotes).</summary>
    private static HashSet<string> Spelled(string line)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false, any = false;
        foreach (var c in line)
        {
            if (c == '\'') { quoted = !quoted; any = true; }
            else if (c == ' ' && !quoted) { if (any) words.Add(sb.ToString()); sb.Clear(); any = false; }
            else { sb.Append(c); any = true; }
        }
        if (any) words.Add(sb.ToString());
        var verbWords = words[2] is "account" or "code" or "services" or "secrets" ? 3 : 2;
        var rest = words.Skip(1 + verbWords).ToList();
        var want = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rest.Count; i++)
        {
            if (!rest[i].StartsWith("--", StringComparison.Ordinal)) want.Add("user\t" + rest[i]);
            else if (i + 1 < rest.Count && !rest[i + 1].StartsWith("--", StringComparison.Ordinal)) want.Add($"{rest[i]}\t{rest[++i]}");
            else want.Add(rest[i] + "\t1");
        }
        return want;
    }

    /// <summary>The messages of each parsing style, as the verbs have always given them (exit 2).</summary>
    [Theory]
    [InlineData("user code apply", "alice --bogus", "unknown option --bogus (usage: workstation user code apply USER [--repo-token])")]
    [InlineData("user code apply", "alice bob", "unexpected argument bob (USER is already alice)")]
    [InlineData("user code apply", "-- alice", "unexpected argument alice")]
    [InlineData("user services stop", "", "usage: workstation user services stop USER")]
    [InlineData("user suspend", "alice --bogus", "unknown option --bogus")]
    [InlineData("user suspend", "alice bob", "unexpected argument bob")]
    [InlineData("user suspend", "alice --", "unknown option --")]
    [InlineData("user status", "", "usage: workstation user status USER [--json]")]
    [InlineData("user purge", "alice --archive-dir", "--archive-dir: needs a value")]
    [InlineData("site apply", "--repo-url a --repo-url b", "--repo-url given twice")]
    [InlineData("site apply", "--bogus", "unknown argument --bogus")]
    [InlineData("status", "--x", "unknown argument --x (usage: workstation status [--json])")]
    [InlineData("backup apply", "--x", "unknown argument --x")]
    [InlineData("base apply", "--swap-size 8GB --bogus", "--swap-size 8GB: like 8G or 512M")]
    [InlineData("base apply", "--bogus --swap-size 8GB", "unknown argument --bogus")]
    [InlineData("tools install", "--mirror relative", "--tools-mirror relative: an http(s) URL or an absolute folder, like https://mirror.example/tools or /srv/tools")]
    public void Each_parsing_style_names_a_bad_word_as_it_always_has(string verb, string words, string message)
    {
        var r = Cli("""read -r -a w <<<"$2"; declare -A got=(); parse_args "$1" got "${w[@]}" """, verb, words);
        Assert.Equal(2, r.Code);
        Assert.Equal($"workstation: bad argument: {message}\n", r.Err);
    }

    [Theory]
    [InlineData("alice --tier power-user --cluster-binding c --cluster-binding c", "--cluster-binding c: listed twice")]
    [InlineData("alice --tier power-user --external-binding ns/a --external-binding ns/b", "--external-binding ns/b: namespace ns is named twice")]
    [InlineData("alice --tier power-user --kube-auth ''", "--kube-auth: '' is not one of: oidc service-account-token ")]
    [InlineData("alice", "--tier is required")]
    public void The_account_step_checks_its_values_as_it_always_has(string words, string message)
    {
        var r = Cli("""eval "set -- $1"; declare -A a=(); parse_user_args "user account apply" a "$@" """, words);
        Assert.Equal(2, r.Code);
        Assert.Equal($"workstation: bad argument: {message}\n", r.Err);
    }

    /// <summary>Bindings reach the account step's record in the order given, both kinds interleaved.</summary>
    [Fact]
    public void Bindings_keep_their_order()
    {
        var r = Cli("""declare -A a=(); parse_user_args "user account apply" a alice --tier power-user --cluster-binding c1 --external-binding ns/r --cluster-binding c2; printf '%s' "${a[bindings]}" """);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("ClusterRoleBinding c1\nRoleBinding ns r\nClusterRoleBinding c2", r.Out);
    }
}

/// <summary>Host functions stay small: a step longer than a screen is split into ensure_* steps.</summary>
public partial class HostFunctionTests
{
    private const int MaxLines = 60;

    /// <summary>NAME() { at the start of a line, through the first "}" at the start of a line.</summary>
    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{")]
    private static partial Regex FunctionStart();

    /// <summary>Every function of every bash file under host/ and its length in lines.</summary>
    internal static IEnumerable<(string File, string Name, int Lines)> Functions(string hostDir)
    {
        foreach (var file in Directory.EnumerateFiles(hostDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            if (lines.Length == 0 || !(lines[0].StartsWith("#!/usr/bin/env bash", StringComparison.Ordinal) || lines[0] == "# shellcheck shell=bash"))
                continue;
            for (var i = 0; i < lines.Length; i++)
            {
                var m = FunctionStart().Match(lines[i]);
                var rest = m.Success ? lines[i][m.Length..].Trim() : "";
                if (!m.Success || (rest.EndsWith('}') && !rest.StartsWith('#'))) continue; // a one-line function
                var end = Array.FindIndex(lines, i + 1, l => l.StartsWith('}'));
                Assert.True(end > i, $"{file}:{i + 1}: {m.Groups[1].Value} has no closing brace at the start of a line");
                yield return (Path.GetRelativePath(TestFiles.Root, file), m.Groups[1].Value, end - i + 1);
                i = end;
            }
        }
    }

    [Fact]
    public void No_host_function_is_longer_than_60_lines()
    {
        var all = Functions(Path.Combine(TestFiles.Root, "host")).ToList();
        Assert.True(all.Count > 200, $"found {all.Count} functions");
        var tooLong = all.Where(f => f.Lines > MaxLines).Select(f => $"{f.File}: {f.Name} ({f.Lines} lines)").ToList();
        Assert.True(tooLong.Count == 0, $"over {MaxLines} lines; split into small ensure_* steps: " + string.Join(", ", tooLong));
    }
}
