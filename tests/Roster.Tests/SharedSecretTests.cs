using System.Text.Json.Nodes;
using Workstation.Roster.Access;
using static Workstation.Roster.Tests.TestFiles;

namespace Workstation.Roster.Tests;

/// <summary>
/// The shared secrets: who is eligible for which (the entry's `ha`, `memory` and `claude_login`),
/// how `derive --json` lists them, and how `roster diff` shows them gained, lost and to rotate.
/// </summary>
public class SharedSecretTests
{
    private static RosterModel Load(string yaml) => RosterLoader.Load(yaml).ModelOrThrow();

    private static DerivedRoster Derive(string yaml) => Derivation.Derive(Load(yaml));

    /// <summary>The head lines plus bea, a power user whose extra entry lines are given.</summary>
    /// <summary>The admin and no users.</summary>
    private const string Nobody = TestFiles.Head;

    /// <summary>The admin, and bea retired.</summary>
    private const string BeaRetired = TestFiles.Head + "retired:\n  bea: { ports: { t3: 3774, playwright: 8932 } }\n";

    private static IReadOnlyList<string> SecretsOf(string yaml, string osUser) =>
        Derive(yaml).Users.Single(u => u.OsUser == osUser).Secrets.Select(SharedSecrets.Name).ToList();

    private static RosterDiff Diff(string before, string after) => AccessDiffs.Diff(Derive(before), Derive(after));

    // --- the fields -------------------------------------------------------------------------

    [Fact]
    public void The_fields_default_to_no_ha_the_shared_memory_key_and_an_interactive_login()
    {
        var bea = Load(WithBea()).Users.Single();
        Assert.Equal((false, MemoryAccess.Shared, ClaudeLogin.Interactive), (bea.Ha, bea.Memory, bea.ClaudeLogin));
    }

    [Fact]
    public void The_fields_are_read_as_written_on_a_user()
    {
        var bea = Load(WithBea("    ha: true\n    memory: none\n    claude_login: shared\n")).Users.Single();
        Assert.Equal((true, MemoryAccess.None, ClaudeLogin.Shared), (bea.Ha, bea.Memory, bea.ClaudeLogin));
    }

    [Fact]
    public void The_fields_are_read_as_written_on_the_admin()
    {
        var yaml = TestFiles.Head.Replace("users:\n", "  ha: true\n  memory: none\n  claude_login: shared\nusers:\n", StringComparison.Ordinal) +
            TestFiles.User("bea", 3774, 8932);
        var model = Load(yaml);
        Assert.Equal((true, MemoryAccess.None, ClaudeLogin.Shared), (model.Admin.Ha, model.Admin.Memory, model.Admin.ClaudeLogin));
        // Each entry is its own: bea keeps the defaults.
        Assert.Equal((false, MemoryAccess.Shared, ClaudeLogin.Interactive), (model.Users[0].Ha, model.Users[0].Memory, model.Users[0].ClaudeLogin));
    }

    [Fact]
    public void Written_defaults_mean_the_same_as_leaving_the_fields_out()
    {
        Assert.Equal(
            DerivedJson.Write(Derive(WithBea())),
            DerivedJson.Write(Derive(WithBea("    ha: false\n    memory: shared\n    claude_login: interactive\n"))));
    }

    // --- eligibility ------------------------------------------------------------------------

    [Fact]
    public void By_default_a_person_is_eligible_for_the_beads_key_the_memory_key_the_repo_token_and_the_snapshot_token()
    {
        Assert.Equal(["beads-key", "memory-key", "repo-token", "snapshot-token"], SecretsOf(WithBea(), "bea"));
        Assert.Equal(["beads-key", "memory-key", "repo-token", "snapshot-token"], SecretsOf(WithBea(), "wiz"));
    }

    [Fact]
    public void A_person_with_ha_is_eligible_for_the_ha_url()
    {
        Assert.Contains("ha-url", SecretsOf(WithBea("    ha: true\n"), "bea"));
        Assert.DoesNotContain("ha-url", SecretsOf(WithBea("    ha: false\n"), "bea"));
    }

    [Fact]
    public void A_person_with_memory_none_is_not_eligible_for_the_memory_key()
    {
        Assert.Equal(["beads-key", "repo-token", "snapshot-token"], SecretsOf(WithBea("    memory: none\n"), "bea"));
    }

    [Fact]
    public void A_person_with_a_shared_claude_login_is_eligible_for_the_claude_credentials()
    {
        Assert.Contains("claude-credentials", SecretsOf(WithBea("    claude_login: shared\n"), "bea"));
        Assert.DoesNotContain("claude-credentials", SecretsOf(WithBea("    claude_login: interactive\n"), "bea"));
    }

    [Fact]
    public void Everyone_is_eligible_for_the_beads_key_and_the_snapshot_token_whatever_the_entry_says()
    {
        foreach (var ha in new[] { false, true })
            foreach (var memory in Enum.GetValues<MemoryAccess>())
                foreach (var login in Enum.GetValues<ClaudeLogin>())
                {
                    var held = SharedSecrets.Eligible(ha, memory, login);
                    Assert.Contains(SharedSecret.BeadsKey, held);
                    Assert.Contains(SharedSecret.SnapshotToken, held);
                    Assert.Equal(held.OrderBy(SharedSecrets.Name, StringComparer.Ordinal), held);
                    Assert.Equal(held.Distinct(), held);
                }
    }

    [Fact]
    public void Derive_json_lists_each_persons_secrets_by_name_in_name_order()
    {
        var json = JsonNode.Parse(DerivedJson.Write(Derive(WithBea("    ha: true\n    claude_login: shared\n"))))!;
        Assert.Equal(
            ["beads-key", "claude-credentials", "ha-url", "memory-key", "repo-token", "snapshot-token"],
            json["users"]!["bea"]!["secrets"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(["beads-key", "memory-key", "repo-token", "snapshot-token"], json["users"]!["wiz"]!["secrets"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public void A_retired_person_has_no_secrets_in_derive_json()
    {
        var json = JsonNode.Parse(DerivedJson.Write(Derive(File.ReadAllText(TestFiles.GoldenRoster))))!;
        Assert.Null(json["retired"]!["carol"]!["secrets"]);
    }

    // --- rotation lines ---------------------------------------------------------------------

    [Fact]
    public void A_rotation_line_sets_the_next_serial()
    {
        Assert.Equal("pulumi config set --path 'rotate[\"ha-url\"]' 5", SharedSecrets.RotationLine(SharedSecret.HaUrl, 4));
    }

    [Fact]
    public void Without_the_current_serial_a_rotation_line_says_next_serial()
    {
        Assert.Equal("pulumi config set --path 'rotate[\"snapshot-token\"]' <next serial>", SharedSecrets.RotationLine(SharedSecret.SnapshotToken));
    }

    // --- roster diff ------------------------------------------------------------------------

    [Fact]
    public void Turning_ha_on_shows_the_ha_url_gained_and_where_it_lands()
    {
        var diff = Diff(WithBea(), WithBea("    ha: true\n"));
        var bea = Assert.Single(diff.People);
        var change = Assert.Single(bea.Changes);
        Assert.Equal(new AccessChange(DiffLayer.Host, true, "shared secret ha-url → the `ha` MCP server in ~/.claude.json", SharedSecret.HaUrl), change);
        Assert.Empty(bea.Rotate);
        Assert.Empty(diff.Warnings);
    }

    [Fact]
    public void Taking_eligibility_away_shows_the_secret_lost()
    {
        var diff = Diff(WithBea("    ha: true\n    claude_login: shared\n"), WithBea("    memory: none\n"));
        var bea = Assert.Single(diff.People);
        Assert.Equal(
            ["− shared secret claude-credentials → ~/.claude/.credentials.json",
             "− shared secret ha-url → the `ha` MCP server in ~/.claude.json",
             "− shared secret memory-key → the `claude_memory` MCP server in ~/.claude.json"],
            bea.Changes.Select(c => $"{(c.Gained ? "+" : "−")} {c.Text}"));
        // Still active: the host takes the files away; nothing is listed to rotate.
        Assert.Empty(bea.Rotate);
    }

    [Fact]
    public void A_new_person_is_shown_the_secrets_they_will_receive()
    {
        var diff = Diff(Nobody, WithBea("    ha: true\n"));
        var bea = Assert.Single(diff.People);
        Assert.Equal(("absent", "active"), (bea.Before, bea.After));
        Assert.Equal(
            ["beads-key", "ha-url", "memory-key", "repo-token", "snapshot-token"],
            bea.Changes.Where(c => c.Gained && c.Secret is not null).Select(c => c.Secret!.Value.Name()));
        Assert.Contains("| host | + | shared secret ha-url → the `ha` MCP server in ~/.claude.json |", AccessDiffs.Markdown(diff, "a", "b"), StringComparison.Ordinal);
        Assert.Empty(bea.Rotate);
    }

    [Fact]
    public void Retiring_a_person_lists_the_shared_secrets_to_rotate()
    {
        var diff = Diff(WithBea("    ha: true\n"), BeaRetired);
        var bea = Assert.Single(diff.People);
        Assert.Equal([SharedSecret.BeadsKey, SharedSecret.HaUrl, SharedSecret.MemoryKey, SharedSecret.RepoToken, SharedSecret.SnapshotToken], bea.Rotate);
        Assert.Contains(diff.Warnings, w => w.Text == "held the shared secrets beads-key, ha-url, memory-key, repo-token, snapshot-token: rotate each in Vault, then bump its serial");
        var md = AccessDiffs.Markdown(diff, "a", "b");
        Assert.Contains("#### Revoke: the shared secrets bea held\n", md, StringComparison.Ordinal);
        Assert.Contains("These are shared: everyone eligible holds the same value", md, StringComparison.Ordinal);
        Assert.Contains("- `ha-url` → the `ha` MCP server in ~/.claude.json\n", md, StringComparison.Ordinal);
        Assert.Contains("```sh\n" +
            "pulumi config set --path 'rotate[\"beads-key\"]' <next serial>\n" +
            "pulumi config set --path 'rotate[\"ha-url\"]' <next serial>\n" +
            "pulumi config set --path 'rotate[\"memory-key\"]' <next serial>\n" +
            "pulumi config set --path 'rotate[\"repo-token\"]' <next serial>\n" +
            "pulumi config set --path 'rotate[\"snapshot-token\"]' <next serial>\n" +
            "```\n", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Removing_a_person_lists_the_shared_secrets_they_held_to_rotate()
    {
        var diff = Diff(WithBea("    memory: none\n    claude_login: shared\n"), Nobody);
        var bea = Assert.Single(diff.People);
        Assert.Equal(("active", "absent"), (bea.Before, bea.After));
        Assert.Equal([SharedSecret.BeadsKey, SharedSecret.ClaudeCredentials, SharedSecret.RepoToken, SharedSecret.SnapshotToken], bea.Rotate);
    }

    [Fact]
    public void Purging_a_person_already_retired_has_nothing_new_to_rotate()
    {
        var golden = File.ReadAllText(TestFiles.GoldenRoster);
        var purged = golden.Replace("carol: { uid: 2003,", "carol: { uid: 2003, purge: true,", StringComparison.Ordinal);
        var carol = Assert.Single(Diff(golden, purged).People);
        Assert.Empty(carol.Rotate);
        Assert.DoesNotContain("#### Revoke", AccessDiffs.Markdown(Diff(golden, purged), "a", "b"), StringComparison.Ordinal);
    }

    [Fact]
    public void Bringing_a_person_back_gives_the_secrets_again_and_rotates_nothing()
    {
        var back = Assert.Single(Diff(File.ReadAllText(Path.Combine(TestFiles.Root, "tests", "golden", "diff", "bring-back.yaml")), File.ReadAllText(TestFiles.GoldenRoster)).People);
        Assert.Equal(["beads-key", "memory-key", "repo-token", "snapshot-token"], back.Changes.Where(c => c.Gained && c.Secret is not null).Select(c => c.Secret!.Value.Name()));
        Assert.Empty(back.Rotate);
    }

    [Fact]
    public void The_json_diff_carries_the_secret_of_each_change_and_the_rotation_lines()
    {
        var diff = Diff(WithBea("    ha: true\n"), BeaRetired);
        var bea = JsonNode.Parse(AccessDiffs.Json(diff))!["people"]!.AsArray().Single()!;
        var secretChanges = bea["changes"]!.AsArray().Where(c => c!["secret"] is not null).ToList();
        Assert.Equal(["beads-key", "ha-url", "memory-key", "repo-token", "snapshot-token"], secretChanges.Select(c => (string?)c!["secret"]));
        Assert.All(secretChanges, c => Assert.Equal(("host", "lost"), ((string?)c!["layer"], (string?)c["change"])));
        var rotate = bea["rotate"]!.AsArray();
        Assert.Equal(["beads-key", "ha-url", "memory-key", "repo-token", "snapshot-token"], rotate.Select(r => (string?)r!["secret"]));
        Assert.Equal("the `ha` MCP server in ~/.claude.json", (string?)rotate[1]!["where"]);
        Assert.Equal("pulumi config set --path 'rotate[\"ha-url\"]' <next serial>", (string?)rotate[1]!["line"]);
        // Changes that are not about a secret carry no `secret` key.
        Assert.Null(bea["changes"]!.AsArray().First(c => (string?)c!["what"] == "tier power-user")!["secret"]);
    }

    [Fact]
    public void A_person_whose_secrets_do_not_change_has_nothing_to_rotate_in_the_json()
    {
        var diff = Diff(WithBea(), WithBea("    ha: true\n"));
        Assert.Empty(JsonNode.Parse(AccessDiffs.Json(diff))!["people"]![0]!["rotate"]!.AsArray());
    }
}
