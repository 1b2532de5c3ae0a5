
namespace Host.Tests;

/// <summary>
/// Tiers hold on the host: what an account holds beyond its tier is reported (apply warns,
/// `user status --json` lists it) and removed only by an explicit roster field.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class DriftTests(SandboxFixture box)
{
    private static readonly TestUser Gus = new("gus", 2161, 4161, 4261, "admin", ["code-shared", "docker", "sudo"]);
    private static readonly TestUser Hed = new("hed", 7162, 4162, 4262);
    private static readonly TestUser Ivo = new("ivo", 2163, 4163, 4263);

    private async Task<JsonElement> StatusAsync(string user)
    {
        var r = await box.MustAsync(TestUser.Named(user).Status());
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    private static string[] Drift(JsonElement status, string kind) =>
        status.GetProperty("drift").EnumerateArray()
            .Where(d => d.GetProperty("kind").GetString() == kind)
            .Select(d => d.GetProperty("value").GetString()!).Order(StringComparer.Ordinal).ToArray();

    private async Task<string[]> GroupsAsync(string user) =>
        (await box.ScriptAsync($"id -nG {user}")).Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Gus was the admin and is now a power-user. Apply still only adds (he keeps sudo, docker and
    /// code-shared) but says so on every run, and status lists it, until the roster's revoke_groups
    /// takes a group away; a new login of his then no longer has it.
    /// </summary>
    [Fact]
    public async Task A_demoted_admin_is_warned_of_each_privileged_group_until_revoke_groups_removes_it()
    {
        await HostWorld.ReadyAsync(box);
        var asAdmin = await box.MustAsync(Gus.Apply(), stdin: Gus.TokenStdin);
        Assert.DoesNotContain("drift", asAdmin.Stderr, StringComparison.Ordinal); // the admin tier grants all three

        var demoted = await box.MustAsync(Gus.Apply(tier: "power-user", groups: []), stdin: Gus.TokenStdin);
        foreach (var g in new[] { "code-shared", "docker", "sudo" })
            Assert.Contains($"workstation: warning: drift: gus holds privileged group {g}, which its tier does not grant (fix: revoke_groups: [{g}])", demoted.Stderr, StringComparison.Ordinal);
        Assert.Equal(["code-shared", "docker", "gus", "sudo", "workstation"], await GroupsAsync("gus")); // nothing removed implicitly
        var status = await StatusAsync("gus");
        Assert.Equal("power-user", status.GetProperty("tier").GetString());
        Assert.Equal(["code-shared", "docker", "sudo"], Drift(status, "privileged-group"));

        var revoke = await box.MustAsync(Gus.Apply(tier: "power-user", groups: [], revokeGroups: ["docker", "sudo"]), stdin: Gus.TokenStdin);
        Assert.Contains("workstation: changed: gus removed from group docker (revoke_groups)", revoke.Changes());
        Assert.Contains("workstation: changed: gus removed from group sudo (revoke_groups)", revoke.Changes());
        Assert.Equal(["code-shared", "gus", "workstation"], await GroupsAsync("gus"));
        Assert.Equal(["code-shared"], Drift(await StatusAsync("gus"), "privileged-group"));
        var login = (await box.MustAsync("runuser -u gus -- id -nG")).Stdout.Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["code-shared", "gus", "workstation"], login.Order(StringComparer.Ordinal)); // a new login of his

        // Revoking what is already gone changes nothing.
        Assert.Empty((await box.MustAsync(Gus.Apply(tier: "power-user", groups: [], revokeGroups: ["docker", "sudo"]), stdin: Gus.TokenStdin)).Changes());
    }

    /// <summary>
    /// Hed's home predates Workstation and is 0755: Ivo, another person, can list it. Adopting it
    /// changes nothing but reports the drift; private_home closes it, and Ivo is then refused.
    /// </summary>
    [Fact]
    public async Task An_adopted_home_open_to_others_is_drift_until_private_home_closes_it()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Ivo.Apply(), stdin: Ivo.TokenStdin);
        await box.ScriptAsync("""
            getent passwd hed >/dev/null || useradd -m -u 7162 -s /bin/bash hed
            chmod 0755 /home/hed
            runuser -u hed -- sh -c 'echo notes > /home/hed/notes.txt; chmod 644 /home/hed/notes.txt'
            """);
        Assert.Equal("notes\n", (await box.MustAsync("runuser -u ivo -- cat /home/hed/notes.txt")).Stdout);

        var adopt = await box.MustAsync(Hed.Apply(adopt: true), stdin: Hed.TokenStdin);
        Assert.Contains("workstation: warning: drift: hed home /home/hed is mode 755 (group hed): other accounts can read or enter it (fix: private_home: true)", adopt.Stderr, StringComparison.Ordinal);
        Assert.Equal("755\n", (await box.MustAsync("stat -c %a /home/hed")).Stdout);
        Assert.Equal(["755"], Drift(await StatusAsync("hed"), "home-mode"));

        var close = await box.MustAsync(Hed.Apply(adopt: true, privateHome: true), stdin: Hed.TokenStdin);
        Assert.Contains("workstation: changed: /home/hed: mode 755 -> 700 (private_home)", close.Changes());
        Assert.DoesNotContain("drift", close.Stderr, StringComparison.Ordinal);
        Assert.Empty(Drift(await StatusAsync("hed"), "home-mode"));
        var denied = await box.RunAsync("runuser -u ivo -- cat /home/hed/notes.txt");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("Permission denied", denied.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The site's own privileged groups count as drift too; status describes a suspended user without touching it.</summary>
    [Fact]
    public async Task A_site_privileged_group_is_drift_and_status_reports_the_state()
    {
        await HostWorld.ReadyAsync(box);
        try
        {
            await box.MustAsync(HostWorld.SiteCommand(privilegedGroups: ["ws-priv"]));
            await box.ScriptAsync("getent group ws-priv >/dev/null || groupadd ws-priv");
            var kay = new TestUser("kay", 2165, 4165, 4265);
            await box.MustAsync(kay.Apply(), stdin: kay.TokenStdin);
            await box.MustAsync("gpasswd -a kay ws-priv >/dev/null");
            var active = await StatusAsync("kay");
            Assert.Equal("active", active.GetProperty("state").GetString());
            Assert.Equal("guarded", active.GetProperty("firewall").GetString());
            Assert.Equal(["ws-priv"], Drift(active, "privileged-group"));

            await box.MustAsync(kay.Suspend());
            await using (await box.QuietAsync())
            {
                var before = await box.ScriptAsync(HostWorld.Snapshot);
                var suspended = await StatusAsync("kay");
                Assert.Equal("suspended", suspended.GetProperty("state").GetString());
                Assert.All(suspended.GetProperty("units").EnumerateArray(), u => Assert.Equal("inactive", u.GetProperty("active").GetString()));
                await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "user status changed the box");
            }

            Assert.Equal("absent", (await StatusAsync("nosuchuser")).GetProperty("state").GetString());
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }

    /// <summary>
    /// The host's report (`workstation status --json`) against the roster (`roster drift`): a
    /// unit disabled by hand, a group added, a map edited and a budget lifted each show as one
    /// fact, expected against actual; before them, the person has none.
    /// </summary>
    [Fact]
    public async Task Drift_against_the_roster_shows_a_disabled_unit_an_extra_group_an_edited_map_and_a_lifted_budget()
    {
        await HostWorld.ReadyAsync(box);
        var dri = new TestUser("dri", 2198, 4198, 4298);
        var roster = new DerivedRoster(RosterSettings.Default, [new Member.Active(dri.Derived())]);
        await box.MustAsync(HostWorld.SiteCommand(t3Command: FirewallTests.FakeT3));
        try
        {
            await box.MustAsync(dri.Apply(), stdin: dri.TokenStdin);
            await box.MustAsync("systemctl restart t3-serve@dri.service"); // a running t3 keeps the command it started with
            await box.MustAsync(HostCommands.Maps([dri.Derived()]));

            async Task<List<string>> DriftOfDri()
            {
                var report = await box.MustAsync(HostCommands.Manual.StatusAll);
                using var doc = JsonDocument.Parse(report.Stdout);
                return Workstation.Roster.Drift.Check(roster, doc.RootElement).Where(i => i.OsUser == "dri").Select(i => i.ToString()).ToList();
            }

            // Both servers take a moment to listen: wait for that on its own (one read of /proc/net),
            // since `status` reads every person on the box, and the box holds many by now.
            await box.ScriptAsync("""
                for _ in $(seq 1 100); do
                  n=$(awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == "1066" || a[2] == "10CA") print a[2] }' /proc/net/tcp /proc/net/tcp6 | sort -u | wc -l)
                  [ "$n" = 2 ] && exit 0
                  sleep 0.2
                done
                echo "dri's servers (4198, 4298) do not listen" >&2; exit 1
                """, TimeSpan.FromSeconds(60));
            var clean = await DriftOfDri();
            for (var i = 0; i < 100 && clean.Count > 0; i++)
            {
                await Task.Delay(200);
                clean = await DriftOfDri();
            }
            Assert.True(clean.Count == 0, string.Join("\n", clean));

            await box.ScriptAsync("""
                set -euo pipefail
                systemctl disable --quiet t3-serve@dri.service
                getent group ws-drift-extra >/dev/null || groupadd ws-drift-extra
                gpasswd -a dri ws-drift-extra >/dev/null
                sed -i 's/^dri\.a dri$/someone.else dri/' /etc/ttyd-user-map
                systemctl set-property workstation-dri.slice MemoryMax=infinity
                """);
            var b = dri.Derived().Budget;
            Assert.Equal(
            [
                "dri: group ws-drift-extra: expected not a member; actual member",
                "dri: unit t3-serve@dri.service: expected enabled, active; actual disabled, active",
                "dri: ttyd-user-map entry: expected dri.a; actual someone.else",
                $"dri: budget of workstation-dri.slice: expected memory_high {Sizes.Human(b.MemoryHigh)}, memory_max {Sizes.Human(b.MemoryMax)}, cpu_weight {b.CpuWeight}, tasks_max {b.TasksMax}; " +
                $"actual memory_high {Sizes.Human(b.MemoryHigh)}, memory_max infinity, cpu_weight {b.CpuWeight}, tasks_max {b.TasksMax}",
            ], await DriftOfDri());
        }
        finally
        {
            // Undone by hand as it was done: the map is Workstation's again (a hand edit would make the maps step refuse).
            await box.ScriptAsync("""
                systemctl enable --quiet t3-serve@dri.service || true
                gpasswd -d dri ws-drift-extra >/dev/null 2>&1 || true
                sed -i 's/^someone\.else dri$/dri.a dri/' /etc/ttyd-user-map
                rm -rf /etc/systemd/system.control/workstation-dri.slice.d
                systemctl daemon-reload
                """);
            await box.MustAsync(HostCommands.Maps([dri.Derived()]));
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }
}
