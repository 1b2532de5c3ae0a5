namespace Workstation.Roster.Tests;

/// <summary>`roster retire USER`: the emergency cut's roster edit, the rest of the file kept as it was.</summary>
public sealed class RosterRetireTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("roster-retire-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static readonly string Roster = TestFiles.Head +
        TestFiles.User("alice", 3780, 8940, "namespace-owner", "    uid: 2670\n    namespaces: [team-a]\n    # alice's team binds her: read, not owned\n    external_bindings: { team-a: owners-alice }   # checked at preview\n") +
        "  # carol: (commented out, waiting for her start date)\n" +
        TestFiles.User("bob", 3781, 8941) +
        "retired:\n  zed:\n    uid: 2600\n    ports: { t3: 3790, playwright: 8950 }\n";

    private (int Code, string Out, string Err, string File) Retire(string text, string user)
    {
        var path = Path.Combine(_dir.FullName, "roster.yaml");
        File.WriteAllText(path, text);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Cli.Run(["retire", user, path], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString(), File.ReadAllText(path));
    }

    [Fact]
    public void Retiring_moves_the_entry_under_retired_with_uid_ports_logins_and_bindings_and_keeps_every_other_line()
    {
        var r = Retire(Roster, "alice");
        Assert.Equal(0, r.Code);
        Assert.Equal("alice moved to retired: in roster.yaml\n", r.Out);
        var model = RosterLoader.Load(r.File).ModelOrThrow();
        Assert.Equal(["bob"], model.Users.Select(u => u.OsUser));
        var alice = model.Retired.Single(t => t.OsUser == "alice");
        Assert.Equal((2670, new Ports(3780, 8940), "alice", "alice"), (alice.Uid!.Value, alice.Ports, alice.AuthentikUser, alice.K8sUser));
        Assert.Equal("owners-alice", alice.ExternalBindings["team-a"]);
        // zed's tombstone first, as it was; the comment about carol stays where it was.
        Assert.Equal(["zed", "alice"], model.Retired.Select(t => t.OsUser));
        // Byte for byte: the file without alice's lines, then her tombstone at the end.
        var lines = Roster.Split('\n').ToList();
        var first = lines.IndexOf("  alice:");
        lines.RemoveRange(first, lines.IndexOf("  # carol: (commented out, waiting for her start date)") - first);
        var kept = string.Join('\n', lines).TrimEnd('\n');
        Assert.StartsWith(kept + "\n", r.File, StringComparison.Ordinal);
        Assert.Equal("  alice:\n    uid: 2670\n    authentik_user: alice\n    k8s_user: alice\n    ports: { t3: 3780, playwright: 8940 }\n    external_bindings: { team-a: owners-alice }\n",
            r.File[(kept.Length + 1)..]);
    }

    [Fact]
    public void Retiring_into_an_empty_retired_section_replaces_the_braces()
    {
        var r = Retire(TestFiles.Head + TestFiles.User("alice", 3780, 8940) + "retired: {}\n", "alice");
        Assert.Equal(0, r.Code);
        Assert.EndsWith("retired:\n  alice:\n    authentik_user: alice\n    k8s_user: alice\n    ports: { t3: 3780, playwright: 8940 }\n", r.File, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wiz", "wiz is the admin: automation never cuts the admin")]
    [InlineData("nobody", "users: has no nobody")]
    public void The_admin_or_someone_not_in_users_is_refused_and_the_file_is_left_alone(string user, string why)
    {
        var r = Retire(Roster, user);
        Assert.Equal(1, r.Code);
        Assert.Contains(why, r.Err, StringComparison.Ordinal);
        Assert.Equal(Roster, r.File);
    }

    [Fact]
    public void Retiring_someone_already_retired_changes_nothing_and_succeeds()
    {
        var r = Retire(Roster, "zed");
        Assert.Equal(0, r.Code);
        Assert.Contains("zed is already under retired:", r.Out, StringComparison.Ordinal);
        Assert.Equal(Roster, r.File);
    }
}
