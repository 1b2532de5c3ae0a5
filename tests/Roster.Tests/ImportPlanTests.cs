using System.Text.RegularExpressions;

namespace Workstation.Roster.Tests;

/// <summary>
/// The `pulumi import` plan (Imports): one guarded line per cluster, Vault and Authentik
/// resource, derivable IDs printed as they are, the others looked up read-only, and every
/// value one quoted word however it looks.
/// </summary>
public sealed partial class ImportPlanTests
{
    /// <summary>An admin, a power-user, a namespace-owner with one namespace bound elsewhere, a retired person with their login, a purged one.</summary>
    public const string SmallRoster = AccessFixtures.People + """
                namespaces: [team-b, team-c]
                external_bindings: { team-c: made-elsewhere }
                ports: { t3: 3775, playwright: 8933 }
            retired:
              carol: { ports: { t3: 3776, playwright: 8934 }, authentik_user: carol.c }
              dave: { uid: 2004, ports: { t3: 3777, playwright: 8935 }, purge: true }

            """;

    public static readonly ImportStack Stack = new("devvm", "workstation", Kubernetes: true, Vault: true, Authentik: true,
        KubeContext: "admin@cluster", VaultAddr: "https://vault.example.test", AuthentikUrl: "https://auth.example.test", AuthentikT3AppSlug: "t3");

    private const string K8s = "'urn:pulumi:devvm::workstation::pulumi:providers:kubernetes::workstation-k8s'";
    private const string Vault = "'urn:pulumi:devvm::workstation::pulumi:providers:vault::workstation-vault'";
    private const string Edge = "'urn:pulumi:devvm::workstation::workstation:index:AuthentikEdge::workstation-authentik'";
    private const string Authentik = "'urn:pulumi:devvm::workstation::workstation:index:AuthentikEdge$pulumi:providers:authentik::workstation-authentik-provider'";

    private static string User(string osUser) => $"'urn:pulumi:devvm::workstation::workstation:index:WorkstationUser::{osUser}'";

    public static DerivedRoster Derived(string text = SmallRoster) => Derivation.Derive(RosterLoader.Load(text, "roster.yaml").ModelOrThrow());

    public static ImportPlan SmallPlan(ImportStack? stack = null) => Imports.Plan(Derived(), stack ?? Stack);

    private static string[] ResourceLines(string script) =>
        script.Split('\n').Where(l => l.StartsWith("want '", StringComparison.Ordinal) || l.StartsWith("# not imported: ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void Import_plan_prints_one_line_per_cluster_vault_and_authentik_resource_exactly()
    {
        const string Policies = "(vault:identity/entityPolicies:EntityPolicies): " + Imports.EntityPoliciesWhy;
        Assert.Equal(
        [
            $"want 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole' 'workstation-power-user-readonly' '' {K8s} known 'workstation-power-user-readonly' k8s_has 'clusterrole' 'workstation-power-user-readonly'",
            $"want 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding' 'alice-k8s-power-user-readonly' {User("alice")} {K8s} known 'workstation-alice-power-user-readonly' k8s_has 'clusterrolebinding' 'workstation-alice-power-user-readonly'",
            $"want 'vault:index/policy:Policy' 'alice-vault-policy' {User("alice")} {Vault} known 'workstation-alice' vault_has 'sys/policies/acl/workstation-alice'",
            $"want 'vault:identity/entity:Entity' 'alice-vault-entity' {User("alice")} {Vault} vault_entity 'alice' 'alice.a'",
            $"# not imported: alice-vault-policies {Policies}",
            $"want 'vault:identity/entityAlias:EntityAlias' 'alice-vault-alias' {User("alice")} {Vault} vault_alias 'alice.a'",
            // team-c is bound by another stack: read and checked by the program, never imported.
            $"want 'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding' 'bob-k8s-team-b-admin' {User("bob")} {K8s} known 'team-b/workstation-bob-admin' k8s_has 'rolebinding' 'workstation-bob-admin' 'team-b'",
            $"want 'vault:index/policy:Policy' 'bob-vault-policy' {User("bob")} {Vault} known 'workstation-bob' vault_has 'sys/policies/acl/workstation-bob'",
            $"want 'vault:identity/entity:Entity' 'bob-vault-entity' {User("bob")} {Vault} vault_entity 'bob' 'bob.b'",
            $"# not imported: bob-vault-policies {Policies}",
            $"want 'vault:identity/entityAlias:EntityAlias' 'bob-vault-alias' {User("bob")} {Vault} vault_alias 'bob.b'",
            // Retired: the disabled entity and the recorded login's alias; dave, purged, has nothing left.
            $"want 'vault:identity/entity:Entity' 'carol-vault-entity' {User("carol")} {Vault} vault_entity 'carol' 'carol.c'",
            $"want 'vault:identity/entityAlias:EntityAlias' 'carol-vault-alias' {User("carol")} {Vault} vault_alias 'carol.c'",
            // The admin: no bindings, the same Vault identity as everyone.
            $"want 'vault:index/policy:Policy' 'wiz-vault-policy' {User("wiz")} {Vault} known 'workstation-wiz' vault_has 'sys/policies/acl/workstation-wiz'",
            $"want 'vault:identity/entity:Entity' 'wiz-vault-entity' {User("wiz")} {Vault} vault_entity 'wiz' 'wiz.admin'",
            $"# not imported: wiz-vault-policies {Policies}",
            $"want 'vault:identity/entityAlias:EntityAlias' 'wiz-vault-alias' {User("wiz")} {Vault} vault_alias 'wiz.admin'",
            $"want 'authentik:index/group:Group' 'workstation-authentik-t3-users' {Edge} {Authentik} authentik_pk 'core/groups/?include_users=false&name=T3%20Users' 'T3 Users'",
            $"want 'authentik:index/policyExpression:PolicyExpression' 'workstation-authentik-t3-users-only' {Edge} {Authentik} authentik_pk 'policies/expression/?name=workstation-t3-users-only' 'workstation-t3-users-only'",
            $"want 'authentik:index/policyBinding:PolicyBinding' 'workstation-authentik-t3-users-only-binding' {Edge} {Authentik} authentik_binding 't3' 'policies/expression/?name=workstation-t3-users-only' 'workstation-t3-users-only'",
        ],
        ResourceLines(Imports.Script(SmallPlan(), "test")));
    }

    [Fact]
    public void Import_plan_prepares_every_provider_and_component_in_state_before_importing()
    {
        var script = Imports.Script(SmallPlan(), "test");
        var prepare = script[(script.IndexOf("prepare=(\n", StringComparison.Ordinal) + 10)..];
        Assert.Equal(
        [
            K8s, Vault,
            "'urn:pulumi:devvm::workstation::workstation:index:WorkstationBase::workstation'",
            User("alice"), User("bob"), User("carol"), User("dave"), User("wiz"),
            Edge, Authentik,
        ],
        prepare[..prepare.IndexOf(')')].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
        Assert.EndsWith(")\nadopt_found\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Derivable_import_ids_are_the_names_each_provider_imports_by()
    {
        var known = SmallPlan().Entries.Where(e => e.Id is ImportId.Known).ToDictionary(e => e.Name, e => ((ImportId.Known)e.Id).Id);
        Assert.Equal(new Dictionary<string, string>
        {
            // Kubernetes: `name` for a cluster-wide object, `namespace/name` for a namespaced one.
            ["workstation-power-user-readonly"] = "workstation-power-user-readonly",
            ["alice-k8s-power-user-readonly"] = "workstation-alice-power-user-readonly",
            ["bob-k8s-team-b-admin"] = "team-b/workstation-bob-admin",
            // Vault: a policy by its name.
            ["alice-vault-policy"] = "workstation-alice",
            ["bob-vault-policy"] = "workstation-bob",
            ["wiz-vault-policy"] = "workstation-wiz",
        }, known);
        // The rest are the server's own ids (UUIDs, pks): looked up, never guessed.
        Assert.All(SmallPlan().Entries.Where(e => e.Type.StartsWith("authentik:", StringComparison.Ordinal) ||
            e.Type is ResourceTypes.VaultEntity or ResourceTypes.VaultEntityAlias), e => Assert.IsType<ImportId.Lookup>(e.Id));
    }

    [Fact]
    public void Every_alias_is_in_the_plan_looked_up_by_its_name_on_the_oidc_mount_and_every_entity_falls_back_to_its_aliases_entity()
    {
        var plan = SmallPlan();
        Assert.Equal(["alice-vault-alias", "bob-vault-alias", "carol-vault-alias", "wiz-vault-alias"],
            plan.Entries.Where(e => e.Type == ResourceTypes.VaultEntityAlias).Select(e => e.Name));
        Assert.Equal(
            [["vault_entity", "alice", "alice.a"], ["vault_entity", "bob", "bob.b"], ["vault_entity", "carol", "carol.c"], ["vault_entity", "wiz", "wiz.admin"]],
            plan.Entries.Where(e => e.Type == ResourceTypes.VaultEntity).Select(e => ((ImportId.Lookup)e.Id).Command));
        // The policies the program attaches are created, never imported, so policies attached
        // outside the program are never recorded as ours (and never detached by an update).
        Assert.All(plan.Entries.Where(e => e.Type == ResourceTypes.VaultEntityPolicies), e => Assert.IsType<ImportId.Created>(e.Id));
        var script = Imports.Script(plan, "test");
        // The alias is found whichever entity holds it, by the accessor of the stack's OIDC mount.
        Assert.Contains("select(.value.name == $n and .value.mount_accessor == $a)", script, StringComparison.Ordinal);
        Assert.Contains("1) [ -n \"${2:-}\" ] || return 1; vault_alias \"$2\" canonical_id ;;", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_lookup_argument_is_one_single_quoted_word()
    {
        var lines = ResourceLines(Imports.Script(SmallPlan(), "test")).Where(l => l.StartsWith("want ", StringComparison.Ordinal)).ToList();
        Assert.Equal(17, lines.Count);
        Assert.All(lines, l => Assert.Matches(WantLine(), l));
    }

    /// <summary>`want`, four quoted words, then `known` and a quoted ID or nothing, a helper, and only quoted words after it.</summary>
    [GeneratedRegex(@"^want( '[^']*'){4}( known '[^']*')? (k8s_has|vault_has|vault_entity|vault_alias|authentik_pk|authentik_binding)( '[^']*')+$")]
    private static partial Regex WantLine();

    private static readonly string[] Hostile =
    [
        "x'; touch \"$CANARY\"; echo '",
        "$(touch \"$CANARY\")",
        "`touch \"$CANARY\"`",
        "a b  c",
        "*",
        "--yes",
        "${CANARY:?}",
        "'",
        "",
        "\\'\\",
    ];

    [Fact]
    public void Hostile_looking_values_stay_one_literal_word_in_bash()
    {
        // The roster and the stack file refuse such names; the quoting must not rely on that.
        var entries = Hostile.Select(h => new ImportEntry(h, h, h, h, new ImportId.Lookup(["vault_alias", h, h]))).ToList();
        var lines = string.Join('\n', entries.Select(Imports.Line));
        var dir = Directory.CreateTempSubdirectory("import-quoting-");
        try
        {
            var canary = Path.Combine(dir.FullName, "canary");
            // A `want` that prints its arguments NUL-separated, one line of arguments per entry.
            var (code, stdout, stderr) = Processes.Run("bash", ["-c", "want() { printf '%s\\0' \"$@\"; printf '\\n'; }\n" + lines + "\n"],
                new Dictionary<string, string?> { ["CANARY"] = canary });
            Assert.True(code == 0, stderr);
            Assert.False(File.Exists(canary), "a value ran as code");
            var seen = stdout.Split("\0\n").Where(s => s.Length > 0).Select(s => s.Split('\0')).ToList();
            Assert.Equal(entries.Count, seen.Count);
            foreach (var (h, args) in Hostile.Zip(seen))
                Assert.Equal([h, h, h, h, "vault_alias", h, h], args);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_control_character_is_refused_rather_than_quoted()
    {
        Assert.Throws<ArgumentException>(() => Imports.Quote("a\nb"));
        Assert.Throws<ArgumentException>(() => Imports.Line(new ImportEntry("t", "n\r", null, "p", new ImportId.Lookup(["vault_alias", "x"]))));
        Assert.Throws<ArgumentException>(() => Imports.Line(new ImportEntry("t", "n", null, "p", new ImportId.Lookup(["rm -rf /", "x"]))));
    }

    [Fact]
    public void The_script_says_it_only_imports_what_exists_and_that_preview_must_show_no_replace()
    {
        var script = Imports.Script(SmallPlan(), "roster import-plan roster.yaml --stack Pulumi.devvm.yaml");
        Assert.StartsWith("#!/usr/bin/env bash\n# Import plan for stack devvm, generated by: roster import-plan roster.yaml --stack Pulumi.devvm.yaml\n", script,
            StringComparison.Ordinal);
        Assert.Contains("It imports into the stack ONLY the Kubernetes, Vault and Authentik objects that ALREADY EXIST,", script, StringComparison.Ordinal);
        Assert.Contains("Every lookup is read-only", script, StringComparison.Ordinal);
        Assert.Contains("Afterwards `pulumi preview --stack devvm` must show NO replace", script, StringComparison.Ordinal);
        Assert.Contains("\nset -euo pipefail\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lookups_only_read_and_pulumi_only_imports_unprotected()
    {
        var script = Imports.Script(SmallPlan(), "test");
        // kubectl only gets, curl only GETs (no method, no body), pulumi only reads config and state,
        // runs the targeted up of `prepare` and imports; nothing is written with a Vault or Authentik CLI.
        string[] Calls(string tool) => script.Split('\n').Select(l => l.Trim())
            .Where(l => Regex.IsMatch(l, $@"(^|\$\(|\|\s*){tool}\s")).ToArray();
        Assert.Equal(["out=$(kubectl ${kube_context:+--context \"$kube_context\"} \"${args[@]}\") || return 2"], Calls("kubectl"));
        Assert.Contains("local args=(get \"$1\" \"$2\" --ignore-not-found -o name)", script, StringComparison.Ordinal);
        Assert.Equal(["out=$(printf '%s\\n' \"$1\" | curl -sS --max-time 60 -H @- -w '\\n%{http_code}' \"$2\") || return 2"], Calls("curl"));
        Assert.Equal(
        [
            "kubeconfig=$(pulumi config get --stack \"$stack\" kubeconfig 2>/dev/null || true)",
            "vault_token=$(pulumi config get --stack \"$stack\" vaultToken 2>/dev/null || true)",
            "authentik_token=$(pulumi config get --stack \"$stack\" authentikToken 2>/dev/null || true)",
            "pulumi \"${args[@]}\"",
            "state=$(pulumi stack export --stack \"$stack\")",
            "pulumi \"${args[@]}\" \"$type\" \"$name\" \"$id\"",
        ], Calls("pulumi"));
        Assert.Contains("local args=(up --stack \"$stack\" --yes) urn", script, StringComparison.Ordinal);
        foreach (var writes in new[] { " -X", "--request", "--data", " -d ", "vault write", "vault " })
            Assert.DoesNotContain(writes, script, StringComparison.Ordinal);
        Assert.Contains("args=(import --stack \"$stack\" --yes --protect=false --generate-code=false --provider \"provider=$provider\")", script, StringComparison.Ordinal);
        Assert.Contains("[ -z \"$parent\" ] || args+=(--parent \"parent=$parent\")", script, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stack_without_a_layer_has_none_of_its_lines_or_helpers()
    {
        var hostOnly = Imports.Script(SmallPlan(Stack with { Kubernetes = false, Vault = false, Authentik = false }), "test");
        Assert.Empty(ResourceLines(hostOnly));
        foreach (var helper in new[] { "k8s_has()", "vault_get()", "authentik_get()", "kube_context=", "vault_addr=", "authentik_url=" })
            Assert.DoesNotContain(helper, hostOnly, StringComparison.Ordinal);

        var noVault = Imports.Script(SmallPlan(Stack with { Vault = false }), "test");
        Assert.DoesNotContain("vault", string.Join('\n', ResourceLines(noVault)), StringComparison.Ordinal);
        Assert.DoesNotContain("vault_get()", noVault, StringComparison.Ordinal);
        Assert.Equal(6, ResourceLines(noVault).Length); // the ClusterRole, alice's and bob's bindings, the three Authentik objects
    }

    [Fact]
    public void The_stack_facts_go_in_quoted_and_a_given_accessor_replaces_the_lookup()
    {
        var script = Imports.Script(SmallPlan(Stack with { VaultOidcMount = "oidc/corp", VaultOidcMountAccessor = "auth_oidc_1a2b" }), "test");
        Assert.Contains("\n# The stack's facts.\nstack='devvm'\nproject='workstation'\nkube_context='admin@cluster'\nvault_addr='https://vault.example.test'\n" +
            "oidc_mount='oidc/corp'\noidc_accessor='auth_oidc_1a2b'\nauthentik_url='https://auth.example.test'\n", script, StringComparison.Ordinal);
        Assert.Contains("if [ -z \"$oidc_accessor\" ]; then", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_script_is_valid_bash_and_clean_for_shellcheck()
    {
        var dir = Directory.CreateTempSubdirectory("import-lint-");
        try
        {
            // Every layer, none, and each one off: the helpers a layer brings must stand without the others'.
            var stacks = new[]
            {
                Stack, Stack with { Kubernetes = false, Vault = false, Authentik = false },
                Stack with { Kubernetes = false }, Stack with { Vault = false }, Stack with { Authentik = false },
            };
            foreach (var (stack, i) in stacks.Select((x, i) => (x, i)))
            {
                var path = Path.Combine(dir.FullName, $"import-{i}.sh");
                File.WriteAllText(path, Imports.Script(SmallPlan(stack), "test"));
                Assert.Equal("", Run("bash", "-n", path));
                // The test command installs shellcheck after this layer runs; where it is missing, bash -n stands alone.
                if (OnPath("shellcheck")) Assert.Equal("", Run("shellcheck", "-S", "style", path));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));

    private static string Run(string file, params string[] args)
    {
        var (code, stdout, stderr) = Processes.Run(file, args);
        return code == 0 ? stdout + stderr : $"exit {code}: {stdout + stderr}";
    }
}
