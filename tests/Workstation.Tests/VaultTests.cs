using System.Text.Json;
using Workstation.Roster.Access;

namespace Workstation.Tests;

/// <summary>Each person's Vault entity, alias and policy: exact inputs, the auth mount accessor, the explicit provider.</summary>
public class VaultTests
{

    private static Task<Run> RunAsync(DictConfig? config = null, MockWorld? world = null) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(config), Fixture.Bundle).Outputs, world);

    [Theory]
    [InlineData("wiz", "wiz.admin")]
    [InlineData("alice", "alice.a")]
    [InlineData("bob", "bob.b")]
    public async Task Every_tier_gets_an_entity_an_alias_on_the_oidc_mount_and_its_own_policy(string user, string authentikUser)
    {
        var run = await RunAsync();
        Assert.Equal(
            $$"""{"disabled":false,"externalPolicies":true,"metadata":{"authentik_user":"{{authentikUser}}","managed-by":"workstation","os_user":"{{user}}"},"name":"{{user}}"}""",
            run.Named(Types.VaultEntity, $"{user}-vault-entity").Canonical);
        // Our policy is attached on its own, non-exclusively: policies attached outside this program stay.
        Assert.Equal(
            $$"""{"entityId":"{{user}}-vault-entity-id","exclusive":false,"policies":["workstation-{{user}}"]}""",
            run.Named(Types.VaultEntityPolicies, $"{user}-vault-policies").Canonical);
        Assert.Equal(
            $$"""{"canonicalId":"{{user}}-vault-entity-id","mountAccessor":"{{MockWorld.OidcAccessor}}","name":"{{authentikUser}}"}""",
            run.Named(Types.VaultAlias, $"{user}-vault-alias").Canonical);

        var policy = run.Named(Types.VaultPolicy, $"{user}-vault-policy");
        Assert.Equal($"workstation-{user}", policy.Str("name"));
        Assert.Equal(VaultAccess.PolicyJson(VaultAccess.Grants(user, VaultOptions.Default)), policy.Str("policy"));
    }

    /// <summary>
    /// An entity that already exists (the admin's, or anyone who logged in before) and is brought
    /// under this program by import keeps the policies attached to it outside the program: the
    /// entity resource leaves policies to others (externalPolicies, and no policies input at all),
    /// and ours is attached by a non-exclusive attachment that lists only ours, in every state;
    /// retiring and deleting remove only that attachment. (No Vault server runs here: this pins the
    /// inputs whose semantics the provider documents.)
    /// </summary>
    [Fact]
    public async Task An_adopted_entitys_foreign_policies_survive_every_state()
    {
        var active = await RunAsync();
        var retired = await Harness.RunAsync(() => WorkstationStack.Build(
            Fixture.Roster(RosterEdit.Golden().Retire("bob").Text()), Fixture.Settings(), Fixture.Bundle).Outputs);
        foreach (var run in new[] { active, retired })
        {
            foreach (var entity in run.Registrations.Where(r => r.Type == Types.VaultEntity))
            {
                Assert.Equal("True", entity.Inputs["externalPolicies"]?.ToString(), ignoreCase: true);
                Assert.False(entity.Inputs.ContainsKey("policies"), $"{entity.Name} sets policies: {entity.Canonical}");
            }
            foreach (var attachment in run.Registrations.Where(r => r.Type == Types.VaultEntityPolicies))
            {
                Assert.Equal("False", attachment.Inputs["exclusive"]?.ToString(), ignoreCase: true);
                var user = attachment.Name[..^"-vault-policies".Length];
                Assert.Equal([$"workstation-{user}"], ((System.Collections.IEnumerable)attachment.Inputs["policies"]).Cast<object>().Select(o => o.ToString()));
            }
        }
        // Retiring bob: his entity is disabled and his attachment goes; no other policy input appears anywhere.
        Assert.DoesNotContain(retired.Registrations, r => r.Name == "bob-vault-policies");
        Assert.Contains(active.Registrations, r => r.Name == "bob-vault-policies");
    }

    [Fact]
    public async Task The_policy_grants_only_the_users_own_kv_subtree()
    {
        var run = await RunAsync();
        foreach (var user in new[] { "wiz", "alice", "bob" })
        {
            using var doc = JsonDocument.Parse(run.Named(Types.VaultPolicy, $"{user}-vault-policy").Str("policy")!);
            var paths = doc.RootElement.GetProperty("path").EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal([$"secret/data/users/{user}/*", $"secret/metadata/users/{user}/*"], paths);
            Assert.DoesNotContain(paths, p => p.StartsWith("sys", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_kv_root_and_mount_come_from_config()
    {
        var config = Fixture.Config().With(ConfigKeys.VaultKvMount, "kv").With(ConfigKeys.VaultUsersPath, "people/devvm").With(ConfigKeys.VaultOidcMount, "authentik");
        // The shared secrets are read from the same mount.
        var kv = Fixture.VaultKv.ToDictionary(p => "kv/" + p.Key["secret/".Length..], p => p.Value);
        var run = await RunAsync(config, world: new MockWorld { VaultKv = kv });
        Assert.All(run.Calls!.Where(c => c.Token == Types.GetKvSecretV2), c => Assert.Equal("kv", c.Args["mount"]));
        Assert.Contains("\"kv/data/people/devvm/alice/*\"", run.Named(Types.VaultPolicy, "alice-vault-policy").Str("policy"), StringComparison.Ordinal);
        var lookup = Assert.Single(run.Calls!, c => c.Token == Types.GetAuthBackend);
        Assert.Equal("authentik", lookup.Args["path"]);
    }

    [Fact]
    public async Task The_accessor_is_looked_up_once_by_path_through_the_vault_provider_unless_configured()
    {
        var run = await RunAsync();
        var lookup = Assert.Single(run.Calls!, c => c.Token == Types.GetAuthBackend);
        Assert.Equal("oidc", lookup.Args["path"]);
        Assert.Contains($"{Types.VaultProvider}::{AccessLayer.VaultProviderName}::", lookup.Provider, StringComparison.Ordinal);

        var configured = await RunAsync(Fixture.Config().With(ConfigKeys.VaultOidcMountAccessor, "auth_oidc_configured"));
        Assert.DoesNotContain(configured.Calls!, c => c.Token == Types.GetAuthBackend);
        Assert.Equal("auth_oidc_configured", configured.Named(Types.VaultAlias, "alice-vault-alias").Str("mountAccessor"));
    }

    [Fact]
    public async Task A_mount_that_is_not_oidc_stops_the_run_with_its_name()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(world: new MockWorld { AuthBackendType = "userpass" }));
        Assert.Contains("Vault's auth mount 'oidc/' is of type 'userpass', not oidc or jwt", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_vault_object_goes_through_the_explicit_provider()
    {
        var run = await RunAsync();
        var objects = run.Registrations.Where(r => r.Type.StartsWith("vault:", StringComparison.Ordinal)).ToList();
        Assert.Equal(13, objects.Count); // 3 people x (entity, its policy attachment, alias, policy) + retired carol's disabled entity
        Assert.All(objects, r => Assert.StartsWith(
            $"urn:pulumi:devvm::workstation::pulumi:pulumi:Stack$pulumi:providers:vault::{AccessLayer.VaultProviderName}::", r.Provider, StringComparison.Ordinal));
        Assert.Equal("https://vault.example.test", run.Named(Types.VaultProvider, AccessLayer.VaultProviderName).Str("address"));
    }

    [Fact]
    public async Task The_entity_waits_for_its_policy_and_the_alias_points_at_the_entity()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var policy = constructed.Single(c => c.Resource.GetResourceName() == "bob-vault-policy");
        var entity = constructed.Single(c => c.Resource.GetResourceName() == "bob-vault-entity");
        Assert.Contains(policy.Resource, await Probe.DependsOnAsync(entity));
    }
}
