
namespace Host.Tests;

/// <summary>
/// Issue 24 §5, the host half: a binding another stack made for a person (the roster's
/// external_bindings and cluster_bindings) is that stack's to delete. The account step records
/// its names, and `user status` keeps naming it, after the cut too, until the roster drops it.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class BindingStatusTests(SandboxFixture box)
{
    private static readonly TimeSpan Setup = TimeSpan.FromSeconds(180);
    private static readonly TestUser Bindy = new("bindy", 2571, 4571, 4671);

    private static DerivedUser WithBindings(IReadOnlyDictionary<string, string> external, IReadOnlyList<string> cluster) =>
        Bindy.Derived() with { ExternalBindings = new SortedDictionary<string, string>(external.ToDictionary(), StringComparer.Ordinal), ClusterBindings = cluster };

    /// <summary>`user status` in text mode (Manual.Status is the --json one).</summary>
    private static string TextStatus => $"{HostCommands.Cli} user status {Bindy.Name}";

    private async Task<JsonElement> StatusAsync()
    {
        var r = await box.MustAsync(Bindy.Status());
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    private static List<string> Bindings(JsonElement status) =>
        status.GetProperty("external_bindings").EnumerateArray()
            .Select(b => $"{b.GetProperty("kind").GetString()} {(b.TryGetProperty("namespace", out var ns) ? ns.GetString() + "/" : "")}{b.GetProperty("name").GetString()}")
            .ToList();

    [Fact]
    public async Task A_cut_persons_bindings_from_another_stack_stay_in_user_status_until_the_roster_drops_them()
    {
        await HostWorld.ReadyAsync(box);
        var bound = WithBindings(new Dictionary<string, string> { ["team-b"] = "oidc-ns-owner-bindy" }, ["bindy-cluster-reader"]);
        await box.MustAsync(HostSteps.Of(bound, tokenStdin: false), timeout: Setup);
        Assert.Equal(["RoleBinding team-b/oidc-ns-owner-bindy", "ClusterRoleBinding bindy-cluster-reader"], Bindings(await StatusAsync()));

        // The cut keeps them: another stack still binds the person in the cluster.
        await box.MustAsync(Bindy.Suspend(), timeout: Setup);
        var cut = await StatusAsync();
        Assert.Equal("suspended", cut.GetProperty("state").GetString());
        Assert.Equal(["RoleBinding team-b/oidc-ns-owner-bindy", "ClusterRoleBinding bindy-cluster-reader"], Bindings(cut));
        var text = (await box.MustAsync(TextStatus)).Stdout;
        Assert.Contains("  still to remove by hand in the stack that owns it: RoleBinding oidc-ns-owner-bindy in team-b\n", text, StringComparison.Ordinal);
        Assert.Contains("  still to remove by hand in the stack that owns it: ClusterRoleBinding bindy-cluster-reader\n", text, StringComparison.Ordinal);
        // Names only, but root's.
        Assert.Equal("600 root:root 700", (await box.ScriptAsync("stat -c '%a %U:%G' /etc/workstation/bindings/bindy | tr -d '\\n'; printf ' '; stat -c '%a' /etc/workstation/bindings")).Trim());

        // A return with fewer bindings replaces the record; with none, it goes.
        await box.MustAsync(HostCommands.Account(WithBindings(new Dictionary<string, string>(), ["bindy-cluster-reader"])), timeout: Setup);
        Assert.Equal(["ClusterRoleBinding bindy-cluster-reader"], Bindings(await StatusAsync()));
        Assert.DoesNotContain("still to remove", (await box.MustAsync(TextStatus)).Stdout, StringComparison.Ordinal);
        await box.MustAsync(Bindy.Account(), timeout: Setup);
        Assert.Empty(Bindings(await StatusAsync()));
        Assert.Equal("absent", (await box.ScriptAsync("test -e /etc/workstation/bindings/bindy && echo present || echo absent")).Trim());
    }

    [Theory]
    [InlineData("--external-binding", "Team-B/x")]
    [InlineData("--external-binding", "team-b")]
    [InlineData("--external-binding", "team-b/a_b")]
    [InlineData("--cluster-binding", "-x")]
    [InlineData("--cluster-binding", "a/b")]
    public async Task A_bad_binding_is_refused_before_anything_is_touched(string option, string value)
    {
        await HostWorld.ReadyAsync(box);
        var r = await box.RunAsync($"{HostCommands.Account(TestUser.Named("bindz").Derived())} {option} {HostCommands.Quote(value)}");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(option, r.Stderr, StringComparison.Ordinal);
        Assert.Equal("absent", (await box.ScriptAsync("getent passwd bindz >/dev/null && echo present || echo absent")).Trim());
    }
}
