using YamlDotNet.RepresentationModel;

namespace Workstation.Tests;

/// <summary>What changes between two runs: only what the roster or host/ change says should.</summary>
public class DiffTests
{
    private static Task<Run> RunAsync(string rosterText, HostBundle? bundle = null) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(rosterText), Fixture.Settings(), bundle ?? Fixture.Bundle).Outputs);

    /// <summary>Keys whose inputs differ, or that exist on one side only.</summary>
    internal static IReadOnlyList<string> Changed(Run before, Run after)
    {
        var a = before.ByKey;
        var b = after.ByKey;
        return a.Keys.Union(b.Keys)
            .Where(k => !a.TryGetValue(k, out var x) || !b.TryGetValue(k, out var y) || x.Canonical != y.Canonical)
            .Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Two_runs_register_byte_identical_inputs()
    {
        var first = await RunAsync(Fixture.RosterText);
        var second = await RunAsync(Fixture.RosterText);
        Assert.Equal(48, first.Registrations.Count);
        Assert.Equal(first.Canonical, second.Canonical);
    }

    [Fact]
    public async Task Removing_a_user_revokes_them_on_host_cluster_vault_and_edge_and_changes_nothing_else_shared()
    {
        var full = await RunAsync(Fixture.RosterText);
        var withoutBob = RosterEdit.Golden().Remove("bob").Text();
        Assert.DoesNotContain("bob:", withoutBob, StringComparison.Ordinal);
        var removed = await RunAsync(withoutBob);

        Assert.DoesNotContain(removed.Registrations, r => r.Name == "bob" || r.Name.StartsWith("bob-", StringComparison.Ordinal));
        Assert.Equal(
            [
                Types.T3UsersGroupKey, // bob's pk leaves the member list
                $"{Types.Command}::bob-account",
                $"{Types.Command}::bob-code",
                $"{Types.Command}::bob-cut",
                $"{Types.Command}::bob-secrets",
                $"{Types.Command}::bob-services",
                $"{Types.Command}::workstation-maps",
                $"{Types.RoleBinding}::bob-k8s-team-b-admin",
                $"{Types.VaultEntity}::bob-vault-entity",
                $"{Types.VaultAlias}::bob-vault-alias",
                $"{Types.VaultEntityPolicies}::bob-vault-policies",
                $"{Types.VaultPolicy}::bob-vault-policy",
                $"{Types.WorkstationUserType}::bob",
            ],
            Changed(full, removed));
        Assert.DoesNotContain(MockWorld.Pk("bob.b"), Members(removed));
        Assert.Equal(Members(full).Where(pk => pk != MockWorld.Pk("bob.b")), Members(removed));
        Assert.DoesNotContain("bob", removed.Command("workstation-maps").Str("create"), StringComparison.Ordinal);
        // What Pulumi replays when it deletes bob's steps: the lines stored with them (services
        // first: they depend on the account); the clone's step has none, the home is kept.
        Assert.Equal(Fixture.GoldenCommands()["stop:bob"], full.Command("bob-services").Str("delete"));
        Assert.Equal(Fixture.GoldenCommands()["suspend:bob"], full.Command("bob-account").Str("delete"));
        Assert.Null(full.Command("bob-code").Str("delete"));
    }

    [Fact]
    public async Task Adding_one_user_to_100_changes_only_that_user_and_the_maps()
    {
        var before = await RunAsync(Fixture.GeneratedRoster(100));
        // The new user goes first in the file: position must not matter either.
        var after = await RunAsync(Fixture.GeneratedRoster(101, order: Enumerable.Range(0, 100).Prepend(100)));

        // Per person: component, five host steps, Vault entity, alias, policy and its attachment, one binding (the admin: no binding, no cut).
        Assert.Equal(11 * 101 - 2 + 15, before.Registrations.Count); // 15 shared, the t3 application's provider read among them
        Assert.Equal(
            [
                Types.T3UsersGroupKey, // the one shared change outside the host: u100's pk joins the member list
                $"{Types.Command}::u100-account",
                $"{Types.Command}::u100-code",
                $"{Types.Command}::u100-cut",
                $"{Types.Command}::u100-secrets",
                $"{Types.Command}::u100-services",
                $"{Types.Command}::workstation-maps",
                $"{Types.ClusterRoleBinding}::u100-k8s-power-user-readonly",
                $"{Types.VaultEntity}::u100-vault-entity",
                $"{Types.VaultAlias}::u100-vault-alias",
                $"{Types.VaultEntityPolicies}::u100-vault-policies",
                $"{Types.VaultPolicy}::u100-vault-policy",
                $"{Types.WorkstationUserType}::u100",
            ],
            Changed(before, after));
        Assert.Equal(Members(before).Append(MockWorld.Pk("u100.auth")).Order(), Members(after));
    }

    [Fact]
    public async Task Changing_a_tier_replaces_only_that_users_bindings_and_host_steps()
    {
        var before = await RunAsync(Fixture.RosterText);
        var after = await RunAsync(RosterEdit.Golden().Tier("alice", "namespace-owner", "team-a").Text());
        Assert.Equal(
            [
                $"{Types.Command}::alice-account", // its --tier flag; not the code step
                $"{Types.Command}::alice-services", // the golden namespace-owner budget's memory_high
                $"{Types.ClusterRoleBinding}::alice-k8s-power-user-readonly",
                $"{Types.RoleBinding}::alice-k8s-team-a-admin",
            ],
            Changed(before, after));
        // The shared ClusterRole stays even with no power-user left: no tier change ever has to create it.
        Assert.Contains($"{Types.ClusterRole}::workstation-power-user-readonly", after.ByKey.Keys);
    }

    /// <summary>A budget is one person's services step, updated in place: no other step, person or layer.</summary>
    [Fact]
    public async Task Changing_a_budget_updates_only_that_persons_services_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var budget = new YamlDotNet.RepresentationModel.YamlMappingNode { { "memory_high", "2560M" }, { "tasks_max", "512" } };
        var after = await RunAsync(RosterEdit.Golden().Set("bob", "budget", budget).Text());
        Assert.Equal([$"{Types.Command}::bob-services"], Changed(before, after));
        Assert.EndsWith(" --memory-high 2560M --memory-max 3G --cpu-weight 100 --tasks-max 512", after.Command("bob-services").StepLine("update"), StringComparison.Ordinal);
        Assert.Null(after.Command("bob-services").Inputs.GetValueOrDefault("triggers"));
    }

    /// <summary>
    /// Base settings reach the base step and nothing else: swappiness, a tools mirror, a stack with
    /// no route to the pinned tools (the sandbox's), a launcher another deployer owns.
    /// </summary>
    [Theory]
    [InlineData(ConfigKeys.Swappiness, "10", " --swappiness 10")]
    [InlineData(ConfigKeys.ToolsMirror, "/srv/tools", " --tools-mirror /srv/tools")]
    [InlineData(ConfigKeys.PinnedTools, "false", " --no-pinned-tools")]
    [InlineData(ConfigKeys.OwnLauncher, "false", " --no-launcher")]
    [InlineData(ConfigKeys.ClaudeCodePolicy, "if-missing", " --claude-code if-missing")]
    [InlineData(ConfigKeys.NodeExporter, "10.0.0.5:9100", " --node-exporter 10.0.0.5:9100")]
    [InlineData(ConfigKeys.NodeExporter, "off", " --node-exporter off")]
    [InlineData(ConfigKeys.ConfigBaseUrl, "https://git.example.test/config-base.git", " --config-base https://git.example.test/config-base.git --config-base-ref main")]
    [InlineData(ConfigKeys.T3Package, "@acme/t3@1.4.2", " --t3-package @acme/t3@1.4.2")]
    [InlineData(ConfigKeys.TakeOver, "[\"/etc/claude-code/managed-settings.json\", \"/etc/skel/.zshrc\"]", " --take-over /etc/claude-code/managed-settings.json --take-over /etc/skel/.zshrc")]
    public async Task A_base_setting_changes_only_the_base_step(string key, string value, string flag)
    {
        var before = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), Fixture.Settings(), Fixture.Bundle).Outputs);
        var settings = Fixture.Settings(Fixture.Config().With(key, value));
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), settings, Fixture.Bundle).Outputs);
        Assert.Equal([$"{Types.Command}::workstation-base"], Changed(before, after));
        Assert.EndsWith(flag, after.Command("workstation-base").Str("update"), StringComparison.Ordinal);
    }

    /// <summary>
    /// configBaseHooks (issue 25 §7) is the base step's --config-base-hooks, and only with a config
    /// base: it allows the config base's hooks from a branch or tag, so it must show in review.
    /// </summary>
    [Fact]
    public async Task Allowing_config_base_hooks_changes_only_the_base_step_and_says_so()
    {
        var withBase = Fixture.Config().With(ConfigKeys.ConfigBaseUrl, "https://git.example.test/config-base.git");
        var before = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), Fixture.Settings(withBase), Fixture.Bundle).Outputs);
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), Fixture.Settings(withBase.With(ConfigKeys.ConfigBaseHooks, "true")), Fixture.Bundle).Outputs);
        Assert.Equal([$"{Types.Command}::workstation-base"], Changed(before, after));
        Assert.EndsWith(" --config-base-ref main --config-base-hooks", after.Command("workstation-base").Str("update"), StringComparison.Ordinal);
        Assert.DoesNotContain("--config-base-hooks", before.Command("workstation-base").Str("update"), StringComparison.Ordinal);
    }

    /// <summary>A unit template taken over is the installer's flag: only the install step changes, and a unit host/ lacks stops the run.</summary>
    [Fact]
    public async Task Taking_over_a_unit_template_changes_only_the_install_step()
    {
        var before = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), Fixture.Settings(), Fixture.Bundle).Outputs);
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.TakeOver, "[\"/etc/systemd/system/playwright-mcp@.service\"]"));
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), settings, Fixture.Bundle).Outputs);
        Assert.Equal([$"{Types.Command}::workstation-install"], Changed(before, after));
        Assert.Equal(HostCommands.Install + " --take-over /etc/systemd/system/playwright-mcp@.service", after.Command("workstation-install").Str("create"));

        var stranger = Fixture.Settings(Fixture.Config().With(ConfigKeys.TakeOver, "[\"/etc/systemd/system/t3-provision.service\"]"));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.RosterText), stranger, Fixture.Bundle).Outputs));
        Assert.Contains("workstation:takeOver: /etc/systemd/system/t3-provision.service is not a unit template of host/units", e.ToString(), StringComparison.Ordinal);
    }

    private static IEnumerable<int> Members(Run run) =>
        ((System.Collections.IEnumerable)run.ByKey[Types.T3UsersGroupKey].Inputs["users"]).Cast<object>().Select(Convert.ToInt32);

    [Fact]
    public async Task Reordering_users_changes_nothing()
    {
        var sorted = await RunAsync(Fixture.GeneratedRoster(20));
        var shuffled = await RunAsync(Fixture.GeneratedRoster(20, order: Enumerable.Range(0, 20).Reverse()));
        Assert.Equal(sorted.Canonical, shuffled.Canonical);
    }

    /// <summary>
    /// The explicit fixes for host drift show in review as an update of that person's host step,
    /// carrying the flag, and touch nothing else (no cluster, Vault or edge object).
    /// </summary>
    [Fact]
    public async Task Revoke_groups_and_private_home_update_only_that_persons_host_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var text = RosterEdit.Golden()
            .Set("alice", "revoke_groups", new YamlSequenceNode(new YamlScalarNode("docker")))
            .Set("alice", "private_home", new YamlScalarNode("true")).Text();
        Assert.NotEqual(Fixture.RosterText, text);
        var after = await RunAsync(text);

        Assert.Equal([$"{Types.Command}::alice-account"], Changed(before, after));
        var apply = after.Command("alice-account").StepLine("create")!;
        Assert.Equal(Fixture.GoldenCommands()["account:alice"] + " --revoke-groups docker --private-home", apply);
        Assert.Equal(apply, after.Command("alice-account").StepLine("update"));
    }

    /// <summary>The edge account (stack config) and the roster's extra privileged groups are site values: only the site step changes.</summary>
    [Fact]
    public async Task The_edge_user_and_extra_privileged_groups_change_only_the_site_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var text = RosterEdit.Golden().Setting("privileged_groups", new YamlSequenceNode(new YamlScalarNode("lxd"), new YamlScalarNode("adm"))).Text();
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.EdgeUser, "t3-edge"));
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(text), settings, Fixture.Bundle).Outputs);

        Assert.Equal([$"{Types.Command}::workstation-site"], Changed(before, after));
        Assert.Equal(Fixture.GoldenCommands()["site"].Replace(" --oidc-grant-type", " --edge-user t3-edge --privileged-groups adm,lxd --oidc-grant-type", StringComparison.Ordinal),
            after.Command("workstation-site").Str("create"));
    }

    /// <summary>A playwright port lives in the services step only; a t3 port also in the maps the edge reads.</summary>
    [Fact]
    public async Task A_port_change_updates_only_that_persons_services_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var playwright = await RunAsync(RosterEdit.Golden().Ports("alice", 3774, 8940).Text());
        Assert.Equal([$"{Types.Command}::alice-services"], Changed(before, playwright));
        Assert.Equal(Fixture.GoldenCommands()["services:alice"].Replace("8932", "8940", StringComparison.Ordinal),
            playwright.Command("alice-services").StepLine("update"));

        var t3 = await RunAsync(RosterEdit.Golden().Ports("alice", 3790, 8932).Text());
        Assert.Equal(
            [$"{Types.Command}::alice-services", $"{Types.Command}::workstation-maps"],
            Changed(before, t3));
    }

    /// <summary>The repository is a site value: a new URL re-runs the site step; existing clones are never replaced, so no user's step changes.</summary>
    [Fact]
    public async Task A_repo_url_change_changes_no_users_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.RepoUrl, "https://git.example.test/other.git"));
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        Assert.Equal([$"{Types.Command}::workstation-site"], Changed(before, after));
    }

    /// <summary>The people's steps an upgrade of <paramref name="steps"/> re-runs: each of them, for every person of the golden roster.</summary>
    private static IEnumerable<string> PersonSteps(params HostStep[] steps) =>
        from u in new[] { "alice", "bob", "wiz" } from s in steps select $"{Types.Command}::{s.ResourceName(u)}";

    /// <summary>
    /// Issue 24 §9: the CLI sources every lib/ file, so a changed script re-runs every step with a
    /// create, for every person, as an update (its line's host revision), besides the install. The
    /// cut step runs no host code on an update; the base step only its own inputs.
    /// </summary>
    [Fact]
    public async Task S9_A_changed_host_script_re_runs_every_persons_steps_that_run_it()
    {
        using var dir = TempHostDir.CopyOf(Repo.HostDir);
        var before = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));
        File.AppendAllText(Path.Combine(dir.Path, "lib", "user.sh"), "\n# changed\n");
        var edited = HostBundle.FromDirectory(dir.Path);
        var after = await RunAsync(Fixture.RosterText, edited);

        Assert.Equal(PersonSteps(HostStep.Account, HostStep.Code, HostStep.Services, HostStep.Secrets)
                .Append($"{Types.Command}::workstation-install").Order(StringComparer.Ordinal),
            Changed(before, after));
        var triggers = (System.Collections.IEnumerable)after.Command("workstation-install").Inputs["triggers"];
        Assert.Equal([edited.Sha256], triggers.Cast<object>());
        Assert.Equal(HostCommands.AtHostRev(Fixture.GoldenCommands()["account:alice"], edited.StepInputsSha256[HostStep.Account.Name]),
            after.Command("alice-account").Str("update"));
    }

    /// <summary>A unit template is read by the services step alone: a change of one re-runs everyone's services step, and no other person's step.</summary>
    [Fact]
    public async Task S9_A_changed_unit_template_re_runs_only_every_persons_services_step()
    {
        using var dir = TempHostDir.CopyOf(Repo.HostDir);
        var before = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));
        File.AppendAllText(Path.Combine(dir.Path, "units", "t3-serve@.service"), "# changed\n");
        var after = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));

        Assert.Equal(PersonSteps(HostStep.Services).Append($"{Types.Command}::workstation-install").Order(StringComparer.Ordinal),
            Changed(before, after));
    }

    /// <summary>
    /// An upgrade is updates only: every person's step keeps its name (no create, no delete), only
    /// its create and update lines change (a change there is an update in pulumi-command), it has no
    /// triggers (a change of those is a replace, which runs the stored delete: `user suspend` for the
    /// account, which would cut everyone), and its stored delete stays as it was.
    /// </summary>
    [Fact]
    public async Task S9_An_upgrade_registers_updates_only_never_a_replace_or_delete_of_a_persons_step()
    {
        using var dir = TempHostDir.CopyOf(Repo.HostDir);
        var before = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));
        File.AppendAllText(Path.Combine(dir.Path, "lib", "services.sh"), "\n# changed\n");
        File.AppendAllText(Path.Combine(dir.Path, "units", "playwright-mcp@.service"), "# changed\n");
        var after = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));

        Assert.Equal(before.ByKey.Keys.Order(StringComparer.Ordinal), after.ByKey.Keys.Order(StringComparer.Ordinal));
        var changed = Changed(before, after).Where(k => k != $"{Types.Command}::workstation-install").ToList();
        Assert.Equal(12, changed.Count);
        foreach (var key in changed)
        {
            var (a, b) = (before.ByKey[key], after.ByKey[key]);
            Assert.False(b.Inputs.ContainsKey("triggers"), $"{key} has triggers");
            Assert.Equal(a.Str("delete"), b.Str("delete"));
            var differ = a.Inputs.Keys.Union(b.Inputs.Keys)
                .Where(i => Canonicalizer.Write(a.Inputs.GetValueOrDefault(i)) != Canonicalizer.Write(b.Inputs.GetValueOrDefault(i)))
                .Order(StringComparer.Ordinal);
            Assert.Equal(["create", "update"], differ);
        }
    }

    /// <summary>A base edit re-runs the install (to ship it) and the base step, as an update; no site or user step.</summary>
    [Fact]
    public async Task Changing_a_base_file_changes_only_the_install_and_base_steps()
    {
        using var dir = TempHostDir.CopyOf(Repo.HostDir);
        var before = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));
        File.AppendAllText(Path.Combine(dir.Path, "packages.txt"), "tmux\n");
        var edited = HostBundle.FromDirectory(dir.Path);
        var after = await RunAsync(Fixture.RosterText, edited);

        Assert.Equal([$"{Types.Command}::workstation-base", $"{Types.Command}::workstation-install"], Changed(before, after));
        // The hash is in the command line, not in triggers: the engine shows an update, never a replace.
        var @base = after.Command("workstation-base");
        Assert.False(@base.Inputs.ContainsKey("triggers"));
        Assert.Equal(HostCommands.Base(edited.BaseInputsSha256, new BaseSettings()), @base.Str("update"));
        Assert.NotEqual(before.Command("workstation-base").Str("update"), @base.Str("update"));
    }

    [Fact]
    public async Task The_swap_size_reaches_only_the_base_step_and_the_snapshot_url_only_the_site_step()
    {
        var before = await RunAsync(Fixture.RosterText);
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.SwapSize, "8G").With(ConfigKeys.SnapshotUrl, "https://chrome.example.test/state"));
        var after = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        Assert.Equal([$"{Types.Command}::workstation-base", $"{Types.Command}::workstation-site"], Changed(before, after));
        Assert.EndsWith(" --swap-size 8G", after.Command("workstation-base").Str("create"), StringComparison.Ordinal);
        Assert.Contains(" --snapshot-url https://chrome.example.test/state", after.Command("workstation-site").Str("create"), StringComparison.Ordinal);
    }
}
