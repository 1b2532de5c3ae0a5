namespace Host.Tests;

/// <summary>
/// Issue 24 §9: an upgrade of host/ reaches the people already on the devvm. Each person's step
/// line carries the hash of the host code it runs (<see cref="HostCommands.AtHostRev"/>), so
/// the program sends the steps again, as updates, with the new lines.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class UpgradeTests(SandboxFixture box)
{
    private static readonly TestUser Una = new("upg1", 2531, 5131, 5231);

    /// <summary>The steps the program sends for <paramref name="u"/> with host/ at <paramref name="hostDir"/>: each line at its step's revision.</summary>
    private static (HostStep Step, string Line)[] Lines(DerivedUser u, string hostDir)
    {
        var files = Directory.EnumerateFiles(hostDir, "*", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(hostDir, f).Replace('\\', '/'), File.ReadAllBytes(f))).ToList();
        string At(HostStep step, string apply) => HostCommands.AtHostRev(apply, HostCommands.InputsSha256(HostCommands.StepInputs(step), files));
        return
        [
            (HostStep.Account, At(HostStep.Account, HostCommands.Account(u))),
            (HostStep.Code, At(HostStep.Code, HostCommands.Code(u))),
            (HostStep.Services, At(HostStep.Services, HostCommands.Services(u))),
            (HostStep.Secrets, At(HostStep.Secrets, HostCommands.Secrets(u, [SharedSecret.SnapshotToken], new Dictionary<SharedSecret, int>(), null))),
        ];
    }

    private async Task RunAsync((HostStep Step, string Line)[] lines)
    {
        foreach (var (step, line) in lines)
            await box.MustAsync(line, stdin: step == HostStep.Secrets ? Una.TokenStdin : null, timeout: TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task S9_A_behaviour_fix_in_a_verb_reaches_a_person_onboarded_before_it()
    {
        await HostWorld.ReadyAsync(box);
        var u = Una.Derived();
        // WORKSTATION_TEST_HOST_TREE: the host/ under test (an earlier commit's, to watch this fail).
        var tree = Path.Combine(HostWorld.HostTreeParent(box.RepoRoot), "host");
        var a = Lines(u, tree);
        await box.MustAsync("rm -f /run/ws-s9-fixed-upg1");
        await RunAsync(a);

        // Tree B: the same host/ with a fix in what every person's step runs (here: it records
        // the verb it ran, as the stand-in for the fix's effect).
        var tmp = Directory.CreateTempSubdirectory("ws-host-fix-");
        try
        {
            var b = Path.Combine(tmp.FullName, "host");
            InstallTests.CopyTree(tree, b);
            foreach (var (file, anchor, caller) in new[] { ("user.sh", "begin_user_step() {\n", 1), ("secrets.sh", "cmd_user_secrets_apply() {\n", 0) })
            {
                var path = Path.Combine(b, "lib", file);
                var text = File.ReadAllText(path);
                Assert.Contains(anchor, text, StringComparison.Ordinal);
                File.WriteAllText(path, text.Replace(anchor, anchor + $"  printf '%s\\n' \"${{FUNCNAME[{caller}]}}\" >>/run/ws-s9-fixed-upg1\n", StringComparison.Ordinal));
            }
            var lines = Lines(u, b);
            // Each step's line is new, so the engine runs each as an update.
            Assert.All(a.Zip(lines), p => Assert.NotEqual(p.First.Line, p.Second.Line));
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot, tmp.FullName));
            Assert.Equal("absent", (await box.ScriptAsync("test -e /run/ws-s9-fixed-upg1 && echo present || echo absent")).Trim());

            await RunAsync(lines);
            Assert.Equal(
                "cmd_user_account_apply\ncmd_user_code_apply\ncmd_user_services_apply\ncmd_user_secrets_apply\n",
                (await box.MustAsync("cat /run/ws-s9-fixed-upg1")).Stdout);
        }
        finally
        {
            tmp.Delete(recursive: true);
            await box.RunAsync("rm -f /run/ws-s9-fixed-upg1");
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot));
            await box.MustAsync(Una.StopServices());
            await box.MustAsync(Una.Suspend());
        }
    }

    [Fact]
    public async Task S9_A_host_revision_that_is_not_64_hex_digits_is_refused_before_anything_changes()
    {
        await HostWorld.ReadyAsync(box);
        await using var quiet = await box.QuietAsync();
        var before = await box.ScriptAsync(HostWorld.Snapshot);
        var r = await box.RunAsync(HostCommands.Account(Una.Derived()) + " --host-rev deadbeef");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad argument: --host-rev deadbeef: 64 lowercase hex digits", r.Stderr, StringComparison.Ordinal);
        await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a bad host revision changed the host");
    }

    private static readonly TestUser Pin = new("upg2", 2532, 5132, 5232);

    private const string PinT3Pid = "systemctl show -p MainPID --value t3-serve@upg2.service";
    private const string PinPwPid = "systemctl show -p MainPID --value playwright-mcp@upg2.service";
    private const string McpManifest = "/usr/local/lib/node_modules/@playwright/mcp/package.json";

    /// <summary>
    /// Issue 24 §9: whatever changes a running server's command or environment (a new unit
    /// template, another t3Command, a new pin) marks a pending restart, which the idle gate then
    /// lets through; before, only a port or tier change did, and old processes ran on for ever.
    /// </summary>
    [Fact]
    public async Task S9_A_new_unit_template_a_t3_command_change_and_a_new_pin_each_restart_the_running_server_at_idle()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Pin.Apply(tokenStdin: false), timeout: TimeSpan.FromMinutes(2));
        await box.ScriptAsync("systemctl stop workstation-restart-pending.timer");
        var tree = Path.Combine(HostWorld.HostTreeParent(box.RepoRoot), "host");
        var tmp = Directory.CreateTempSubdirectory("ws-host-unit-");
        try
        {
            // Nothing changed: the step leaves the servers alone.
            var (t3, pw) = (await box.ScriptAsync(PinT3Pid), await box.ScriptAsync(PinPwPid));
            var same = (await box.MustAsync(HostCommands.Services(Pin.Derived()))).Stdout;
            Assert.DoesNotContain("restart pending: ", same, StringComparison.Ordinal);
            Assert.DoesNotContain("restarted ", same, StringComparison.Ordinal);
            await box.ScriptAsync("systemctl stop workstation-restart-pending.timer");
            Assert.Equal(t3, await box.ScriptAsync(PinT3Pid));

            // A new t3 unit template, while upg2 types: pending; once idle, restarted with it.
            var pts = (await box.ScriptAsync(HostWorld.OpenTypedTerminal("upg2", "ws-upg2-term"))).Trim();
            var b = Path.Combine(tmp.FullName, "host");
            InstallTests.CopyTree(tree, b);
            var unit = Path.Combine(b, "units", "t3-serve@.service");
            File.WriteAllText(unit, File.ReadAllText(unit).Replace("[Service]\n", "[Service]\nEnvironment=WS_S9_TEMPLATE=1\n", StringComparison.Ordinal));
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot, tmp.FullName));
            var step = await box.MustAsync(HostCommands.Services(Pin.Derived()), timeout: TimeSpan.FromMinutes(1));
            Assert.Contains("restart pending: t3-serve@upg2.service (its command or environment changed)", step.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("restart pending: playwright-mcp@upg2.service", step.Stdout, StringComparison.Ordinal);
            Assert.Equal(t3, await box.ScriptAsync(PinT3Pid));
            await box.ScriptAsync($"touch -a -d '30 minutes ago' {pts}");
            var idle = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromMinutes(1));
            Assert.Contains(idle.Changes(), l => l.Contains("restarted t3-serve@upg2.service with its new config", StringComparison.Ordinal));
            t3 = await box.ScriptAsync(PinT3Pid);
            Assert.Equal("1", (await box.ScriptAsync($"tr '\\0' '\\n' </proc/{t3.Trim()}/environ | sed -n 's/^WS_S9_TEMPLATE=//p'")).Trim());
            await box.ScriptAsync("systemctl stop ws-upg2-term");

            // Another t3Command (the site step): the timer's round restarts t3 (upg2 is idle), not playwright.
            await box.MustAsync(HostWorld.SiteCommand(t3Command: "/usr/bin/sleep 86400"));
            var site = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromMinutes(1));
            Assert.Contains(site.Changes(), l => l.Contains("restarted t3-serve@upg2.service with its new config", StringComparison.Ordinal));
            Assert.DoesNotContain(site.Changes(), l => l.Contains("restarted playwright-mcp@upg2.service", StringComparison.Ordinal));
            Assert.Equal(pw, await box.ScriptAsync(PinPwPid));
            Assert.Contains("86400", await box.ScriptAsync($"cat /proc/$({PinT3Pid})/cmdline | tr '\\0' ' '"), StringComparison.Ordinal);

            // A new pin of @playwright/mcp (what base apply's npm install leaves): playwright restarts.
            await box.MustAsync($"cp -p {McpManifest} /root/s9-mcp-package.json && jq '.version += \"-s9\"' /root/s9-mcp-package.json >{McpManifest}");
            var pinned = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromMinutes(1));
            Assert.Contains(pinned.Changes(), l => l.Contains("restarted playwright-mcp@upg2.service with its new config", StringComparison.Ordinal));
            Assert.NotEqual(pw, await box.ScriptAsync(PinPwPid));
        }
        finally
        {
            tmp.Delete(recursive: true);
            await box.RunAsync($"systemctl stop ws-upg2-term 2>/dev/null; systemctl reset-failed ws-upg2-term 2>/dev/null; [ ! -f /root/s9-mcp-package.json ] || mv -f /root/s9-mcp-package.json {McpManifest}; true");
            await box.MustAsync(HostWorld.SiteCommand());
            await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot));
            // Everyone's servers back on what the box runs (the edits above reached them too).
            await box.MustAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromMinutes(2));
            await box.RunAsync("systemctl start workstation-restart-pending.timer");
            await box.MustAsync(Pin.Suspend());
        }
    }
}
