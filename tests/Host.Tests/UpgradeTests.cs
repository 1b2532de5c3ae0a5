using Workstation.Roster;
namespace Host.Tests;

/// <summary>
/// Issue 24 §9: an upgrade of host/ reaches the people already on the devvm. Each person's step
/// line carries the hash of the host code it runs (<see cref="HostCommands.AtHostRev"/>), so
/// the program sends the steps again, as updates, with the new lines.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class UpgradeTests(SandboxFixture box)
{
    private static readonly TestUser Una = new("upg1", 2531, 4531, 4631);

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
        var before = await box.ScriptAsync(HostWorld.Snapshot);
        var r = await box.RunAsync(HostCommands.Account(Una.Derived()) + " --host-rev deadbeef");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad argument: --host-rev deadbeef: 64 lowercase hex digits", r.Stderr, StringComparison.Ordinal);
        await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a bad host revision changed the host");
    }
}
