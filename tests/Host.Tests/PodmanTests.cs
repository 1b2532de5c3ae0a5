
namespace Host.Tests;

/// <summary>
/// Rootless podman: the account step gives each person a subordinate uid and gid range of their
/// own, a slot per uid (Rules.SubIdStart), so podman runs rootless for them, and newuidmap lets
/// no one map another person's range. A range someone already has is kept; one held by someone
/// else over a person's slot refuses that person's step.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class PodmanTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(120))
{
    private static readonly TestUser Pda = new("pda", 2241, 4441, 4541);
    private static readonly TestUser Pdb = new("pdb", 2242, 4442, 4542);

    private static string Slot(TestUser u) => $"{Rules.SubIdStart(u.Uid!.Value)}:{Rules.SubIdCount}";

    /// <summary>Runs COMMAND as USER in a clean environment, from their home, bounded.</summary>
    private static string As(TestUser u, string command) =>
        $"cd {u.Home} && timeout 60 runuser -u {u.Name} -- env -i HOME={u.Home} USER={u.Name} LOGNAME={u.Name} PATH=/usr/local/bin:/usr/bin:/bin {command}";

    [Fact]
    public async Task Each_person_runs_podman_rootless_in_a_range_of_their_own_and_cannot_map_anothers()
    {
        await HostWorld.ReadyAsync(box);
        var first = await box.MustAsync(Pda.Apply(), stdin: Pda.TokenStdin, timeout: Bounded);
        await box.MustAsync(Pdb.Apply(), stdin: Pdb.TokenStdin, timeout: Bounded);
        // Their own range maps; the neighbour's is refused by the real setuid newuidmap.
        var own = $"{Rules.SubIdStart(2241)},1,{Rules.SubIdCount}";
        Assert.Equal($"1 {Rules.SubIdStart(2241)} {Rules.SubIdCount}",
            string.Join(" ", (await box.MustAsync(As(Pda, $"unshare --user --map-users={own} --map-groups={own} cat /proc/self/uid_map"))).Stdout.Split([" ", "\n"], StringSplitOptions.RemoveEmptyEntries)));
        var theirs = $"{Rules.SubIdStart(2242)},1,{Rules.SubIdCount}";
        var attack = await box.RunAsync(As(Pda, $"unshare --user --map-users={theirs} --map-groups={theirs} id -u"), timeout: TimeSpan.FromSeconds(30));
        Assert.True(attack.ExitCode != 0, attack.ToString());
        Assert.Contains("not allowed", attack.Stderr, StringComparison.Ordinal);

        var info = (await box.MustAsync(As(Pda, "podman info --format '{{.Host.Security.Rootless}} {{json .Host.IDMappings.UIDMap}}'"), timeout: Bounded)).Stdout;
        Assert.StartsWith("true ", info, StringComparison.Ordinal);
        Assert.Contains($"\"host_id\":{Rules.SubIdStart(2241)},\"size\":{Rules.SubIdCount}", info, StringComparison.Ordinal);

        // Every run boots a fresh box, so pda is new here and gets the slot in this very step.
        Assert.Contains(first.Changes(), l => l.EndsWith($"changed: pda: subordinate ids {Rules.SubIdStart(2241)}-{Rules.SubIdStart(2241) + Rules.SubIdCount - 1} in /etc/subuid /etc/subgid", StringComparison.Ordinal));
        foreach (var file in new[] { "/etc/subuid", "/etc/subgid" })
        {
            Assert.Equal($"pda:{Slot(Pda)}", (await box.MustAsync($"grep '^pda:' {file}")).Stdout.Trim());
            Assert.Equal($"pdb:{Slot(Pdb)}", (await box.MustAsync($"grep '^pdb:' {file}")).Stdout.Trim());
        }

        // Nothing to do the second time.
        var again = await box.MustAsync(Pda.Apply(), stdin: Pda.TokenStdin, timeout: Bounded);
        Assert.DoesNotContain(again.Changes(), l => l.Contains("subordinate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_range_a_person_already_has_is_kept_and_someone_elses_over_their_slot_refuses_only_them()
    {
        await HostWorld.ReadyAsync(box);
        var kept = new TestUser("pdk", 2243, 4443, 4543);
        var blocked = new TestUser("pdx", 2244, 4444, 4544);
        // pdk: made by hand with useradd's own first-come range, then adopted.
        await box.MustAsync("getent passwd pdk >/dev/null || useradd -m -u 2243 -s /bin/bash pdk");
        var before = (await box.MustAsync("grep '^pdk:' /etc/subuid /etc/subgid")).Stdout;
        Assert.DoesNotContain(Slot(kept), before, StringComparison.Ordinal);
        // pdx's slot is already someone else's.
        await box.MustAsync($"echo 'squatter:{Rules.SubIdStart(2244) + 100}:10' >> /etc/subuid");
        try
        {
            await box.MustAsync(kept.Apply(adopt: true), stdin: kept.TokenStdin, timeout: Bounded);
            Assert.Equal(before, (await box.MustAsync("grep '^pdk:' /etc/subuid /etc/subgid")).Stdout);

            var refused = await box.RunAsync(blocked.Apply(), stdin: blocked.TokenStdin, timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Contains($"pdx: /etc/subuid gives squatter {Rules.SubIdStart(2244) + 100}-{Rules.SubIdStart(2244) + 109}, over pdx's subordinate ids", refused.Stderr, StringComparison.Ordinal);
            Assert.Equal("", (await box.MustAsync("grep '^pdx:' /etc/subuid /etc/subgid || true")).Stdout);
        }
        finally
        {
            await box.RunAsync("sed -i '/^squatter:/d' /etc/subuid");
        }
        // With the squatter gone, the same step gives pdx the slot.
        await box.MustAsync(blocked.Apply(), stdin: blocked.TokenStdin, timeout: Bounded);
        Assert.Equal($"pdx:{Slot(blocked)}", (await box.MustAsync("grep '^pdx:' /etc/subuid")).Stdout.Trim());
    }
}
