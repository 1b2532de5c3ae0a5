using System.Collections.Immutable;
using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>
/// The import plan (Roster/Imports.cs) against the real program under mocks: it names every
/// Kubernetes, Vault and Authentik resource the program registers, with the same type token,
/// name, parent URN and provider URN, and nothing else. URNs are built as the engine builds
/// them (the root stack left out; the mock monitor's own URNs leave intermediate parents out,
/// so they are built here from each resource's constructed parent).
/// </summary>
public class ImportPlanTests
{
    private const string AncaBindingId = "plotting-book/oidc-ns-owner-anca";

    public static TheoryData<string> Cases =>
    [
        "the repo's roster.yaml",
        "the golden roster",
        "bob retired with his login, carol a plain tombstone",
        "bob retired and purged",
        "a stack without Authentik",
        "a host-only stack",
    ];

    private static (RosterModel Roster, DictConfig Config, MockWorld World) Case(string name)
    {
        var config = Fixture.Config();
        var golden = RosterEdit.Golden();
        return name switch
        {
            "the repo's roster.yaml" => (Fixture.Roster(File.ReadAllText(Path.Combine(Repo.Root, "roster.yaml"))), config, new MockWorld
            {
                // ancamilea's plotting-book binding belongs to another stack: read and checked, never imported.
                RoleBindings = ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty.Add(AncaBindingId,
                    MockWorld.Binding("plotting-book", "oidc-ns-owner-anca", "ClusterRole", "admin", ("User", "ancaelena98@viktorbarzin.me"))),
            }),
            "the golden roster" => (Fixture.Roster(), config, MockWorld.Default),
            "bob retired with his login, carol a plain tombstone" => (Fixture.Roster(golden.Retire("bob", keepLogin: true).Text()), config, MockWorld.Default),
            "bob retired and purged" => (Fixture.Roster(RosterEdit.Of(golden.Retire("bob", keepLogin: true).Text()).Purge("bob").Text()), config, MockWorld.Default),
            "a stack without Authentik" => (Fixture.Roster(), config.With(ConfigKeys.EnableAuthentik, "false"), MockWorld.Default),
            "a host-only stack" => (Fixture.Roster(), config.With(ConfigKeys.EnableKubernetes, "false").With(ConfigKeys.EnableVault, "false")
                .With(ConfigKeys.EnableAuthentik, "false").With(ConfigKeys.VaultSecrets, null).With(ConfigKeys.MemoryMcpUrl, null), MockWorld.Default),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
    }

    /// <summary>The stack's facts as the roster CLI reads them from a stack file, here from the same config the program gets.</summary>
    private static ImportStack StackOf(DictConfig config)
    {
        var (stack, errors) = ImportStack.FromConfig("Pulumi.devvm.yaml", config.Get);
        return stack ?? throw new InvalidOperationException(string.Join('\n', errors));
    }

    /// <summary>Type, name, parent URN and provider URN, the way `pulumi import` names a resource.</summary>
    private sealed record Resource4(string Type, string Name, string? Parent, string? Provider)
    {
        public override string ToString() => $"{Type} {Name} parent={Parent} provider={Provider}";
    }

    /// <summary>Every constructed resource's engine URN, from its type, name and constructed parent.</summary>
    private sealed class EngineUrns(IReadOnlyList<Constructed> constructed)
    {
        private readonly Dictionary<Resource, Constructed> _by = constructed.ToDictionary(c => c.Resource, new IdentityComparer());

        private sealed class IdentityComparer : IEqualityComparer<Resource>
        {
            public bool Equals(Resource? x, Resource? y) => ReferenceEquals(x, y);

            public int GetHashCode(Resource r) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(r);
        }

        public string? ParentOf(Constructed c) => c.Options.Parent is { } p && p is not Stack ? Of(p) : null;

        public string Of(Resource r) => ResourceNames.Urn("devvm", "workstation", QualifiedType(r), r.GetResourceName());

        private string QualifiedType(Resource r) =>
            _by[r].Options.Parent is { } p && p is not Stack ? $"{QualifiedType(p)}${r.GetResourceType()}" : r.GetResourceType();
    }

    private static bool Outside(string type) =>
        type.StartsWith("kubernetes:", StringComparison.Ordinal) || type.StartsWith("vault:", StringComparison.Ordinal) ||
        type.StartsWith("authentik:", StringComparison.Ordinal);

    /// <summary>A `Resource.Get`: read (its options carry the id), never created, so never imported.</summary>
    private static async Task<bool> IsReadAsync(Constructed c) =>
        c.Options is CustomResourceOptions { Id: { } id } && !string.IsNullOrEmpty(await OutputUtilities.GetValueAsync(id.ToOutput()));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Import_plan_names_every_cluster_vault_and_authentik_resource_the_program_registers(string name)
    {
        var (roster, config, world) = Case(name);
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(roster, Fixture.Settings(config), Fixture.Bundle).Outputs, world);
        var urns = new EngineUrns(constructed);
        var reads = new HashSet<Resource>();
        foreach (var c in constructed)
            if (await IsReadAsync(c)) reads.Add(c.Resource);
        Assert.Equal(roster.Everyone.Sum(p => p.ExternalBindings.Count + 2 * p.ClusterBindings.Count) + (StackOf(config).Authentik ? 2 : 0), reads.Count); // the t3 application and its proxy provider
        var registered = constructed
            .Where(c => Outside(c.Resource.GetResourceType()) && !reads.Contains(c.Resource))
            .Select(c => new Resource4(c.Resource.GetResourceType(), c.Resource.GetResourceName(), urns.ParentOf(c),
                c.Options.Provider is { } p ? urns.Of(p) : null))
            .OrderBy(r => r.ToString(), StringComparer.Ordinal).ToList();

        var plan = Imports.Plan(Derivation.Derive(roster), StackOf(config));
        var planned = plan.Entries.Select(e => new Resource4(e.Type, e.Name, e.Parent, e.Provider)).OrderBy(r => r.ToString(), StringComparer.Ordinal).ToList();

        Assert.Equal(registered, planned);
        Assert.Equal(planned.Count, planned.Distinct().Count()); // one entry per resource, nothing twice
        if (name == "a host-only stack") Assert.Empty(planned);
        // Issue 13: an alias that already exists is adopted by import, not duplicated.
        if (StackOf(config).Vault) Assert.Contains(planned, r => r.Type == ResourceTypes.VaultEntityAlias);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Import_plan_prepares_exactly_the_components_and_outside_providers_the_program_registers(string name)
    {
        var (roster, config, world) = Case(name);
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(roster, Fixture.Settings(config), Fixture.Bundle).Outputs, world);
        var urns = new EngineUrns(constructed);
        var expected = constructed
            .Where(c => c.Resource is ComponentResource and not Stack ||
                c.Resource is ProviderResource && Outside(c.Resource.GetResourceType()["pulumi:providers:".Length..] + ":"))
            .Select(c => urns.Of(c.Resource)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, Imports.Plan(Derivation.Derive(roster), StackOf(config)).Prepare.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_plans_type_tokens_and_config_keys_are_the_programs()
    {
        Assert.Equal(WorkstationBase.Type, ResourceTypes.WorkstationBase);
        Assert.Equal(WorkstationUser.Type, ResourceTypes.WorkstationUser);
        Assert.Equal(AuthentikEdge.Type, ResourceTypes.AuthentikEdge);
        Assert.Equal(ConfigKeys.Project, StackFile.Project);
        Assert.Equal(
            [ConfigKeys.EnableKubernetes, ConfigKeys.EnableVault, ConfigKeys.EnableAuthentik, ConfigKeys.KubeContext, ConfigKeys.VaultAddr,
             ConfigKeys.VaultOidcMount, ConfigKeys.VaultOidcMountAccessor, ConfigKeys.AuthentikUrl, ConfigKeys.AuthentikT3AppSlug, ConfigKeys.VaultOidcUserClaim],
            [ImportStack.Keys.EnableKubernetes, ImportStack.Keys.EnableVault, ImportStack.Keys.EnableAuthentik, ImportStack.Keys.KubeContext, ImportStack.Keys.VaultAddr,
             ImportStack.Keys.VaultOidcMount, ImportStack.Keys.VaultOidcMountAccessor, ImportStack.Keys.AuthentikUrl, ImportStack.Keys.AuthentikT3AppSlug,
             ImportStack.Keys.VaultOidcUserClaim]);
        // The fixture stack's facts, read as the roster CLI reads a stack file.
        Assert.Equal(new ImportStack("devvm", "workstation", true, true, true, "fixture-admin", "https://vault.example.test", "oidc", null,
            "https://auth.example.test", Fixture.T3AppSlug), StackOf(Fixture.Config()));
    }
}
