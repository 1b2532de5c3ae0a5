using System.Diagnostics;
using Pulumi.Command.Remote;
using Xunit.Abstractions;

namespace Workstation.Tests;

/// <summary>
/// Issue 27 under mocks: one roster over several hosts, one base per host on its own connection,
/// each person's steps on their host's, per-host maps and the fleet routing map from the same
/// lists, a move ordered across two hosts, and hosts independent of each other.
/// </summary>
public class FleetTests(ITestOutputHelper output)
{
    public static readonly string[] HostNames = ["devvm", "b", "c"];

    public static string Address(string host) => $"10.0.0.{Array.IndexOf(HostNames, host) + 1}";

    /// <summary>The fixture stack with `hosts:` (three hosts, 64G each) in place of the single-host keys.</summary>
    public static DictConfig FleetConfig(bool backup = false)
    {
        var hosts = string.Join(",", HostNames.Select(h =>
            $"{{\"name\":\"{h}\",\"address\":\"{Address(h)}\",\"hostKey\":\"{Fixture.HostKey}\",\"hostMemory\":\"64G\"}}"));
        var config = Fixture.Config().With(ConfigKeys.SshHost, null).With(ConfigKeys.SshHostKey, null).With(ConfigKeys.SshPort, null)
            .With(ConfigKeys.Hosts, $"[{hosts}]");
        return backup ? config.With(ConfigKeys.BackupRepository, "sftp:backup@10.0.0.9:/srv/restic").With(ConfigKeys.BackupPassword, "fixture-restic-password") : config;
    }

    /// <summary>Fixture.GeneratedRoster with a host: for everyone: the admin on devvm, user i on HostNames[i % 3].</summary>
    public static string FleetRoster(int count, Func<int, string>? hostOf = null)
    {
        hostOf ??= i => HostNames[i % HostNames.Length];
        var lines = Fixture.GeneratedRoster(count).Split('\n').ToList();
        var result = new List<string>();
        var user = -1;
        foreach (var line in lines)
        {
            result.Add(line);
            if (line.StartsWith("  u", StringComparison.Ordinal) && line.EndsWith(':')) user = int.Parse(line[3..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (line == "  ports: { t3: 3773, playwright: 8931 }") result.Add("  host: devvm");
            else if (line.StartsWith("    ports:", StringComparison.Ordinal)) result.Add($"    host: {hostOf(user)}");
        }
        return string.Join('\n', result);
    }

    private static Func<IDictionary<string, object?>> Program(string roster, IStackConfig config) =>
        () => WorkstationStack.Build(Fixture.Roster(roster), Fixture.Settings(config), Fixture.Bundle).Outputs;

    private static string? HostOfStep(Registration r) =>
        r.Inputs.TryGetValue("connection", out var c) && c is IDictionary<string, object> conn ? conn["host"] as string : null;

    [Fact]
    public async Task One_roster_over_three_hosts_registers_each_hosts_base_and_each_persons_steps_on_their_hosts_connection()
    {
        var run = await Harness.RunAsync(Program(FleetRoster(6), FleetConfig()));
        // One base per host: the devvm keeps the one-host names, the others are named after their host.
        Assert.Equal(["workstation", "workstation-b", "workstation-c"],
            run.Registrations.Where(r => r.Type == WorkstationBase.Type).Select(r => r.Name).Order(StringComparer.Ordinal));
        foreach (var host in HostNames)
        {
            var name = ResourceNames.BaseOf(host);
            foreach (var step in new[] { "install", "base", "site" })
                Assert.Equal(Address(host), HostOfStep(run.Command($"{name}-{step}")));
            Assert.Equal(Address(host), HostOfStep(run.Command(ResourceNames.MapsOf(host))));
        }
        // Every person's every host step on their own host's connection, and nowhere else.
        var people = new[] { ("wiz", "devvm") }.Concat(Enumerable.Range(0, 6).Select(i => ($"u{i:D3}", HostNames[i % 3])));
        foreach (var (user, host) in people)
        {
            var steps = run.Registrations.Where(r => r.Type == Types.Command && r.Name.StartsWith(user + "-", StringComparison.Ordinal)).ToList();
            Assert.True(steps.Count >= 4, $"{user}: {steps.Count} steps");
            Assert.All(steps, s => Assert.Equal(Address(host), HostOfStep(s)));
        }
        // Exactly the commands: 4 base steps x 3 hosts (no backup) ... and the cluster, Vault, Authentik once.
        Assert.Equal(3 * 4, run.Registrations.Count(r => r.Type == Types.Command && r.Name.StartsWith("workstation", StringComparison.Ordinal)));
        Assert.Single(run.Registrations, r => r.Type == Types.K8sProvider);
        Assert.Single(run.Registrations, r => r.Type == Types.VaultProvider);
        Assert.Single(run.Registrations, r => r.Type == AuthentikEdge.Type);
    }

    [Fact]
    public async Task Each_hosts_maps_list_only_its_people_and_the_fleet_routing_map_says_the_same()
    {
        var roster = FleetRoster(6);
        var run = await Harness.RunAsync(Program(roster, FleetConfig()));
        var users = Derivation.Derive(Fixture.Roster(roster)).Users;
        foreach (var host in HostNames)
        {
            var mine = users.Where(u => (u.Host ?? "devvm") == host).ToList();
            Assert.Equal(HostCommands.Maps(mine), run.Command(ResourceNames.MapsOf(host)).Str("create"));
        }
        var routes = System.Text.Json.JsonDocument.Parse((string)(await Harness.ResolveAsync(run.Outputs[FleetRoutes.OutputName]))!);
        var people = routes.RootElement.GetProperty("people");
        Assert.Equal(users.Select(u => u.OsUser).Order(StringComparer.Ordinal), people.EnumerateObject().Select(p => p.Name));
        foreach (var u in users)
        {
            var route = people.GetProperty(u.OsUser);
            Assert.Equal(u.Host, route.GetProperty("host").GetString());
            Assert.Equal(Address(u.Host!), route.GetProperty("address").GetString());
            Assert.Equal(u.Ports.T3, route.GetProperty("t3").GetInt32());
            // The route and the host's maps line agree on the t3 port.
            Assert.Contains($" {u.OsUser}:{u.AuthentikUser}:{u.Ports.T3}", run.Command(ResourceNames.MapsOf(u.Host!)).Str("create"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_one_host_stack_written_as_hosts_keeps_the_one_host_urns()
    {
        var config = FleetUrnTests.OneHostConfig().With(ConfigKeys.SshHost, null).With(ConfigKeys.SshHostKey, null).With(ConfigKeys.SshPort, null)
            .With(ConfigKeys.Hosts, $"[{{\"name\":\"devvm\",\"address\":\"127.0.0.1\",\"port\":2222,\"hostKey\":\"{Fixture.HostKey}\"}}]");
        Assert.Equal(File.ReadAllText(FleetUrnTests.GoldenFile), await FleetUrnTests.UrnsAsync(config));
    }

    /// <summary>
    /// The targeted cut names the shared resources a retire updates by literal URN, and the engine
    /// refuses a literal URN the stack doesn't hold: in a fleet they are every host's maps, each a URN the program makes.
    /// </summary>
    [Fact]
    public async Task The_targeted_cuts_shared_targets_are_every_hosts_maps_each_a_urn_the_fleet_program_makes()
    {
        var (constructed, _) = await Probe.RunAsync(Program(FleetRoster(3), FleetConfig()));
        var urns = EngineUrns.Of(constructed).Values.ToHashSet(StringComparer.Ordinal);
        var shape = StackShape.Full with { Hosts = HostNames };
        var shared = OffboardTargets.Shared("devvm", "workstation", shape).ToList();
        Assert.Equal(HostNames.Length + 1, shared.Count); // each host's maps, and the T3 Users group
        foreach (var host in HostNames)
            Assert.Contains(ResourceNames.Urn("devvm", "workstation", ResourceTypes.Command, ResourceNames.MapsOf(host)), shared);
        Assert.All(shared, t => Assert.Contains(t, urns));
    }

    [Fact]
    public async Task A_hosts_own_swap_size_goes_to_its_own_base_step_only()
    {
        var config = FleetConfig();
        config = config.With(ConfigKeys.Hosts, config.Get(ConfigKeys.Hosts)!.Replace("\"address\":\"10.0.0.3\"", "\"address\":\"10.0.0.3\",\"swapSize\":\"4G\"", StringComparison.Ordinal));
        var run = await Harness.RunAsync(Program(FleetRoster(3), config));
        Assert.Equal(HostCommands.Base(Fixture.Bundle.BaseInputsSha256, new BaseSettings { SwapSize = "4G" }), run.Command("workstation-c-base").Str("create"));
        Assert.Equal(HostCommands.Base(Fixture.Bundle.BaseInputsSha256, new BaseSettings()), run.Command("workstation-b-base").Str("create"));
        Assert.Equal(HostCommands.Base(Fixture.Bundle.BaseInputsSha256, new BaseSettings()), run.Command("workstation-base").Str("create"));
    }

    [Fact]
    public async Task A_roster_naming_a_host_the_stack_lacks_stops_before_any_resource()
    {
        var roster = FleetRoster(3, i => i == 2 ? "zz" : "b");
        var e = await Assert.ThrowsAsync<RunException>(() => Harness.RunAsync(Program(roster, FleetConfig())));
        Assert.Contains("users.u002.host: 'zz' is not a host of the stack (its hosts: devvm, b, c)", e.Message, StringComparison.Ordinal);
    }

    /// <summary>u001 moves from b to c (uid 3001 pinned), carrying the home through the backup repository.</summary>
    private static string MoveRoster() => FleetRoster(3).Replace("    uid: 3001\n    ports: { t3: 10001, playwright: 20001 }\n    host: b\n",
        "    uid: 3001\n    ports: { t3: 10001, playwright: 20001 }\n    host: c\n    moved_from: b\n", StringComparison.Ordinal);

    [Fact]
    public async Task A_move_cuts_and_backs_up_on_the_old_host_then_creates_and_restores_on_the_new_then_applies_the_rest_there()
    {
        var roster = MoveRoster();
        Assert.Contains("moved_from: b", roster, StringComparison.Ordinal);
        var (constructed, _) = await Probe.RunAsync(Program(roster, FleetConfig(backup: true)));
        var user = constructed.Select(c => c.Resource).OfType<WorkstationUser>().Single(u => u.GetResourceName() == "u001");
        var bases = constructed.Select(c => c.Resource).OfType<WorkstationBase>().ToDictionary(b => b.GetResourceName());
        async Task<IReadOnlyList<Resource>> After(Resource r) => await Probe.DependsOnAsync(constructed.Single(c => ReferenceEquals(c.Resource, r)));

        // 1-2: the move-out on b (the cut, then the final snapshot), after b's base.
        Assert.Equal([.. bases["workstation-b"].Ready], await After(user.MoveOutStep!));
        // 3-4: the move-in on c (account with the same uid, home restored), after c's base and the move-out.
        Assert.Equal([.. bases["workstation-c"].Ready, user.MoveOutStep!], await After(user.MoveInStep!));
        // 5: code, services and secrets on c, after the account step, which waits for the move-in.
        Assert.Contains(user.MoveInStep!, await After(user.AccountStep!));
        Assert.Equal([user.AccountStep!], await After(user.CodeStep!));
        Assert.Equal([user.AccountStep!], await After(user.ServicesStep!));

        var run = await Harness.RunAsync(Program(roster, FleetConfig(backup: true)));
        var moveOut = run.Command("u001-move-out");
        Assert.Equal(Address("b"), HostOfStep(moveOut));
        Assert.Equal(HostCommands.MoveOut("u001", "sftp:backup@10.0.0.9:/srv/restic"), moveOut.Str("create"));
        Assert.Null(moveOut.Str("delete")); // nothing undoes a move: the old host keeps the person cut
        var moveIn = run.Command("u001-move-in");
        Assert.Equal(Address("c"), HostOfStep(moveIn));
        Assert.StartsWith("/usr/local/lib/workstation/bin/workstation user move-in u001 --uid 3001 --snapshot ", moveIn.Str("create"), StringComparison.Ordinal);
        Assert.Equal("fixture-restic-password", moveIn.Str("stdin"));
        // The person's own steps are on the new host.
        Assert.All(run.Registrations.Where(r => r.Type == Types.Command && r.Name.StartsWith("u001-", StringComparison.Ordinal) && !r.Name.Contains("move", StringComparison.Ordinal)),
            r => Assert.Equal(Address("c"), HostOfStep(r)));
        // Only the mover's: nobody else has a move step.
        Assert.Equal(["u001-move-in", "u001-move-out"], run.Registrations.Where(r => r.Name.Contains("-move-", StringComparison.Ordinal)).Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// tests/golden/move-commands.txt: the two move lines the mocks see, for the host side's move
    /// tests (`SNAPSHOT` stands for the id move-out prints; the mocks run no move-out, so theirs is empty).
    /// </summary>
    [Fact]
    public async Task The_move_lines_are_the_golden_move_commands()
    {
        var golden = File.ReadAllLines(Repo.Golden("move-commands.txt")).Where(l => l.Length > 0).Select(l => l.Split('\t', 2)).ToDictionary(p => p[0], p => p[1]);
        var run = await Harness.RunAsync(Program(MoveRoster(), FleetConfig(backup: true)));
        Assert.Equal(golden["move-out:u001"], run.Command("u001-move-out").Str("create"));
        Assert.Equal(golden["move-in:u001"].Replace("--snapshot SNAPSHOT", "--snapshot ''", StringComparison.Ordinal), run.Command("u001-move-in").Str("create"));
        Assert.Equal(golden["move-in:u001"], HostCommands.MoveIn("u001", 3001, "SNAPSHOT", "sftp:backup@10.0.0.9:/srv/restic"));
        Assert.Equal(2, golden.Count);
    }

    [Fact]
    public void The_move_in_reads_the_snapshot_id_the_move_out_printed()
    {
        Assert.Equal("0123abcd", HostCommands.SnapshotOf("cut u001\nsnapshot 0123abcd\n"));
        Assert.Equal("", HostCommands.SnapshotOf(null));
    }

    [Fact]
    public async Task A_move_without_a_backup_repository_stops_before_any_resource()
    {
        var e = await Assert.ThrowsAsync<RunException>(() => Harness.RunAsync(Program(MoveRoster(), FleetConfig(backup: false))));
        Assert.Contains("users.u001.moved_from: a move carries the home through the backup repository", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// `pulumi up --continue-on-error` (scripts/ci.sh) skips only the steps that depend on a failed
    /// one (pulumi/pulumi pkg/resource/deploy/deployment_executor.go). So an unreachable host holds up
    /// another host's creates, updates and deletes only if some resource of the one depends on the
    /// other's: none does. Mocks can't run deletes (the engine plans them from the state); what they
    /// show is that nothing of host A's, the retired person's deletes included (their steps hang off
    /// A's base only), waits for any resource of host B's.
    /// </summary>
    [Fact]
    public async Task No_resource_on_one_host_depends_on_a_resource_of_another_so_a_failing_host_holds_up_no_other()
    {
        var (constructed, _) = await Probe.RunAsync(Program(FleetRoster(6), FleetConfig()));
        var byResource = constructed.ToDictionary(c => c.Resource);
        async Task<string?> HostOf(Resource r)
        {
            if (byResource[r].Args is CommandArgs args && args.Connection is { } conn)
                return (string?)await Pulumi.Utilities.OutputUtilities.GetValueAsync(conn.ToOutput().Apply(c => c.Host));
            return null;
        }
        var hostOf = new Dictionary<Resource, string?>();
        foreach (var c in constructed) hostOf[c.Resource] = await HostOf(c.Resource);
        foreach (var c in constructed.Where(c => hostOf[c.Resource] is not null))
        {
            foreach (var dep in await Probe.DependsOnAsync(c))
            {
                var depHost = hostOf.GetValueOrDefault(dep);
                Assert.True(depHost is null || depHost == hostOf[c.Resource],
                    $"{c.Resource.GetResourceName()} on {hostOf[c.Resource]} depends on {dep.GetResourceName()} on {depHost}");
            }
        }
        // And with host b's commands failing, the mocks still register every step of the other hosts.
        var (mock, seen) = Harness.Mocks();
        mock.Setup(m => m.NewResourceAsync(Moq.It.Is<Pulumi.Testing.MockResourceArgs>(a => a.Type == Types.Command && HostOfInputs(a.Inputs) == Address("b"))))
            .Throws(new InvalidOperationException("dial tcp 10.0.0.2:22: connect: no route to host"));
        await Assert.ThrowsAnyAsync<Exception>(() => Deployment.TestAsync(mock.Object, Harness.Options, Program(FleetRoster(6), FleetConfig())));
        var registered = seen.Where(r => r.Type == Types.Command).Select(r => r.Name).ToHashSet();
        foreach (var user in new[] { "u000", "u003", "u002", "u005" })
            Assert.Contains($"{user}-account", registered);
        Assert.Contains("workstation-maps", registered);
        Assert.Contains("workstation-c-maps", registered);
    }

    private static string? HostOfInputs(System.Collections.Immutable.ImmutableDictionary<string, object> inputs) =>
        inputs.TryGetValue("connection", out var c) && c is IDictionary<string, object> conn ? conn["host"] as string : null;

    /// <summary>
    /// Issue 27 §6: a no-op `up` for 3 hosts and 30 people opens 0 SSH sessions. A remote Command
    /// opens a session only to run a create, update or delete, and the engine runs one only when
    /// the inputs differ from the state: two runs of the same roster and stack register every
    /// Command with byte-identical inputs, so the second `up` diffs no Command and runs none.
    /// </summary>
    [Fact]
    public async Task A_no_op_up_for_3_hosts_and_30_people_changes_no_command_so_it_opens_no_ssh_session()
    {
        var roster = FleetRoster(30);
        var clock = Stopwatch.StartNew();
        var first = await Harness.RunAsync(Program(roster, FleetConfig()));
        var firstTime = clock.Elapsed;
        clock.Restart();
        var second = await Harness.RunAsync(Program(roster, FleetConfig()));
        var secondTime = clock.Elapsed;
        static string Commands(Run run) => string.Join('\n', run.Registrations.Where(r => r.Type == Types.Command).Select(r => $"{r.Key} {r.Canonical}").Order(StringComparer.Ordinal));
        var commands = first.Registrations.Count(r => r.Type == Types.Command);
        Assert.Equal(3 * 4 + 31 * 4 + 30, commands); // 4 base steps per host; account, code, services, secrets each; a cut for each of the 30
        Assert.Equal(Commands(first), Commands(second));
        var changed = first.Registrations.Where(r => r.Type == Types.Command).Count(r => second.Registrations.Single(s => s.Key == r.Key).Canonical != r.Canonical);
        output.WriteLine($"no-op up, 3 hosts, 30 people: {commands} Commands, {changed} with changed inputs -> {changed} SSH sessions " +
                         $"(program under mocks: {firstTime.TotalMilliseconds:F0} ms, then {secondTime.TotalMilliseconds:F0} ms)");
        Assert.Equal(0, changed);
    }
}
