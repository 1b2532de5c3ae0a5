namespace Workstation.Roster.Tests;

/// <summary>Rootless podman's subordinate ranges: one per uid, disjoint, and every one of them a valid id range.</summary>
public class SubIdTests
{
    [Fact]
    public void Every_persons_range_is_disjoint_from_every_other_and_above_useradds_own()
    {
        // Neighbouring uids get neighbouring, non-overlapping ranges: the layout is a plain slot per uid.
        Assert.Equal(400_000_000, Rules.SubIdStart(Rules.MinUid));
        Assert.Equal(400_065_536, Rules.SubIdStart(Rules.MinUid + 1));
        // useradd allocates 65536 at a time from 100000 (Debian's login.defs): 6,000 accounts would be needed to reach ours.
        Assert.True(Rules.SubIdBase > 100_000 + 6_000 * 65_536L);
    }

    [Fact]
    public void The_last_range_ends_below_the_invalid_id()
    {
        var lastEnd = Rules.SubIdStart(Rules.MaxUid) + Rules.SubIdCount - 1;
        Assert.True(lastEnd < uint.MaxValue, $"{lastEnd} reaches (uid_t)-1");
    }

    [Theory]
    [InlineData(999)]
    [InlineData(60000)]
    public void A_uid_outside_the_persons_range_has_no_slot(int uid) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Rules.SubIdStart(uid));
}
