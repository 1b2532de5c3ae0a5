using System.Net;

namespace Workstation.Roster.Tests;

/// <summary>
/// The import script run for real, against a fake Vault and Authentik on loopback and stand-ins
/// for `pulumi` and `kubectl` that record their arguments: what exists is imported with the right
/// ID, parent and provider; what doesn't is left alone; a lookup that fails stops everything
/// before Pulumi is touched; every request is a GET and no credential is ever an argument.
/// (No real cluster, Vault, Authentik or Pulumi CLI exists here.)
/// </summary>
public sealed class ImportScriptTests : IDisposable
{
    private const string VaultToken = "hvs.vault-T0k3n-5e6f";
    private const string AuthentikToken = "ak-T0k3n-77a1";
    private const string Accessor = "auth_oidc_7c1d";
    private const char Sep = '\x1f';

    private readonly LoopbackServer _server;
    private readonly List<string> _requests = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("import-script-");

    /// <summary>What the fake servers hold, and which of them answer with an error.</summary>
    private bool _vaultFails, _authentikFails, _empty;

    /// <summary>§7: alice's entity logs in on the OIDC mount under her email, not her authentik_user.</summary>
    private bool _aliceAliasIsHerEmail;

    public ImportScriptTests()
    {
        _server = new LoopbackServer((req, _) => Handle(req));
        WriteStubs();
    }

    public void Dispose()
    {
        _server.Dispose();
        _dir.Delete(recursive: true);
    }

    private (int, string) Handle(HttpListenerRequest req)
    {
        lock (_requests) _requests.Add($"{req.HttpMethod} {req.Url!.PathAndQuery}");
        var path = req.Url!.AbsolutePath;
        const string missing = """{"errors":[]}""";
        if (path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            if (req.Headers["X-Vault-Token"] != VaultToken) return (403, """{"errors":["permission denied"]}""");
            if (path == "/v1/sys/auth") return (200, """{"data":{"oidc/":{"accessor":"ACCESSOR","type":"oidc"}}}""".Replace("ACCESSOR", Accessor, StringComparison.Ordinal));
            if (_vaultFails) return (403, """{"errors":["permission denied"]}""");
            if (_empty) return (404, missing);
            return path switch
            {
                "/v1/identity/entity/name/alice" when _aliceAliasIsHerEmail => (200, """
                    {"data":{"id":"ent-alice","name":"alice","policies":["hand-made"],"aliases":[
                      {"id":"al-gh","name":"alice-gh","mount_accessor":"auth_github_0000"},
                      {"id":"al-mail","name":"alice@example.test","mount_accessor":"ACCESSOR"}]}}
                    """.Replace("ACCESSOR", Accessor, StringComparison.Ordinal)),
                "/v1/identity/entity/name/alice" => (200, """{"data":{"id":"ent-alice","name":"alice","policies":["hand-made"]}}"""),
                "/v1/identity/entity-alias/id" when req.QueryString["list"] == "true" => (200, """
                    {"data":{"keys":["al-alice","al-bob","al-wiz"],"key_info":{
                      "al-alice":{"name":"alice.a","mount_accessor":"ACCESSOR","canonical_id":"ent-alice"},
                      "al-bob":{"name":"bob.b","mount_accessor":"ACCESSOR","canonical_id":"ent-made-at-login"},
                      "al-wiz":{"name":"wiz.admin","mount_accessor":"auth_github_0000","canonical_id":"ent-github"}}}}
                    """.Replace("ACCESSOR", Accessor, StringComparison.Ordinal)),
                "/v1/sys/policies/acl/workstation-wiz" => (200, """{"data":{"name":"workstation-wiz","policy":""}}"""),
                _ => (404, missing),
            };
        }
        if (req.Headers["Authorization"] != $"Bearer {AuthentikToken}") return (403, """{"detail":"bad token"}""");
        if (_authentikFails) return (500, """{"detail":"boom"}""");
        return path switch
        {
            "/api/v3/core/groups/" when req.QueryString["name"] == "T3 Users" && !_empty => (200, """{"results":[{"pk":"grp-t3","name":"T3 Users"}]}"""),
            "/api/v3/core/applications/t3/" => (200, """{"pk":"app-t3","slug":"t3"}"""),
            _ when path.EndsWith('/') => (200, """{"results":[]}"""),
            _ => (404, """{"detail":"Not found."}"""),
        };
    }

    private string Stub(string name) => Path.Combine(_dir.FullName, "bin", name);

    private string Log(string name) => Path.Combine(_dir.FullName, name + ".log");

    /// <summary>`pulumi`, `kubectl` and a `curl` that records its arguments, then runs the real one.</summary>
    private void WriteStubs()
    {
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "bin"));
        const string record = "(IFS=$'\\x1f'; printf '%s\\n' \"$*\") >>\"$STUB_DIR/$(basename \"$0\").log\"\n";
        File.WriteAllText(Stub("pulumi"), "#!/usr/bin/env bash\n" + record + """
            case "$1 $2" in
              "config get") exit 1 ;;  # the stack holds no such value: the script uses the environment
              "stack export") cat "$STUB_DIR/state.json" ;;
            esac
            """);
        File.WriteAllText(Stub("kubectl"), "#!/usr/bin/env bash\n" + record + """
            [ -z "${KUBECTL_FAILS:-}" ] || { echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1; }
            words=() ns=''
            while [ $# -gt 0 ]; do
              case $1 in
                --context|-o) shift 2 ;;
                --namespace) ns=$2; shift 2 ;;
                --ignore-not-found) shift ;;
                *) words+=("$1"); shift ;;
              esac
            done
            if grep -qxF "${words[1]} $ns/${words[2]}" "$STUB_DIR/k8s-objects"; then echo "${words[1]}/${words[2]}"; fi
            """);
        var curl = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "curl")).First(File.Exists);
        File.WriteAllText(Stub("curl"), "#!/usr/bin/env bash\n" + record + $"exec '{curl}' \"$@\"\n");
        foreach (var s in new[] { "pulumi", "kubectl", "curl" })
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Stub(s), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(_dir.FullName, "k8s-objects"), "clusterrolebinding /workstation-alice-power-user-readonly\n");
        // alice's entity is in the stack already (a second run): it is not imported again.
        File.WriteAllText(Path.Combine(_dir.FullName, "state.json"), """
            {"deployment":{"resources":[{"urn":"urn:pulumi:devvm::workstation::workstation:index:WorkstationUser$vault:identity/entity:Entity::alice-vault-entity"}]}}
            """);
    }

    private (int Code, string Err) RunScript(bool kubectlFails = false)
    {
        var stack = ImportPlanTests.Stack with { VaultAddr = _server.Url, AuthentikUrl = _server.Url };
        var script = Path.Combine(_dir.FullName, "import.sh");
        File.WriteAllText(script, Imports.Script(ImportPlanTests.SmallPlan(stack), "test"));
        var (code, stdout, stderr) = Processes.Run("bash", [script], new Dictionary<string, string?>
        {
            ["PATH"] = Path.Combine(_dir.FullName, "bin") + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["HOME"] = _dir.FullName,
            ["STUB_DIR"] = _dir.FullName,
            ["VAULT_TOKEN"] = VaultToken,
            ["AUTHENTIK_TOKEN"] = AuthentikToken,
            ["KUBECONFIG"] = null,
            ["KUBECTL_FAILS"] = kubectlFails ? "1" : null,
        });
        return (code, stderr + stdout);
    }

    /// <summary>Each recorded call of a stand-in, its arguments split.</summary>
    private string[][] Calls(string tool) =>
        File.Exists(Log(tool)) ? File.ReadAllLines(Log(tool)).Select(l => l.Split(Sep)).ToArray() : [];

    private static string User(string osUser) => $"parent=urn:pulumi:devvm::workstation::workstation:index:WorkstationUser::{osUser}";

    private const string K8s = "provider=urn:pulumi:devvm::workstation::pulumi:providers:kubernetes::workstation-k8s";
    private const string Vault = "provider=urn:pulumi:devvm::workstation::pulumi:providers:vault::workstation-vault";

    private static string[] Import(string type, string name, string id, string parent, string provider) =>
        ["import", "--stack", "devvm", "--yes", "--protect=false", "--generate-code=false", "--provider", provider, "--parent", parent, type, name, id];

    [Fact]
    public void Import_script_imports_exactly_the_objects_that_exist_with_their_ids_parents_and_providers()
    {
        var (code, err) = RunScript();
        Assert.True(code == 0, err);

        var pulumi = Calls("pulumi").Where(c => c[0] != "config").ToList();
        var plan = ImportPlanTests.SmallPlan();
        Assert.Equal(["up", "--stack", "devvm", "--yes", .. plan.Prepare.SelectMany(u => new[] { "--target", u })], pulumi[0]);
        Assert.Equal(["stack", "export", "--stack", "devvm"], pulumi[1]);
        Assert.Equal(
        [
            Import(ResourceTypes.ClusterRoleBinding, "alice-k8s-power-user-readonly", "workstation-alice-power-user-readonly", User("alice"), K8s),
            // alice-vault-entity is in the stack already: not imported twice.
            Import(ResourceTypes.VaultEntityAlias, "alice-vault-alias", "al-alice", User("alice"), Vault),
            // bob has no entity named bob: the one Vault made at his login holds his alias, and is adopted.
            Import(ResourceTypes.VaultEntity, "bob-vault-entity", "ent-made-at-login", User("bob"), Vault),
            Import(ResourceTypes.VaultEntityAlias, "bob-vault-alias", "al-bob", User("bob"), Vault),
            Import(ResourceTypes.VaultPolicy, "wiz-vault-policy", "workstation-wiz", User("wiz"), Vault),
            Import(ResourceTypes.AuthentikGroup, "workstation-authentik-t3-users", "grp-t3",
                "parent=urn:pulumi:devvm::workstation::workstation:index:AuthentikEdge::workstation-authentik",
                "provider=urn:pulumi:devvm::workstation::workstation:index:AuthentikEdge$pulumi:providers:authentik::workstation-authentik-provider"),
        ], pulumi.Skip(2));

        Assert.Contains("already in the stack: alice-vault-entity", err, StringComparison.Ordinal);
        // wiz's login alias is on another mount (GitHub), so it is not the OIDC alias the program manages.
        Assert.Contains("absent: wiz-vault-alias (vault:identity/entityAlias:EntityAlias): pulumi up creates it", err, StringComparison.Ordinal);
        Assert.Contains("absent: workstation-authentik-t3-users-only-binding", err, StringComparison.Ordinal);
        Assert.Contains("absent: bob-k8s-team-b-admin", err, StringComparison.Ordinal);
        Assert.Equal(["config get --stack devvm kubeconfig", "config get --stack devvm vaultToken", "config get --stack devvm authentikToken"],
            Calls("pulumi").Where(c => c[0] == "config").Select(c => string.Join(' ', c)));

        // kubectl only ever got, with the stack's context; bob's binding was asked for in its namespace.
        Assert.All(Calls("kubectl"), c => Assert.Equal(["--context", "admin@cluster", "get"], c[..3]));
        Assert.Contains(Calls("kubectl"), c => c.SequenceEqual(["--context", "admin@cluster", "get", "rolebinding", "workstation-bob-admin", "--ignore-not-found", "-o", "name", "--namespace", "team-b"]));
        lock (_requests)
        {
            Assert.All(_requests, r => Assert.StartsWith("GET ", r, StringComparison.Ordinal));
            Assert.Contains("GET /v1/identity/entity-alias/id?list=true", _requests);
            Assert.Contains("GET /api/v3/policies/expression/?name=workstation-t3-users-only", _requests);
        }
        NoCredentialIsAnArgument();
    }

    [Theory]
    [InlineData("kubernetes", "could not look up workstation-power-user-readonly (kubernetes:rbac.authorization.k8s.io/v1:ClusterRole); nothing was imported")]
    [InlineData("vault", "could not look up alice-vault-policy (vault:index/policy:Policy); nothing was imported")]
    [InlineData("authentik", "could not look up workstation-authentik-t3-users (authentik:index/group:Group); nothing was imported")]
    public void A_lookup_that_fails_stops_the_script_before_pulumi_changes_anything(string failing, string message)
    {
        _vaultFails = failing == "vault";
        _authentikFails = failing == "authentik";
        var (code, err) = RunScript(kubectlFails: failing == "kubernetes");
        Assert.Equal(1, code);
        Assert.Contains("import plan: " + message, err, StringComparison.Ordinal);
        // A refusal is not "absent": nothing was imported, not even the targeted up ran.
        Assert.All(Calls("pulumi"), c => Assert.Equal("config", c[0]));
        NoCredentialIsAnArgument();
    }

    [Fact]
    public void S7_an_existing_entity_whose_oidc_alias_is_not_the_derived_name_is_refused_and_the_script_says_why()
    {
        // The OIDC role reads email, but the stack says preferred_username: adopting the entity
        // would leave her logins on an alias the program doesn't manage, and make a second one.
        _aliceAliasIsHerEmail = true;
        var (code, err) = RunScript();
        Assert.Equal(1, code);
        Assert.Contains("Vault entity 'alice' logs in on auth/oidc/ as 'alice@example.test', but " +
            "workstation:vaultOidcUserClaim (preferred_username) makes its alias 'alice.a'", err, StringComparison.Ordinal);
        Assert.Contains("import plan: could not look up alice-vault-entity (vault:identity/entity:Entity); nothing was imported", err, StringComparison.Ordinal);
        Assert.All(Calls("pulumi"), c => Assert.Equal("config", c[0]));
    }

    [Fact]
    public void When_nothing_exists_the_script_imports_nothing_and_runs_no_up()
    {
        _empty = true;
        File.WriteAllText(Path.Combine(_dir.FullName, "k8s-objects"), "");
        var (code, err) = RunScript();
        Assert.True(code == 0, err);
        Assert.Contains("nothing to import: pulumi up creates every object", err, StringComparison.Ordinal);
        Assert.All(Calls("pulumi"), c => Assert.Equal("config", c[0]));
    }

    private void NoCredentialIsAnArgument()
    {
        foreach (var tool in new[] { "pulumi", "kubectl", "curl" })
            foreach (var call in Calls(tool))
            {
                Assert.DoesNotContain(call, a => a.Contains(VaultToken, StringComparison.Ordinal));
                Assert.DoesNotContain(call, a => a.Contains(AuthentikToken, StringComparison.Ordinal));
            }
        Assert.NotEmpty(Calls("curl"));
    }
}
