using System.Globalization;
using System.Text.RegularExpressions;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 26 §9: every rule the host re-checks (host/lib/validate.sh on the generated rules.sh)
/// is run on both sides with the same values, the values at each limit, one below and one above
/// included: the roster loader (the engine) and the host's own check must say the same. Runs
/// bash locally on the repository's host/lib (<see cref="HostRulesTests.HostCheck"/>), no box.
/// </summary>
public class HostAgreementTests
{
    /// <summary>The engine's verdict on an entry for pat with <paramref name="extra"/> lines: loads without an error.</summary>
    private static bool EngineTakes(string extra, int t3 = 3774, int pw = 8932) =>
        RosterLoader.Load(TestFiles.Head + TestFiles.User("pat", t3, pw, extra: extra)).Ok;

    private static void Agree(bool engine, int host, string what)
    {
        Assert.True(engine == (host == 0), $"engine says {(engine ? "valid" : "invalid")}, host exits {host} for {what}");
        if (!engine) Assert.Equal(2, host);
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    public static TheoryData<int> Uids() =>
    [
        0, 1, Rules.MinUid - 1, Rules.MinUid, Rules.MinUid + 1, Rules.MaxUid - 1, Rules.MaxUid, Rules.MaxUid + 1, 65534, 99999, 100000,
    ];

    /// <summary>A pinned uid: the roster's uid: and the host's --uid (valid_uid) take exactly the same numbers, MinUid and MaxUid included.</summary>
    [Theory]
    [MemberData(nameof(Uids))]
    public void Rule_the_host_takes_a_uid_exactly_when_the_roster_does(int uid)
    {
        var engine = EngineTakes($"    uid: {N(uid)}\n");
        Assert.Equal(uid is >= Rules.MinUid and <= Rules.MaxUid, engine);
        Agree(engine, HostRulesTests.HostCheck("valid_uid \"$1\"", N(uid)), $"uid {uid}");
    }

    public static TheoryData<int> PortValues() =>
    [
        0, 1, 999, Rules.MinPort - 1, Rules.MinPort, Rules.MinPort + 1, 9999, 10000, Rules.MaxPort - 1, Rules.MaxPort, Rules.MaxPort + 1, 99999, 100000,
    ];

    /// <summary>Both ports of an entry (t3 and playwright) and the host's valid_port: the same range, at both ends.</summary>
    [Theory]
    [MemberData(nameof(PortValues))]
    public void Rule_the_host_takes_a_port_exactly_when_the_roster_does(int port)
    {
        var host = HostRulesTests.HostCheck("valid_port \"$1\" --t3-port", N(port));
        foreach (var engine in new[] { EngineTakes("", t3: port), EngineTakes("", pw: port) })
        {
            Assert.Equal(port is >= Rules.MinPort and <= Rules.MaxPort, engine);
            Agree(engine, host, $"port {port}");
        }
    }

    public static TheoryData<string> MemorySizes() =>
    [
        // The floor, 64M, in each unit, one below and one above.
        N(Budgets.MinMemory - 1), N(Budgets.MinMemory), N(Budgets.MinMemory + 1),
        "65535K", "65536K", "65537K", "63M", "64M", "65M",
        // The ceiling, 16T (2^44): in bytes it needs 14 digits, which the pattern refuses.
        "16383G", "16384G", "16385G", "15T", "16T", "17T", "16777215M", "16777216M", "16777217M",
        N(Budgets.MaxMemory - 1), N(Budgets.MaxMemory), "9999999999999", "9999999999999K",
        // Digits that overflow 64 bits once shifted: a wrap-around must not land within the bounds.
        "16777217T", "16777216T", "17179869185G", "17179869184G", "9999999999999T", "9999999999999G", "8796093022209M",
        // Not sizes.
        "0", "0G", "04G", "4g", "4GB", "1.5G", "-1G", "infinity", "", "4G\n", " 4G",
    ];

    /// <summary>
    /// A memory budget (memory_high, memory_max) and the host's --memory-high/--memory-max
    /// (valid_memory_size): the same pattern and the same bounds, and where both take a size, the
    /// same number of bytes (the host's size_bytes against the engine's Sizes.Parse).
    /// </summary>
    [Theory]
    [MemberData(nameof(MemorySizes))]
    public void Rule_the_host_takes_a_memory_size_exactly_when_the_roster_does(string size)
    {
        // Double-quoted in the YAML, so the loader sees the value itself (a plain scalar would lose its spaces).
        var yaml = size.Replace("\n", "\\n", StringComparison.Ordinal);
        var engine = EngineTakes($"    budget: {{ memory_high: \"{yaml}\", memory_max: \"{yaml}\" }}\n");
        var bytes = Sizes.Parse(size);
        Assert.Equal(bytes is >= Budgets.MinMemory and <= Budgets.MaxMemory, engine);
        var host = HostRulesTests.HostCheck("valid_memory_size \"$1\" --memory-high", size);
        Agree(engine, host, $"'{yaml}'");
        if (engine) Assert.Equal(0, HostRulesTests.HostCheck($"[[ \"$(size_bytes \"$1\")\" == {N(bytes!.Value)} ]]", size));
    }

    public static TheoryData<string, int> BudgetCounts()
    {
        var data = new TheoryData<string, int>();
        foreach (var v in new[] { 0, Budgets.MinCpuWeight, Budgets.MinCpuWeight + 1, Budgets.MaxCpuWeight - 1, Budgets.MaxCpuWeight, Budgets.MaxCpuWeight + 1 })
            data.Add("cpu_weight", v);
        foreach (var v in new[] { 0, Budgets.MinTasksMax - 1, Budgets.MinTasksMax, Budgets.MinTasksMax + 1, Budgets.MaxTasksMax - 1, Budgets.MaxTasksMax, Budgets.MaxTasksMax + 1, 999999999 })
            data.Add("tasks_max", v);
        return data;
    }

    /// <summary>A budget's counts (cpu_weight, tasks_max) and the host's --cpu-weight/--tasks-max (valid_range on the generated bounds).</summary>
    [Theory]
    [MemberData(nameof(BudgetCounts))]
    public void Rule_the_host_takes_a_budget_count_exactly_when_the_roster_does(string field, int value)
    {
        var engine = EngineTakes($"    budget: {{ {field}: {N(value)} }}\n");
        var (min, max, bounds) = field == "cpu_weight"
            ? (Budgets.MinCpuWeight, Budgets.MaxCpuWeight, "\"$WS_MIN_CPU_WEIGHT\" \"$WS_MAX_CPU_WEIGHT\" --cpu-weight")
            : (Budgets.MinTasksMax, Budgets.MaxTasksMax, "\"$WS_MIN_TASKS_MAX\" \"$WS_MAX_TASKS_MAX\" --tasks-max");
        Assert.Equal(value >= min && value <= max, engine);
        Agree(engine, HostRulesTests.HostCheck($"valid_range \"$1\" {bounds}", N(value)), $"{field} {value}");
    }

    /// <summary>
    /// Each generated pattern (WS_RE_* in rules.sh) with the engine's Regex it comes from, and the
    /// values that sit at its edges: the longest it takes and one longer, the first and last
    /// character classes, and hostile values (a final newline, a space, a non-ASCII look-alike).
    /// </summary>
    private static readonly Dictionary<string, (Regex Engine, string[] Values)> Patterns = new(StringComparer.Ordinal)
    {
        ["WS_RE_OS_USER"] = (Rules.OsUser(), ["a", "a1", "a-b", new('a', 32), new('a', 33), "a-", "-a", "1a", "a_b", "A", "\u0430"]),
        ["WS_RE_ACCOUNT"] = (Rules.AccountName(), ["a", "_a", "a_", "a-", new('a', 32), new('a', 33), "_" + new string('a', 31), "-a", "1a", "A"]),
        ["WS_RE_AUTHENTIK"] = (Rules.AuthentikUser(), ["a", "a.b@c-d_e", new('a', 64), new('a', 65), "a:b", "a/b", "a+b"]),
        ["WS_RE_SWAP_SIZE"] = (Rules.SwapSize(), ["1M", "1G", "512M", "9999G", "10000G", "99999M", "0G", "01G", "512K", "4T", "8g", "8", "8GB"]),
        ["WS_RE_HOST_PATH"] = (Rules.HostPath(), ["/a", "/a/b", "/-a", "/a.b", "/a..b", "/", "/.a", "/a/.b", "a", "/a//b", "/a/", "//a", "/a:b"]),
        ["WS_RE_RESTIC_REPO"] = (Rules.ResticRepository(), ["/srv/r", "/", "sftp:u@h:/r", "rest:https://h:8000/r", "s3:s3.example/b", "rclone:r:p", "ftp:x", "sftp:", "srv/r", "/srv r", "s3:a b"]),
        ["WS_RE_ON_CALENDAR"] = (Rules.OnCalendar(), ["daily", "*-*-* 03:00:00", "Mon..Fri 9:00", new('a', 64), new('a', 65), "a;b", "a\tb"]),
        ["WS_RE_MEMORY_SIZE"] = (Rules.MemorySize(), ["1", "4G", "1" + new string('0', 12), "1" + new string('0', 13), "9999999999999T", "0", "01", "4g", "4GB", "4P", "1.5G"]),
        ["WS_RE_TOOLS_MIRROR"] = (Rules.ToolsMirror(), ["https://m.example/x", "http://m", "https://m.example/a?b=c&d=%20", "/srv/m", "/srv/m/.x", "/.m", "https://u@m", "ftp://m", "m", "https://m x"]),
        ["WS_RE_NPM_PIN"] = (Rules.NpmPin(), ["t3@1.2.3", "t3@0.0.0", "@s/t3@1.2.3-rc.1", "t3@1.2.3+" + new string('b', 40), "t3@1.2.3+" + new string('b', 41),
            new string('n', 101) + "@1.2.3", new string('n', 102) + "@1.2.3", "@" + new string('s', 61) + "/t@1.2.3", "@" + new string('s', 62) + "/t@1.2.3",
            "t3@latest", "t3@^1.2.3", "t3@1.2", "t3", "T3@1.2.3"]),
        ["WS_RE_CONFIG_BASE_REF"] = (Rules.ConfigBaseRef(), ["main", "v1.2", "feature/x", new('a', 100), new('a', 101), "-x", ".x", "/x", "a b", "a~1"]),
        ["WS_RE_COMMIT_HASH"] = (Rules.CommitHash(), [new('a', 40), new('0', 40), new('a', 39), new('a', 41), new('A', 40), new('g', 40)]),
        ["WS_RE_NODE_EXPORTER"] = (Rules.NodeExporter(), ["loopback", "off", "127.0.0.1:9100", "0.0.0.0:1", "255.255.255.255:65535", "199.249.250.251:65534",
            "256.0.0.1:9100", "1.2.3.4:65536", "1.2.3.4:0", "1.2.3.4:09100", "01.2.3.4:9100", "1.2.3:9100", "1.2.3.4", "on", "[::1]:9100"]),
        ["WS_RE_DNS1123_LABEL"] = (Rules.Dns1123Label(), ["a", "0", "a-b", new('a', 63), new('a', 64), "a-", "-a", "a.b", "A", "a_b"]),
        ["WS_RE_DNS1123_SUBDOMAIN"] = (Rules.Dns1123Subdomain(), ["a", "a.b", "a-b.c", new('a', 300), "a..b", ".a", "a.", "a-.b", "A.b"]),
    };

    /// <summary>Values no pattern takes, each tried against every one.</summary>
    private static readonly string[] Hostile = ["", "a\n", "\na", "a b", "a\u00e4", "a;b", "a$b", "*"];

    public static TheoryData<string, string> PatternValues()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, (_, values)) in Patterns)
            foreach (var v in values.Concat(Hostile).Distinct(StringComparer.Ordinal)) data.Add(name, v);
        return data;
    }

    /// <summary>Every WS_RE_* constant rules.sh generates has a row in <see cref="Patterns"/>, and it is the engine's pattern.</summary>
    [Fact]
    public void Rule_every_generated_pattern_has_an_agreement_test()
    {
        var generated = Regex.Matches(File.ReadAllText(Path.Combine(TestFiles.Root, HostRules.RelativePath)), @"^readonly (WS_RE_[A-Z0-9_]+)='([^']*)'$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        Assert.Equal(generated.Keys.Order(StringComparer.Ordinal), Patterns.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (engine, _)) in Patterns) Assert.Equal(Rules.Display(engine), generated[name]);
    }

    /// <summary>
    /// Bash's =~ (in the C locale the host's entry point sets) takes a value exactly when .NET's
    /// Regex does, for every generated pattern: the two dialects read each construct the same way.
    /// </summary>
    [Theory]
    [MemberData(nameof(PatternValues))]
    public void Rule_bash_and_the_engine_read_each_generated_pattern_alike(string pattern, string value)
    {
        var engine = Patterns[pattern].Engine.IsMatch(value);
        var host = HostRulesTests.HostCheck($"export LC_ALL=C; [[ \"$1\" =~ ${pattern} ]]", value);
        Assert.True(engine == (host == 0), $"{pattern}: engine says {(engine ? "match" : "no match")}, bash exits {host} for '{value}'");
    }

    /// <summary>
    /// The swap file's size: where the pattern takes it (the stack's swapSize, the base step's
    /// --swap-size), the host's size_bytes (what swap.sh compares the file with) is the engine's
    /// byte count, the largest (9999G) included.
    /// </summary>
    [Theory]
    [InlineData("1M")]
    [InlineData("512M")]
    [InlineData("9999M")]
    [InlineData("1G")]
    [InlineData("9999G")]
    public void Rule_the_host_reads_a_swap_size_as_the_same_bytes(string size)
    {
        Assert.Matches(Rules.SwapSize(), size);
        Assert.Equal(0, HostRulesTests.HostCheck($"[[ \"$1\" =~ $WS_RE_SWAP_SIZE && \"$(size_bytes \"$1\")\" == {N(Sizes.Parse(size)!.Value)} ]]", size));
    }

    /// <summary>
    /// The backup's largest file (--max-file-size, restic's --exclude-larger-than): the host takes
    /// the engine's memory-size pattern, and its default is one it takes (backup run falls back to it).
    /// </summary>
    [Theory]
    [InlineData("1", true)]
    [InlineData(Rules.DefaultBackupMaxFileSize, true)]
    [InlineData("9999999999999T", true)]
    [InlineData("99999999999999", false)]
    [InlineData("0", false)]
    [InlineData("4GB", false)]
    public void Rule_the_backup_max_file_size_is_a_size_the_engine_reads(string size, bool ok)
    {
        Assert.Equal(ok, Rules.MemorySize().IsMatch(size));
        Assert.Equal(ok ? 0 : 1, HostRulesTests.HostCheck("[[ \"$1\" =~ $WS_RE_MEMORY_SIZE ]]", size));
        Assert.Equal(0, HostRulesTests.HostCheck("[[ \"$WS_DEFAULT_BACKUP_MAX_FILE_SIZE\" == \"$1\" && \"$1\" =~ $WS_RE_MEMORY_SIZE ]]", Rules.DefaultBackupMaxFileSize));
    }

    public static TheoryData<string> BindingLengths() =>
    [
        new('a', Rules.MaxDns1123Subdomain - 1), new('a', Rules.MaxDns1123Subdomain), new('a', Rules.MaxDns1123Subdomain + 1),
        string.Join('.', Enumerable.Repeat(new string('b', 63), 3)) + "." + new string('c', 61),
        string.Join('.', Enumerable.Repeat(new string('b', 63), 3)) + "." + new string('c', 62),
    ];

    /// <summary>A ClusterRoleBinding name at the subdomain limit (253), one below and one above: the loader's cluster_bindings and the host's --cluster-binding.</summary>
    [Theory]
    [MemberData(nameof(BindingLengths))]
    public void Rule_the_host_takes_a_binding_name_of_the_limits_length_exactly_when_the_roster_does(string name)
    {
        var roster = TestFiles.Head + TestFiles.User("pat", 3774, 8932) + $"retired:\n  gone:\n    ports: {{ t3: 3790, playwright: 8990 }}\n    cluster_bindings: [{name}]\n";
        var engine = RosterLoader.Load(roster).Ok;
        Assert.Equal(name.Length <= Rules.MaxDns1123Subdomain, engine);
        Agree(engine, HostRulesTests.HostCheck("valid_binding_name \"$1\" --cluster-binding ClusterRoleBinding", name), $"a name of {name.Length} characters");
    }

    public static TheoryData<int, int> IdleEdges()
    {
        var data = new TheoryData<int, int>();
        foreach (var minutes in new[] { 0, 1, Rules.DefaultRestartIdleMinutes, Rules.MaxRestartIdleMinutes })
            foreach (var offset in new[] { -1, 0, 1 })
                if (minutes * 60 + offset >= 0) data.Add(minutes, offset);
        return data;
    }

    /// <summary>
    /// The idle gate (idle.sh restart_if_idle, with the box's parts stubbed): a pending restart
    /// happens once the person has been idle the stack's restartIdleMinutes exactly, not a second
    /// before, for every number of minutes the stack takes (0-1440).
    /// </summary>
    [Theory]
    [MemberData(nameof(IdleEdges))]
    public void Rule_the_idle_gate_restarts_at_the_configured_minutes_and_not_a_second_before(int minutes, int offset)
    {
        const string Stubs = "source \"$0/idle.sh\"; read -r minutes IDLE <<<\"$1\"; SITE[RESTART_IDLE_MINUTES]=\"$minutes\"; " +
            "idle_seconds() { echo \"$IDLE\"; }; sessions_in_use() { echo 0; }; pending_units() { echo t3-serve@pat.service; }; " +
            "systemctl() { [[ \"$1\" != restart ]] || echo restarted; }; remove_file() { :; }; record_unit_start() { :; }; changed() { :; }; log() { :; }; firewall_apply() { :; }; ";
        var idle = minutes * 60 + offset;
        Assert.Equal(offset >= 0 ? 0 : 1, HostRulesTests.HostCheck(Stubs + "[[ \"$(restart_if_idle pat)\" == restarted ]]", $"{N(minutes)} {N(idle)}"));
    }

    /// <summary>The stack leaves --restart-idle-minutes out at its default (HostCommands): the host's own default must be the same minutes.</summary>
    [Fact]
    public void Rule_the_hosts_idle_default_is_the_engines()
    {
        Assert.Equal(0, HostRulesTests.HostCheck($"source \"$0/idle.sh\"; SITE=(); [[ \"$(restart_idle_seconds)\" == \"$1\" ]]", N(Rules.DefaultRestartIdleMinutes * 60)));
    }

    public static TheoryData<int> SlotUids() => [Rules.MinUid - 1, Rules.MinUid, Rules.MinUid + 1, Rules.MaxUid - 1, Rules.MaxUid, Rules.MaxUid + 1];

    /// <summary>
    /// Subordinate ids: the account step (account.sh ensure_subids, with id, grep and usermod
    /// stubbed and no PATH, so nothing on this machine is touched) gives a uid exactly the range
    /// Rules.SubIdStart gives it, at both ends of the person's uids, and none outside them.
    /// </summary>
    [Theory]
    [MemberData(nameof(SlotUids))]
    public void Rule_the_host_gives_a_uid_the_engines_subordinate_range(int uid)
    {
        string? range = uid is >= Rules.MinUid and <= Rules.MaxUid ? $"{N(Rules.SubIdStart(uid))}-{N(Rules.SubIdStart(uid) + Rules.SubIdCount - 1)}" : null;
        var want = range is null ? "" : $"--add-subuids {range} --add-subgids {range} -- pat";
        const string Stubs = "source \"$0/account.sh\"; PATH=/nonexistent; id() { echo \"$UIDV\"; }; grep() { return 1; }; " +
            "usermod() { printf '%s' \"$*\"; }; changed() { :; }; warn() { :; }; UIDV=\"${1%% *}\"; ";
        Assert.Equal(0, HostRulesTests.HostCheck(Stubs + "[[ \"$(ensure_subids pat)\" == \"${1#* }\" ]]", $"{N(uid)} {want}"));
    }
}
