
namespace Host.Tests;

/// <summary>
/// Issue 24 §8: a purged person's uid is never given to anyone else. Files of theirs outside the
/// home (archives, other systems' records, a stray /tmp file) would otherwise become the newcomer's.
/// `adopt plan` prints the `uid:` line of every live person, so the roster pins them all.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class PurgedUidTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    // No uid pinned: useradd picks one above the highest in use, the seed's way of adding people.
    private static readonly TestUser Pia = new("pia", null, 4195, 4295);
    private static readonly TestUser Neo = new("neo", null, 4196, 4296);
    private static readonly TestUser Nik = new("nik", null, 4197, 4297);

    private async Task<int> UidAsync(string user) => int.Parse((await box.MustAsync($"id -u {user}")).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task S8_a_purged_uid_is_refused_when_pinned_and_never_picked_when_not()
    {
        await box.OnboardAsync(Pia, Bounded, token: true);
        var uid = await UidAsync("pia");
        // Pia's uid is the highest in use: the one useradd would hand out again once she is gone.
        Assert.Equal("", (await box.MustAsync($"getent passwd | awk -F: '$3 > {uid} && $3 <= 59999'")).Stdout);
        var purged = Pia with { Uid = uid };
        await box.MustAsync(purged.StopServices(), timeout: Bounded);
        await box.MustAsync(purged.Suspend(), timeout: Bounded);
        await box.MustAsync(purged.Purge(), timeout: Bounded);
        Assert.Equal($"UID={uid}\n", (await box.MustAsync("grep '^UID=' /etc/workstation/purged/pia")).Stdout);

        // Pinned to her uid (the tombstone dropped from the roster): refused before anything changes.
        var pinned = await box.RunAsync((Neo with { Uid = uid }).Account(), timeout: Bounded);
        Assert.True(pinned.ExitCode == 3, pinned.ToString());
        Assert.Contains($"uid {uid} belonged to pia, who was purged (/etc/workstation/purged/pia): a purged uid is never reused", pinned.Stderr, StringComparison.Ordinal);
        Assert.Equal("none", (await box.MustAsync("getent passwd neo >/dev/null && echo account; test -e /home/neo && echo home; echo none")).Stdout.Trim());

        // Not pinned: the next uid that was never anyone's.
        await box.MustAsync(Nik.Account(), timeout: Bounded);
        Assert.Equal(uid + 1, await UidAsync("nik"));

        // adopt plan: the `uid:` line for every person with an account, none for one without.
        var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([Nik.Derived(), Neo.Derived()]), timeout: Bounded);
        var pins = plan.Stdout.Split('\n').Where(l => l.StartsWith("pin: ", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"pin: nik: uid: {uid + 1}"], pins);

        // Cleanup: the purge record stays (it is the point); the accounts go.
        await box.MustAsync("userdel -r nik 2>/dev/null; rm -f /etc/workstation/suspended/nik; true", timeout: Bounded);
    }
}
