
namespace Host.Tests;

/// <summary>
/// `user secrets apply|remove` on the booted box, with the real claude CLI: every shared secret
/// lands where absent, as the person, private; existing files keep their bytes; a rotation
/// rewrites only its secret; the cut takes them out; and no value is ever in a process's arguments.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class SecretsTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private const string MemoryUrl = "http://127.0.0.1:9/memory";

    // The repo token stages and clones: KubeloginTests' neighbour RepoCredentialTests covers it (issue 24 §4).
    private static readonly SharedSecret[] All = [.. SharedSecrets.All.Where(s => s != SharedSecret.RepoToken)];

    /// <summary>Marker values, unique per person and round, so a search finds only these.</summary>
    private static Dictionary<string, string> Values(string user, string round) => new(StringComparer.Ordinal)
    {
        ["beads-key"] = $"beads-{user}-{round}-b7e1",
        ["claude-credentials"] = $"{{\"claudeAiOauth\":{{\"accessToken\":\"cred-{user}-{round}-c4d2\"}}}}",
        ["ha-url"] = $"http://127.0.0.1:9/ha/haurl-{user}-{round}-a9f3",
        ["memory-key"] = $"memkey-{user}-{round}-d5c8",
        ["snapshot-token"] = $"snap-{user}-{round}-e6b0",
        ["kube-token"] = $"kube-{user}-{round}-f2a7",
    };

    private static string Bundle(Dictionary<string, string> v) => JsonSerializer.Serialize(v);

    private static string Apply(TestUser u, IReadOnlyDictionary<SharedSecret, int>? rotate = null) =>
        HostCommands.Secrets(u.Derived(), All, rotate ?? new Dictionary<SharedSecret, int>(), MemoryUrl);

    /// <summary>sha256, mode and owner of each staged file, and the user-scope servers in ~/.claude.json.</summary>
    private static string Facts(TestUser u) => $$"""
        cd {{u.Home}}
        for f in .claude/.credentials.json .config/workstation/snapshot-token .config/workstation/kube-token code/.beads/.beads-credential-key .claude/settings.json .claude.json; do
          if [ -e "$f" ]; then echo "$f $(stat -c '%a %U' "$f") $(sha256sum < "$f" | cut -c1-16)"; else echo "$f absent"; fi
        done
        for d in .claude .config/workstation code/.beads; do echo "$d/ $(stat -c '%a %U' "$d")"; done
        echo "servers $(jq -c '.mcpServers | keys' .claude.json)"
        """;

    private static string Line(string facts, string prefix) => facts.Split('\n').Single(l => l.StartsWith(prefix + " ", StringComparison.Ordinal));

    [Fact]
    public async Task Staging_writes_every_secret_privately_as_the_person_the_real_cli_lists_the_servers_and_no_value_is_ever_an_argument()
    {
        var sa = new TestUser("sa1", 2311, 4311, 4411);
        await box.OnboardAsync(sa, Bounded);
        await box.ScriptAsync($"runuser -u {sa.Name} -- mkdir -p {sa.Home}/code/.beads");
        var v = Values(sa.Name, "r1");

        // Every process's argument vector, sampled while the step runs. The control proves the scan sees arguments.
        var scan = await ArgvScan.StartAsync(box, "ws-secrets-scan", v.Values.Select(x => x.Split('"').Length > 3 ? x.Split('"')[5] : x), "control-9c1e", maxSeconds: 120);
        var first = await box.MustAsync(Apply(sa), stdin: Bundle(v), timeout: Bounded);
        var found = await scan.StopAsync();
        Assert.Contains("control-9c1e", found, StringComparison.Ordinal);
        Assert.DoesNotContain(found.Split('\n'), l => l.Length > 0 && !l.Contains("control-9c1e", StringComparison.Ordinal) && !l.Contains("grep -F", StringComparison.Ordinal));
        Assert.All(v.Values, x => Assert.DoesNotContain(x, first.Stdout + first.Stderr, StringComparison.Ordinal));

        var facts = await box.ScriptAsync(Facts(sa));
        Assert.StartsWith(".claude/.credentials.json 600 sa1 ", Line(facts, ".claude/.credentials.json"), StringComparison.Ordinal);
        Assert.StartsWith(".config/workstation/snapshot-token 600 sa1 ", Line(facts, ".config/workstation/snapshot-token"), StringComparison.Ordinal);
        Assert.StartsWith(".config/workstation/kube-token 600 sa1 ", Line(facts, ".config/workstation/kube-token"), StringComparison.Ordinal);
        Assert.StartsWith("code/.beads/.beads-credential-key 600 sa1 ", Line(facts, "code/.beads/.beads-credential-key"), StringComparison.Ordinal);
        Assert.Equal(".claude/ 700 sa1", Line(facts, ".claude/"));
        Assert.Equal(".config/workstation/ 700 sa1", Line(facts, ".config/workstation/"));
        Assert.Equal("code/.beads/ 700 sa1", Line(facts, "code/.beads/"));
        Assert.Equal("servers [\"claude_memory\",\"ha\",\"playwright\"]", Line(facts, "servers"));
        Assert.Equal(v["snapshot-token"] + "\n" + v["beads-key"] + v["claude-credentials"],
            await box.ScriptAsync($"cat {sa.Home}/.config/workstation/snapshot-token {sa.Home}/code/.beads/.beads-credential-key {sa.Home}/.claude/.credentials.json"));

        // The real CLI, as the person, reads the servers back with the staged values.
        var cli = await box.ScriptAsync($$"""
            cd {{sa.Home}}
            runuser -u sa1 -- env HOME={{sa.Home}} timeout 60 claude mcp get ha > /run/ws-ha.out 2>&1 &
            runuser -u sa1 -- env HOME={{sa.Home}} timeout 60 claude mcp get claude_memory > /run/ws-mem.out 2>&1 &
            wait; cat /run/ws-ha.out /run/ws-mem.out; rm -f /run/ws-ha.out /run/ws-mem.out
            """, Bounded);
        Assert.Contains("URL: " + v["ha-url"], cli, StringComparison.Ordinal);
        Assert.Contains("URL: " + MemoryUrl, cli, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer " + v["memory-key"], cli, StringComparison.Ordinal);

        // Attack: another unprivileged account can read none of it.
        var other = await box.RunAsync($"runuser -u nobody -- cat {sa.Home}/.claude/.credentials.json {sa.Home}/.claude.json {sa.Home}/.config/workstation/snapshot-token");
        Assert.NotEqual(0, other.ExitCode);
        Assert.All(v.Values, x => Assert.DoesNotContain(x, other.Stdout, StringComparison.Ordinal));

        // The same run again: nothing to do.
        Assert.Empty((await box.MustAsync(Apply(sa), stdin: Bundle(v), timeout: Bounded)).Changes());

        // The cut leaves no copy behind: not in a file, a backup of ~/.claude.json, or the CLI's logs of the servers.
        await box.MustAsync(HostCommands.RemoveSecrets(sa.Derived())!, timeout: Bounded);
        Assert.Equal("", (await box.ScriptAsync($"grep -rlF -f {scan.Markers} {sa.Home} || true")).Trim());
        await box.MustAsync(sa.Suspend());
    }

    [Fact]
    public async Task Existing_files_keep_their_bytes_a_rotation_rewrites_only_its_secret_and_the_cut_takes_every_secret_out()
    {
        var sb = new TestUser("sb1", 2312, 4312, 4412);
        await box.OnboardAsync(sb, Bounded);
        // A person set up by hand: their own credentials, settings and servers.
        await box.ScriptAsync("""
            runuser -u sb1 -- sh -c 'mkdir -p ~/.claude ~/code/.beads && cd ~ &&
              printf "{\"claudeAiOauth\":{\"accessToken\":\"their-own\"}}" > .claude/.credentials.json &&
              printf "{\"theme\":\"dark\"}\n" > .claude/settings.json &&
              jq ".mcpServers.ha = {type: \"http\", url: \"http://127.0.0.1:9/their-ha\"} | .mcpServers.claude_memory = {type: \"http\", url: \"http://127.0.0.1:9/their-mem\"}" .claude.json > .claude.json.new &&
              mv .claude.json.new .claude.json'
            """);
        var before = await box.ScriptAsync(Facts(sb));

        await box.MustAsync(Apply(sb), stdin: Bundle(Values(sb.Name, "r1")), timeout: Bounded);
        var staged = await box.ScriptAsync(Facts(sb));
        foreach (var f in new[] { ".claude/.credentials.json", ".claude/settings.json", ".claude.json" })
            Assert.Equal(Line(before, f), Line(staged, f));
        Assert.StartsWith(".config/workstation/snapshot-token 600 sb1 ", Line(staged, ".config/workstation/snapshot-token"), StringComparison.Ordinal);

        // Bad input: a bundle without a secret the line names is refused, before anything is touched.
        var bad = await box.RunAsync(Apply(sb), stdin: Bundle(Values(sb.Name, "r2").Where(p => p.Key != "ha-url").ToDictionary()));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("stdin holds the secrets [beads-key,claude-credentials,kube-token,memory-key,snapshot-token], the command line names", bad.Stderr, StringComparison.Ordinal);
        Assert.Equal(staged, await box.ScriptAsync(Facts(sb)));

        // New values in Vault, and a rotation of the snapshot token only: only its file changes.
        var rotated = await box.MustAsync(Apply(sb, new Dictionary<SharedSecret, int> { [SharedSecret.SnapshotToken] = 1 }),
            stdin: Bundle(Values(sb.Name, "r2")), timeout: Bounded);
        Assert.Contains(rotated.Changes(), l => l.EndsWith("sb1: rotated snapshot-token (serial 0 -> 1)", StringComparison.Ordinal));
        var after = await box.ScriptAsync(Facts(sb));
        foreach (var f in new[] { ".claude/.credentials.json", ".claude/settings.json", ".claude.json", "code/.beads/.beads-credential-key" })
            Assert.Equal(Line(staged, f), Line(after, f));
        Assert.NotEqual(Line(staged, ".config/workstation/snapshot-token"), Line(after, ".config/workstation/snapshot-token"));
        Assert.Equal(Values(sb.Name, "r2")["snapshot-token"] + "\n", await box.ScriptAsync($"cat {sb.Home}/.config/workstation/snapshot-token"));

        // The cut: every secret leaves the home, and each is named with its rotation line.
        var cut = await box.MustAsync(HostCommands.RemoveSecrets(sb.Derived())!, timeout: Bounded);
        Assert.Contains("revoke: sb1 held the shared secret snapshot-token; rotate it in Vault, then: pulumi config set --path 'rotate[\"snapshot-token\"]' 2",
            cut.Stderr, StringComparison.Ordinal);
        // Their own ha and claude_memory servers were never recorded as held (issue 24 §11): three secrets.
        Assert.Equal(3, cut.Stderr.Split('\n').Count(l => l.Contains("revoke: sb1 held the shared secret", StringComparison.Ordinal)));
        // Their own kube token: nothing shared to rotate (issue 24 §3).
        Assert.Contains("revoke: sb1 held their own kube-token; revoke it where it was issued", cut.Stderr, StringComparison.Ordinal);
        var gone = await box.ScriptAsync(Facts(sb) + "\ntest -e /etc/workstation/secrets-sb1.env && echo record || echo no-record");
        foreach (var f in new[] { ".claude/.credentials.json", ".config/workstation/snapshot-token", ".config/workstation/kube-token", "code/.beads/.beads-credential-key" })
            Assert.Equal($"{f} absent", Line(gone, f));
        Assert.Equal("servers [\"claude_memory\",\"ha\",\"playwright\"]", Line(gone, "servers"));
        Assert.Equal(Line(before, ".claude/settings.json"), Line(gone, ".claude/settings.json"));
        Assert.Contains("no-record", gone, StringComparison.Ordinal);
        await box.MustAsync(sb.Suspend());
    }
}
