
namespace Host.Tests;

/// <summary>
/// Day one on a devvm set up by hand: `adopt plan` lists every conflict and changes nothing; a
/// shared file Workstation did not write is never overwritten (install and maps refuse, exit 3)
/// until `adopt record` has backed it up and handed it over.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class AdoptTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{
    private const string ForeignUnit = "# written by the hand-made setup\n[Service]\nExecStart=/usr/bin/true\n";
    private const string ForeignDispatch = "{\"users\": [{\"name\": \"wiz.admin\", \"port\": 3773}]}\n";
    private static readonly TestUser Newb = new("newb", 2185, 4391, 4491);
    private static readonly TestUser Leg = new("leg", null, 4392, 4492);

    /// <summary>Every byte the plan could touch: the shared files, the ledger, the homes and units (HostWorld.Snapshot).</summary>
    private static readonly string Bytes = HostWorld.Snapshot + """

        sha256sum /etc/systemd/system/*.service /etc/systemd/system/*.timer /etc/workstation/owned.sha256 \
          /etc/t3-serve/dispatch.json /etc/ttyd-user-map /etc/cron.d/* 2>/dev/null || true
        ls -la /var/backups/workstation 2>/dev/null || true
        """;

    [Fact]
    public async Task The_plan_lists_every_conflict_changes_nothing_and_foreign_files_wait_for_adopt_record()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync($$"""
            set -euo pipefail
            printf '%s' '{{ForeignUnit}}' > /etc/systemd/system/t3-serve@.service
            mkdir -p /etc/t3-serve && printf '%s' '{{ForeignDispatch}}' > /etc/t3-serve/dispatch.json
            echo '17 * * * * root /usr/local/sbin/t3-provision-users.sh' > /etc/cron.d/t3-provision
            getent passwd leg >/dev/null || useradd -m -s /bin/bash leg
            runuser -u leg -- sh -ec 'mkdir -p ~/.config/systemd/user/default.target.wants
              printf "[Service]\nExecStart=/usr/local/bin/playwright-mcp --port 4492\n" > ~/.config/systemd/user/playwright-mcp.service
              ln -sf ../playwright-mcp.service ~/.config/systemd/user/default.target.wants/playwright-mcp.service'
            setsid runuser -u leg -- python3 -m http.server 4391 --bind 127.0.0.1 </dev/null >/dev/null 2>&1 &
            for _ in $(seq 1 50); do grep -q ':112F 00000000:0000 0A' /proc/net/tcp && break; sleep 0.1; done
            """, Bounded);
        try
        {
            await using var quiet = await box.QuietAsync();
            var before = await box.ScriptAsync(Bytes, Bounded);
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([Newb.Derived(), Leg.Derived()]), timeout: Bounded);
            var conflicts = plan.Stdout.Split('\n').Where(l => l.StartsWith("conflict: ", StringComparison.Ordinal)).ToList();
            Assert.Equal(
            [
                "conflict: /etc/systemd/system/t3-serve@.service holds content Workstation did not write; first: workstation adopt record /etc/systemd/system/t3-serve@.service (or list it in the stack's takeOver)",
                "conflict: /etc/t3-serve/dispatch.json holds content Workstation did not write; first: workstation adopt record /etc/t3-serve/dispatch.json (or list it in the stack's takeOver)",
                "conflict: /etc/t3-serve/dispatch.json is not in Workstation's format ({AUTHENTIK_USER: {os_user, port}}): the live dispatcher reads another; docs/host.md says what maps apply writes",
                "conflict: user unit /home/leg/.config/systemd/user/playwright-mcp.service (enabled): the system unit would serve the same port; migrate it before the first apply",
                "conflict: legacy reconcile in /etc/cron.d/t3-provision rewrites maps and units: disable it before the first apply",
                "conflict: leg: the account exists and Workstation does not manage it: set adopt: true in the roster to take it over",
            ], conflicts.Take(6));
            Assert.Matches(@"^conflict: port 4391 \(roster: newb\) is held by pid \d+ \(python3, user leg, unit [\w@.-]+\): that service must move or stop before newb's units start$",
                Assert.Single(conflicts.Skip(6)));
            Assert.Contains($"adopt plan: {conflicts.Count} conflict(s); nothing was changed", plan.Stdout, StringComparison.Ordinal);
            await box.AssertSameAsync(before, await box.ScriptAsync(Bytes, Bounded), "adopt plan changed the host");

            // The apply steps refuse to overwrite what they did not write, and touch nothing.
            var install = await box.RunAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
            Assert.True(install.ExitCode == 3, install.ToString());
            Assert.Contains("/etc/systemd/system/t3-serve@.service holds content Workstation did not write", install.Stderr, StringComparison.Ordinal);
            var maps = await box.RunAsync(HostCommands.Maps([Newb.Derived()]), timeout: Bounded);
            Assert.True(maps.ExitCode == 3, maps.ToString());
            Assert.Contains("workstation adopt record /etc/t3-serve/dispatch.json", maps.Stderr, StringComparison.Ordinal);
            await box.AssertSameAsync(before, await box.ScriptAsync(Bytes, Bounded), "a refused apply changed the host");

            // adopt record: a backup of each, then the apply goes ahead.
            foreach (var path in new[] { "/etc/systemd/system/t3-serve@.service", "/etc/t3-serve/dispatch.json" })
            {
                var adopted = await box.MustAsync(HostCommands.Manual.AdoptRecord(path), timeout: Bounded);
                var line = Assert.Single(adopted.Changes(), l => l.Contains("changed: adopted ", StringComparison.Ordinal));
                var backup = line[(line.IndexOf("kept in ", StringComparison.Ordinal) + 8)..^1];
                Assert.Equal(path.EndsWith(".json", StringComparison.Ordinal) ? ForeignDispatch : ForeignUnit,
                    (await box.MustAsync($"cat {backup}")).Stdout);
            }
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
            await box.MustAsync(HostCommands.Maps([Newb.Derived()]), timeout: Bounded);
            var after = await box.MustAsync(HostCommands.Manual.AdoptPlan([Newb.Derived(), Leg.Derived()]), timeout: Bounded);
            Assert.DoesNotContain("/etc/systemd/system/t3-serve@.service holds", after.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("dispatch.json", after.Stdout.Split('\n').Where(l => l.StartsWith("conflict", StringComparison.Ordinal)).FirstOrDefault() ?? "", StringComparison.Ordinal);
        }
        finally
        {
            await box.ScriptAsync("""
                pkill -u leg || true
                sleep 0.3
                userdel -r leg 2>/dev/null || true
                rm -f /etc/cron.d/t3-provision
                """, Bounded);
            // Ours again, whatever happened above.
            await box.ScriptAsync("""
                grep -q 'written by the hand-made setup' /etc/systemd/system/t3-serve@.service && rm -f /etc/systemd/system/t3-serve@.service || true
                grep -q '"users"' /etc/t3-serve/dispatch.json 2>/dev/null && rm -f /etc/t3-serve/dispatch.json || true
                """, Bounded);
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
        }
    }

    private const string Settings = "/etc/claude-code/managed-settings.json";
    private const string Tmux = "/etc/skel/.tmux.conf";
    private const string Timer = "/etc/systemd/system/playwright-snapshot-refresh@.timer";
    private const string Key = "sk-ant-api03-Hq4rT8vLm2XcN7wPz5KbJ3Ys6Dg9FeAu";
    private const string Plain = "hunter2-correct-horse-7731";
    private const string ForeignSettings = "{\"env\": {\"DISABLE_AUTOUPDATER\": \"1\", \"HA_TOKEN\": \"" + Plain + "\"}, \"apiKeyHelper\": \"echo " + Key + "\"}\n";
    private const string ForeignTimer = "# hand-made\n[Timer]\nOnCalendar=hourly\n";
    private static readonly string TakeOverBytes = $"sha256sum {Settings} {Tmux} {Timer} /etc/workstation/owned.sha256; ls /var/backups/workstation/adopted 2>/dev/null | sort || true";

    /// <summary>
    /// The stack's takeOver on a host that already has the base's files and a unit template:
    /// without it, the apply refuses with the unified diff (a secret in the old file masked) and
    /// changes nothing; listing only some still changes nothing; listing all backs each one up,
    /// prints its diff and replaces it; a re-run changes nothing, byte for byte.
    /// </summary>
    [Fact]
    public async Task Taken_over_files_are_backed_up_diffed_and_replaced_and_any_other_is_refused_with_its_diff()
    {
        await HostWorld.ReadyAsync(box);
        var hostBase = await File.ReadAllTextAsync(Path.Combine(box.RepoRoot, "host", "base", "managed-settings.json"));
        await box.MustAsync($"mkdir -p /etc/claude-code && cat > {Settings}", stdin: ForeignSettings);
        await box.MustAsync($"cat > {Tmux}", stdin: "set -g mouse on\n");
        await box.MustAsync($"cat > {Timer}", stdin: ForeignTimer);
        try
        {
            var before = (await box.MustAsync(TakeOverBytes)).Stdout;
            var refused = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Contains($"  --- {Settings} (on this host)", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains($"  +++ {Settings} (Workstation's)", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("[redacted: an Anthropic API key]", refused.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(Key, refused.Stdout + refused.Stderr, StringComparison.Ordinal);
            // An env value is masked whatever it looks like.
            Assert.Contains("  -    \"HA_TOKEN\": \"[masked]\"", refused.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(Plain, refused.Stdout + refused.Stderr, StringComparison.Ordinal);
            Assert.Equal(before, (await box.MustAsync(TakeOverBytes)).Stdout);

            // Only one of the two taken over: still refused, and nothing adopted on the way.
            var partly = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot, takeOver: [Settings]), timeout: Bounded);
            Assert.True(partly.ExitCode == 3, partly.ToString());
            Assert.Contains("  -set -g mouse on", partly.Stderr, StringComparison.Ordinal);
            Assert.Contains($"{Tmux} holds content Workstation did not write", partly.Stderr, StringComparison.Ordinal);
            Assert.Equal(before, (await box.MustAsync(TakeOverBytes)).Stdout);

            var taken = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, takeOver: [Settings, Tmux]), timeout: Bounded);
            Assert.DoesNotContain(Key, taken.Stdout + taken.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(Plain, taken.Stdout + taken.Stderr, StringComparison.Ordinal);
            Assert.Contains("[redacted: an Anthropic API key]", taken.Stderr, StringComparison.Ordinal);
            foreach (var (path, original) in new[] { (Settings, ForeignSettings), (Tmux, "set -g mouse on\n") })
            {
                var line = Assert.Single(taken.Changes(), l => l.Contains($"changed: adopted {path} ", StringComparison.Ordinal));
                var backup = line[(line.IndexOf("kept in ", StringComparison.Ordinal) + 8)..^1];
                Assert.Equal(original, (await box.MustAsync($"cat {backup}")).Stdout);
                Assert.Equal("root 600", (await box.MustAsync($"stat -c '%U %a' {backup}")).Stdout.Trim());
            }
            Assert.Equal(hostBase, (await box.MustAsync($"cat {Settings}")).Stdout);
            var settled = (await box.MustAsync(TakeOverBytes)).Stdout;
            Assert.Empty((await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, takeOver: [Settings, Tmux]), timeout: Bounded)).Changes());
            Assert.Equal(settled, (await box.MustAsync(TakeOverBytes)).Stdout);

            // A unit template: the installer's --take-over.
            var install = await box.RunAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
            Assert.True(install.ExitCode == 3, install.ToString());
            Assert.Contains("  -# hand-made", install.Stderr, StringComparison.Ordinal);
            var unit = await box.MustAsync(HostCommands.InstallTakingOver([Timer]), stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
            Assert.Contains(unit.Changes(), l => l.Contains($"changed: adopted {Timer} ", StringComparison.Ordinal));
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(box.RepoRoot, "host", "units", "playwright-snapshot-refresh@.timer")),
                (await box.MustAsync($"cat {Timer}")).Stdout);
        }
        finally
        {
            await box.ScriptAsync($"""
                grep -q HA_TOKEN {Settings} && rm -f {Settings} || true
                grep -q 'mouse on' {Tmux} && rm -f {Tmux} || true
                grep -q hand-made {Timer} && rm -f {Timer} || true
                rm -rf /var/backups/workstation/adopted
                """, Bounded);
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot), timeout: Bounded);
            await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
        }
    }
}
