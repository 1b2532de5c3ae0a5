using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

public class AccessAuthentikTests
{
    [Fact]
    public void MembersAreTheRosterUsersPlusTheAdminSorted() =>
        Assert.Equal(["alice.a", "bob.b", "dora.d", "wiz.admin"], AuthentikAccess.Members(AccessFixtures.Roster()));

    [Fact]
    public void MembersOfTheRealRosterAreEveryoneInIt()
    {
        var model = RosterLoader.LoadFile(Path.Combine(AccessFixtures.RepoRoot(), "roster.yaml")).ModelOrThrow();
        var expected = model.Users.Select(u => u.AuthentikUser).Append(model.Admin.AuthentikUser).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(expected, AuthentikAccess.Members(Derivation.Derive(model)));
    }

    [Fact]
    public void MembersAreDistinctAndOrdinalSortedWhateverTheInputOrder()
    {
        var users = AccessFixtures.Roster().Users;
        var scrambled = users.Reverse().Concat(users).Append(users[0] with { AuthentikUser = "Zed" }).Append(users[0] with { AuthentikUser = "alice.a" });
        Assert.Equal(["Zed", "alice.a", "bob.b", "dora.d", "wiz.admin"], AuthentikAccess.Members(scrambled));
    }

    [Fact]
    public void PolicyAllowsOnlyGroupMembers()
    {
        Assert.Equal("T3 Users", AuthentikAccess.GroupName);
        Assert.Equal("return ak_is_group_member(request.user, name=\"T3 Users\")", AuthentikAccess.PolicyExpression());
    }
}
