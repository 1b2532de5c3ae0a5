using System.Text.Json;
using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

public class AccessVaultTests
{
    private static readonly DerivedRoster Fixture = AccessFixtures.Roster();

    /// <summary>The policy's path blocks as Vault would read them from the JSON.</summary>
    private static Dictionary<string, string[]> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(["path"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        return doc.RootElement.GetProperty("path").EnumerateObject().ToDictionary(
            p => p.Name,
            p =>
            {
                Assert.Equal(["capabilities"], p.Value.EnumerateObject().Select(c => c.Name));
                return p.Value.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()!).ToArray();
            });
    }

    /// <summary>Vault's policy path matching: a trailing "*" is a prefix match, "+" one segment, otherwise exact.</summary>
    private static bool GlobMatches(string pattern, string path)
    {
        var prefix = pattern.EndsWith('*');
        var pat = (prefix ? pattern[..^1] : pattern).Split('/');
        var segs = path.Split('/');
        if (!prefix && pat.Length != segs.Length) return false;
        if (segs.Length < pat.Length) return false;
        for (var i = 0; i < pat.Length; i++)
        {
            var last = i == pat.Length - 1;
            if (pat[i] == "+") continue;
            if (prefix && last ? !segs[i].StartsWith(pat[i], StringComparison.Ordinal) : segs[i] != pat[i]) return false;
        }
        return true;
    }

    [Fact]
    public void PolicyGrantsExactlyTheUsersOwnKvPaths()
    {
        var paths = Parse(VaultAccess.PolicyJson(AccessFixtures.User("alice", Fixture), VaultOptions.Default));
        Assert.Equal(
            new Dictionary<string, string[]>
            {
                ["secret/data/users/alice/*"] = ["create", "delete", "patch", "read", "update"],
                ["secret/metadata/users/alice/*"] = ["delete", "list", "read"],
            },
            paths);
    }

    [Fact]
    public void PolicyJsonIsDeterministicText()
    {
        var json = VaultAccess.PolicyJson(AccessFixtures.User("alice", Fixture), VaultOptions.Default);
        Assert.Equal(
            "{\n  \"path\": {\n" +
            "    \"secret/data/users/alice/*\": {\n      \"capabilities\": [\n        \"create\",\n        \"delete\",\n        \"patch\",\n        \"read\",\n        \"update\"\n      ]\n    },\n" +
            "    \"secret/metadata/users/alice/*\": {\n      \"capabilities\": [\n        \"delete\",\n        \"list\",\n        \"read\"\n      ]\n    }\n" +
            "  }\n}\n",
            json);
        Assert.Equal(json, VaultAccess.PolicyJson(AccessFixtures.Roster().Users.Single(u => u.OsUser == "alice"), VaultOptions.Default));
        // Order of the input grants doesn't leak into the output.
        Assert.Equal(json, VaultAccess.PolicyJson(VaultAccess.Grants("alice", VaultOptions.Default).Reverse()));
    }

    [Fact]
    public void NoPathUnderSysAndNoOtherUsersPath()
    {
        var people = Fixture.Users.Select(u => u.OsUser).Concat(["alice2", "alic", "alice_x", "alice-x", "al", "a"]).ToList();
        foreach (var u in Fixture.Users)
        {
            var patterns = Parse(VaultAccess.PolicyJson(u, VaultOptions.Default)).Keys.ToList();
            Assert.All(patterns, p =>
            {
                Assert.False(p.StartsWith("sys", StringComparison.Ordinal), p);
                Assert.DoesNotContain("+", p, StringComparison.Ordinal);
                Assert.Equal(p.Length - 1, p.IndexOf('*', StringComparison.Ordinal));
            });

            bool Granted(string path) => patterns.Any(p => GlobMatches(p, path));
            Assert.True(Granted($"secret/data/users/{u.OsUser}/token"));
            Assert.True(Granted($"secret/data/users/{u.OsUser}/a/b"));
            Assert.True(Granted($"secret/metadata/users/{u.OsUser}/"));
            foreach (var other in people.Where(o => o != u.OsUser))
            {
                foreach (var path in new[] { $"secret/data/users/{other}/token", $"secret/metadata/users/{other}/", $"secret/data/users/{other}" })
                    Assert.False(Granted(path), $"{u.OsUser} must not reach {path}");
            }
            foreach (var path in new[] { "sys/policy/x", "sys/mounts", "secret/data/users", "secret/data/shared/x", "secret/config", "auth/token/create" })
                Assert.False(Granted(path), path);
        }
    }

    [Fact]
    public void GlobHelperMatchesVault()
    {
        Assert.True(GlobMatches("secret/data/users/a/*", "secret/data/users/a/"));
        Assert.True(GlobMatches("secret/data/users/a*", "secret/data/users/ab/x"));
        Assert.False(GlobMatches("secret/data/users/a/*", "secret/data/users/ab/x"));
        Assert.True(GlobMatches("secret/+/users", "secret/data/users"));
        Assert.False(GlobMatches("secret/data", "secret/data/x"));
    }

    [Fact]
    public void KvRootIsConfigurable()
    {
        var paths = Parse(VaultAccess.PolicyJson(AccessFixtures.User("bob", Fixture), new VaultOptions("kv/team", "people")));
        Assert.Equal(["kv/team/data/people/bob/*", "kv/team/metadata/people/bob/*"], paths.Keys);
    }

    [Theory]
    [InlineData("sys", "users")]
    [InlineData("sys/kv", "users")]
    [InlineData("", "users")]
    [InlineData("/secret", "users")]
    [InlineData("secret/", "users")]
    [InlineData("secret", "")]
    [InlineData("secret", "users/*")]
    [InlineData("secret", "+")]
    [InlineData("secret", "users/../x")]
    [InlineData("se//cret", "users")]
    public void OptionsThatWouldWidenTheGrantAreRefused(string mount, string users) =>
        Assert.Throws<ArgumentException>(() => VaultAccess.Grants("alice", new VaultOptions(mount, users)));

    [Fact]
    public void EntityAliasAndPolicyAreNamedAfterTheUser()
    {
        var v = VaultAccess.For(AccessFixtures.User("alice", Fixture), VaultOptions.Default);
        Assert.Equal("alice", v.OsUser);
        Assert.Equal("alice", v.Entity.Name);
        Assert.Equal(["workstation-alice"], v.Entity.Policies);
        Assert.Equal(
            new Dictionary<string, string> { ["authentik_user"] = "alice.a", ["managed-by"] = "workstation", ["os_user"] = "alice" },
            v.Entity.Metadata);
        Assert.Equal(new VaultEntityAliasSpec("alice.a", "oidc", "alice"), v.Alias);
        Assert.Equal("workstation-alice", v.Policy.Name);
        Assert.Equal(VaultAccess.PolicyJson(AccessFixtures.User("alice", Fixture), VaultOptions.Default), v.Policy.Json);
        Assert.Equal(new VaultEntityAliasSpec("alice.a", "sso", "alice"), VaultAccess.For(AccessFixtures.User("alice", Fixture), new VaultOptions(OidcMountPath: "sso")).Alias);
    }

    [Fact]
    public void TierChangeDoesNotTouchVault()
    {
        var alice = AccessFixtures.User("alice", Fixture);
        var a = VaultAccess.For(alice, VaultOptions.Default);
        var b = VaultAccess.For(alice with { Tier = Tier.NamespaceOwner, Namespaces = ["x"] }, VaultOptions.Default);
        Assert.Equal(a.Policy, b.Policy);
        Assert.Equal(a.Alias, b.Alias);
        Assert.Equal(a.Entity.Metadata, b.Entity.Metadata);
    }

    [Fact]
    public void ARetiredUserKeepsTheSameEntityDisabledWithoutPoliciesAndTheAliasOnlyWhenTheLoginIsKnown()
    {
        var active = VaultAccess.For(AccessFixtures.User("alice", Fixture), VaultOptions.Default);
        var tombstone = new RetiredUser("alice", 2001, new Ports(3774, 8932), "alice.a", "alice");
        var retired = VaultAccess.For(tombstone, VaultOptions.Default);

        Assert.False(active.Entity.Disabled);
        Assert.Equal(active.Entity.Name, retired.Entity.Name); // same entity: an update in place
        Assert.True(retired.Entity.Disabled);
        Assert.Empty(retired.Entity.Policies);
        Assert.Equal(active.Entity.Metadata, retired.Entity.Metadata);
        Assert.Equal(active.Alias, retired.Alias);

        var unknown = VaultAccess.For(tombstone with { AuthentikUser = null }, VaultOptions.Default);
        Assert.Null(unknown.Alias);
        Assert.Equal(new Dictionary<string, string> { ["managed-by"] = "workstation", ["os_user"] = "alice" }, unknown.Entity.Metadata);
    }

    [Fact]
    public void TheLoaderKeepsATombstonesLogins()
    {
        var yaml = "admin: { os_user: wiz, authentik_user: wiz, k8s_user: wiz, ports: { t3: 3773, playwright: 8931 } }\nusers: {}\n" +
            "retired:\n  bob: { uid: 2002, authentik_user: bob.b, k8s_user: bob, ports: { t3: 3775, playwright: 8933 } }\n  carol: { ports: { t3: 3776, playwright: 8934 } }\n";
        var model = RosterLoader.Load(yaml, "roster.yaml").ModelOrThrow();
        Assert.Equal(
            [new RetiredUser("bob", 2002, new Ports(3775, 8933), "bob.b", "bob"), new RetiredUser("carol", null, new Ports(3776, 8934))],
            model.Retired);
    }

    [Fact]
    public void EveryoneGetsTheirOwnPolicySorted() =>
        Assert.Equal(
            ["workstation-alice", "workstation-bob", "workstation-dora", "workstation-wiz"],
            VaultAccess.For(Fixture, VaultOptions.Default).Select(v => v.Policy.Name));
}
