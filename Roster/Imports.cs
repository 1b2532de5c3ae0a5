using System.Text;
using System.Text.RegularExpressions;
using Workstation.Roster.Access;

namespace Workstation.Roster;

/// <summary>
/// What the import plan needs of a stack, read from its file without Pulumi: its name, which
/// outside systems it manages, and where they are. Defaults are Pulumi.yaml's.
/// </summary>
/// <param name="KubeContext">workstation:kubeContext; null: the kubeconfig's current context.</param>
/// <param name="VaultAddr">workstation:vaultAddr, without a trailing '/'; required with Vault.</param>
/// <param name="VaultOidcMountAccessor">workstation:vaultOidcMountAccessor; null: looked up by the mount's path, as the program does.</param>
/// <param name="AuthentikUrl">workstation:authentikUrl, without a trailing '/'; required with Authentik.</param>
/// <param name="AuthentikT3AppSlug">workstation:authentikT3AppSlug; required with Authentik.</param>
/// <param name="VaultOidcUserClaim">workstation:vaultOidcUserClaim: what the aliases are named by (<see cref="VaultAccess.AliasName(DerivedUser, VaultUserClaim)"/>).</param>
public sealed partial record ImportStack(
    string Stack,
    string Project,
    bool Kubernetes,
    bool Vault,
    bool Authentik,
    string? KubeContext = null,
    string? VaultAddr = null,
    string VaultOidcMount = "oidc",
    string? VaultOidcMountAccessor = null,
    string? AuthentikUrl = null,
    string? AuthentikT3AppSlug = null,
    VaultUserClaim VaultOidcUserClaim = VaultUserClaim.PreferredUsername)
{
    /// <summary>The config keys the plan reads: the layers section's (<see cref="LayersSection"/>) and the site's Vault address.</summary>
    public static class Keys
    {
        public const string EnableKubernetes = LayersSection.EnableKubernetes;
        public const string EnableVault = LayersSection.EnableVault;
        public const string EnableAuthentik = LayersSection.EnableAuthentik;
        public const string KubeContext = LayersSection.KubeContext;
        public const string VaultAddr = SiteSection.VaultAddr;
        public const string VaultOidcMount = LayersSection.VaultOidcMount;
        public const string VaultOidcMountAccessor = LayersSection.VaultOidcMountAccessor;
        public const string AuthentikUrl = LayersSection.AuthentikUrl;
        public const string AuthentikT3AppSlug = LayersSection.AuthentikT3AppSlug;
        public const string VaultOidcUserClaim = LayersSection.VaultOidcUserClaim;
    }

    /// <summary>
    /// The stack's facts from the plain values of its file (<see cref="StackFile"/>), or every
    /// problem as (key, message). The stack's name is the file's: Pulumi.STACK.yaml. Values are
    /// checked with the program's rules (<see cref="StackValues"/>), and URLs more strictly, since
    /// they end up in the script's URLs and command lines.
    /// </summary>
    public static (ImportStack? Stack, IReadOnlyList<(string Key, string Message)> Errors) FromConfig(string stackFileName, Func<string, string?> get)
    {
        var errors = new List<(string Key, string Message)>();
        var stackName = StackFileName().Match(stackFileName) is { Success: true } m ? m.Groups[1].Value : null;
        if (stackName is null) errors.Add(("(file)", $"'{StackValues.Printable(stackFileName)}' is not named Pulumi.STACK.yaml, so it names no stack"));

        // The layers section's own readers (the program's), into this list; the addresses are checked more strictly below.
        var layers = new SectionConfig(LayersSection.Keys, get, errors);
        // An optional value of the pattern's form; with required (what the value is), unset is an error too.
        string? Word(string key, Regex pattern, string form, string required)
        {
            var (value, error) = StackValues.Word(get(key), pattern, form);
            if (error is not null) errors.Add((key, error));
            else if (value is null) errors.Add((key, $"required: {required}; set it in the stack file first (the program needs it too)"));
            return value;
        }

        var on = LayersSection.ReadSwitches(layers);
        var context = on.Kubernetes ? LayersSection.Context(layers) : null;
        var vaultAddr = on.Vault ? Word(Keys.VaultAddr, UrlPattern(), Url, required: "Vault's address") : null;
        var mount = (on.Vault ? LayersSection.OidcMount(layers) : null) ?? VaultOptions.Default.OidcMountPath;
        var accessor = on.Vault ? LayersSection.OidcMountAccessor(layers) : null;
        var claim = on.Vault ? LayersSection.UserClaim(layers) : VaultUserClaim.PreferredUsername;
        var authentikUrl = on.Authentik ? Word(Keys.AuthentikUrl, UrlPattern(), Url, required: "Authentik's base URL") : null;
        var slug = on.Authentik ? Word(Keys.AuthentikT3AppSlug, StackValues.AuthentikSlug(), StackValues.AuthentikSlugForm, required: "the slug of the t3 application in Authentik") : null;

        if (errors.Count > 0) return (null, errors);
        return (new ImportStack(stackName!, StackFile.Project, on.Kubernetes, on.Vault, on.Authentik, context,
            vaultAddr?.TrimEnd('/'), mount, accessor, authentikUrl?.TrimEnd('/'), slug, claim), errors);
    }

    private const string Url = "an http(s) URL without credentials, spaces or quotes";

    [GeneratedRegex(@"^Pulumi\.([A-Za-z0-9_.-]{1,100})\.ya?ml\z")]
    private static partial Regex StackFileName();

    /// <summary>Stricter than the program's URL check: no user part (no credentials in a script), nothing a shell or a URL would read twice.</summary>
    [GeneratedRegex(@"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?\z")]
    private static partial Regex UrlPattern();
}

/// <summary>How the script finds a resource's import ID.</summary>
public abstract record ImportId
{
    private ImportId()
    {
    }

    /// <summary>
    /// Derivable from the roster (a Kubernetes name, a Vault policy name): <paramref name="Id"/> is
    /// printed as is; <paramref name="Check"/> (a script helper and its arguments) says whether the object exists.
    /// </summary>
    public sealed record Known(string Id, IReadOnlyList<string> Check) : ImportId;

    /// <summary>Assigned by the server (a UUID, a pk): <paramref name="Command"/> (a script helper and its arguments) prints it when the object exists.</summary>
    public sealed record Lookup(IReadOnlyList<string> Command) : ImportId;

    /// <summary>Never imported: `pulumi up` creates it, and <paramref name="Why"/> says why that is right.</summary>
    public sealed record Created(string Why) : ImportId;
}

/// <summary>One resource the program registers in the cluster, Vault or Authentik, as `pulumi import` needs it.</summary>
/// <param name="Type">The Pulumi type token.</param>
/// <param name="Name">The Pulumi resource name.</param>
/// <param name="Parent">The parent component's URN; null at the top level (the stack).</param>
/// <param name="Provider">The explicit provider's URN (`pulumi import --provider` takes a URN).</param>
public sealed record ImportEntry(string Type, string Name, string? Parent, string Provider, ImportId Id);

/// <param name="Entries">Every such resource, in the order the program registers them.</param>
/// <param name="Prepare">
/// The providers and components the entries hang under, by URN: `pulumi import` needs them in the
/// stack's state, so the script creates them there first with `pulumi up --target` (they exist in
/// Pulumi's state only). Every component is listed, so no new component is left out of a targeted up.
/// </param>
public sealed record ImportPlan(ImportStack Stack, IReadOnlyList<ImportEntry> Entries, IReadOnlyList<string> Prepare);

/// <summary>
/// The `pulumi import` plan: for every Kubernetes, Vault and Authentik resource the program
/// registers for a roster (the same rules as the components: <see cref="ResourceNames"/>,
/// K8sAccess, VaultAccess), its type, name, parent, provider and how to find its import ID; and
/// the bash script that imports those that already exist. Pure: no I/O.
/// </summary>
public static partial class Imports
{
    /// <summary>Why an EntityPolicies is created rather than imported (terraform-provider-vault's identity_entity_policies has no importer).</summary>
    public const string EntityPoliciesWhy =
        "created by pulumi up, which adds our policy to the entity and keeps its others (exclusive: false); " +
        "imported, the others would enter the state and the next update would detach them";

    public static ImportPlan Plan(DerivedRoster roster, ImportStack s)
    {
        string Urn(string qualifiedType, string name) => ResourceNames.Urn(s.Stack, s.Project, qualifiedType, name);
        var entries = new List<ImportEntry>();
        var prepare = new List<string>();
        var k8s = s.Kubernetes ? Urn(ResourceTypes.K8sProvider, ResourceNames.K8sProvider) : null;
        var vault = s.Vault ? Urn(ResourceTypes.VaultProvider, ResourceNames.VaultProvider) : null;
        prepare.AddRange(new[] { k8s, vault }.OfType<string>());
        prepare.Add(Urn(ResourceTypes.WorkstationBase, ResourceNames.Base));

        if (k8s is not null)
        {
            var role = ResourceNames.PowerUserRole;
            entries.Add(new(ResourceTypes.ClusterRole, role, null, k8s, new ImportId.Known(role, ["k8s_has", "clusterrole", role])));
        }

        var k8sOptions = K8sOptions.From(roster.Settings);
        var vaultOptions = VaultOptions.Default with { OidcMountPath = s.VaultOidcMount, UserClaim = s.VaultOidcUserClaim };
        foreach (var member in roster.Members)
        {
            var parent = Urn(ResourceTypes.WorkstationUser, ResourceNames.User(member.OsUser));
            prepare.Add(parent);
            switch (member)
            {
                case Member.Active { User: var u }:
                    if (k8s is not null)
                        entries.AddRange(K8sAccess.For(u, k8sOptions).Bindings.Select(b => Binding(u.OsUser, b, parent, k8s)));
                    if (vault is not null)
                    {
                        var v = VaultAccess.For(u, vaultOptions);
                        entries.Add(new(ResourceTypes.VaultPolicy, ResourceNames.VaultPolicy(u.OsUser), parent, vault,
                            new ImportId.Known(v.Policy.Name, ["vault_has", $"sys/policies/acl/{v.Policy.Name}"])));
                        entries.Add(Entity(v.Entity, v.Alias, parent, vault));
                        entries.Add(new(ResourceTypes.VaultEntityPolicies, ResourceNames.VaultEntityPolicies(u.OsUser), parent, vault,
                            new ImportId.Created(EntityPoliciesWhy)));
                        entries.Add(Alias(v.Alias, parent, vault));
                    }
                    break;
                case Member.Retired { Tombstone: { Purge: false } r } when vault is not null:
                    // A tombstone keeps its entity (disabled) and, when it records the login, its alias.
                    var rv = VaultAccess.For(r, vaultOptions);
                    entries.Add(Entity(rv.Entity, rv.Alias, parent, vault));
                    if (rv.Alias is { } alias) entries.Add(Alias(alias, parent, vault));
                    break;
            }
        }

        if (s.Authentik)
        {
            const string edgeName = ResourceNames.AuthentikEdge;
            var edge = Urn(ResourceTypes.AuthentikEdge, edgeName);
            var provider = Urn($"{ResourceTypes.AuthentikEdge}${ResourceTypes.AuthentikProvider}", ResourceNames.AuthentikProvider(edgeName));
            prepare.Add(edge);
            prepare.Add(provider);
            var policyList = $"policies/expression/?name={Uri.EscapeDataString(AuthentikAccess.PolicyName)}";
            entries.Add(new(ResourceTypes.AuthentikGroup, ResourceNames.T3Users(edgeName), edge, provider, new ImportId.Lookup(
                ["authentik_pk", $"core/groups/?include_users=false&name={Uri.EscapeDataString(AuthentikAccess.GroupName)}", AuthentikAccess.GroupName])));
            entries.Add(new(ResourceTypes.AuthentikPolicyExpression, ResourceNames.T3UsersOnly(edgeName), edge, provider, new ImportId.Lookup(
                ["authentik_pk", policyList, AuthentikAccess.PolicyName])));
            entries.Add(new(ResourceTypes.AuthentikPolicyBinding, ResourceNames.T3UsersOnlyBinding(edgeName), edge, provider, new ImportId.Lookup(
                ["authentik_binding", s.AuthentikT3AppSlug ?? throw new ArgumentException("the stack manages Authentik but has no t3 application slug", nameof(s)), policyList, AuthentikAccess.PolicyName])));
        }
        return new ImportPlan(s, entries, prepare);
    }

    /// <summary>Kubernetes imports by `namespace/name`, or `name` for a cluster-wide object (pulumi-kubernetes' ParseFqName).</summary>
    private static ImportEntry Binding(string osUser, BindingSpec b, string parent, string provider)
    {
        var cluster = b.Kind == K8sAccess.ClusterRoleBinding;
        var id = cluster ? b.Name : $"{b.Namespace}/{b.Name}";
        IReadOnlyList<string> check = cluster ? ["k8s_has", "clusterrolebinding", b.Name] : ["k8s_has", "rolebinding", b.Name, b.Namespace!];
        return new(cluster ? ResourceTypes.ClusterRoleBinding : ResourceTypes.RoleBinding, ResourceNames.K8sBinding(osUser, b), parent, provider,
            new ImportId.Known(id, check));
    }

    /// <summary>
    /// The entity by its name; without one, the entity Vault made for the person's alias at an
    /// earlier login, so their identity is adopted rather than split (the next up renames it).
    /// </summary>
    private static ImportEntry Entity(VaultEntitySpec entity, VaultEntityAliasSpec? alias, string parent, string provider) =>
        new(ResourceTypes.VaultEntity, ResourceNames.VaultEntity(entity.Name), parent, provider,
            new ImportId.Lookup(alias is null ? ["vault_entity", entity.Name] : ["vault_entity", entity.Name, alias.Name]));

    /// <summary>The alias by its name on the OIDC mount, whichever entity holds it: Vault refuses a second one.</summary>
    private static ImportEntry Alias(VaultEntityAliasSpec alias, string parent, string provider) =>
        new(ResourceTypes.VaultEntityAlias, ResourceNames.VaultAlias(alias.EntityName), parent, provider,
            new ImportId.Lookup(["vault_alias", alias.Name]));

    /// <summary>
    /// A word for bash, always single-quoted: nothing inside is expanded. A control character
    /// (a newline would split the line) is refused: every value here passed the roster's or the
    /// stack file's checks, so one means a bug.
    /// </summary>
    public static string Quote(string value) =>
        value.Any(char.IsControl)
            ? throw new ArgumentException($"a control character in '{value.ReplaceLineEndings(" ")}' can't go into the import script", nameof(value))
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>One script line: `want TYPE NAME PARENT PROVIDER LOOKUP...`, or a comment for a resource that is created, not imported.</summary>
    public static string Line(ImportEntry e)
    {
        var head = $"want {Quote(e.Type)} {Quote(e.Name)} {Quote(e.Parent ?? "")} {Quote(e.Provider)}";
        return e.Id switch
        {
            ImportId.Known k => $"{head} known {Quote(k.Id)} {Call(k.Check)}",
            ImportId.Lookup l => $"{head} {Call(l.Command)}",
            ImportId.Created c => $"# not imported: {Comment(e.Name)} ({Comment(e.Type)}): {Comment(c.Why)}",
            _ => throw new ArgumentOutOfRangeException(nameof(e), e.Id, "unknown import id"),
        };
    }

    /// <summary>A helper call: its name as is (one of the script's own), every argument quoted.</summary>
    private static string Call(IReadOnlyList<string> command) =>
        HelperName().IsMatch(command[0])
            ? string.Join(' ', command.Skip(1).Select(Quote).Prepend(command[0]))
            : throw new ArgumentException($"'{command[0]}' is not a helper of the import script", nameof(command));

    private static string Comment(string text) =>
        text.Any(char.IsControl) ? throw new ArgumentException("a control character can't go into a comment of the import script", nameof(text)) : text;

    /// <summary>The whole script. <paramref name="generatedBy"/> is the command line it came from (a comment).</summary>
    public static string Script(ImportPlan plan, string generatedBy)
    {
        var s = plan.Stack;
        var sb = new StringBuilder();
        void Add(string text) => sb.Append(text.ReplaceLineEndings("\n"));
        Add(Header(Comment(generatedBy), s.Stack));
        Add($"\n# The stack's facts.\nstack={Quote(s.Stack)}\nproject={Quote(s.Project)}\n");
        if (s.Kubernetes) Add($"kube_context={Quote(s.KubeContext ?? "")}\n");
        if (s.Vault) Add($"vault_addr={Quote(s.VaultAddr ?? Missing(nameof(s.VaultAddr)))}\noidc_mount={Quote(s.VaultOidcMount)}\noidc_accessor={Quote(s.VaultOidcMountAccessor ?? "")}\noidc_user_claim={Quote(s.VaultOidcUserClaim.ToConfig())}\n");
        if (s.Authentik) Add($"authentik_url={Quote(s.AuthentikUrl ?? Missing(nameof(s.AuthentikUrl)))}\n");
        Add("\n" + Common);
        if (s.Kubernetes) Add(KubernetesHelpers);
        if (s.Vault) Add(VaultHelpers);
        if (s.Authentik) Add(AuthentikHelpers);
        Add(Adopt);

        Add("\n# 1. The lookups, one line per resource (read-only).\n");
        string? group = null;
        foreach (var e in plan.Entries)
        {
            var g = Group(e);
            if (g != group) Add($"# {g}\n");
            group = g;
            Add(Line(e) + "\n");
        }
        Add("\n# 2 and 3. The providers and components the imports hang under (Pulumi state only), then the imports.\nprepare=(\n");
        foreach (var urn in plan.Prepare) Add($"  {Quote(urn)}\n");
        Add(")\nadopt_found\n");
        return sb.ToString();
    }

    private static string Missing(string what) => throw new ArgumentException($"the stack manages that layer but has no {what}", nameof(what));

    /// <summary>The comment above a group of lines: whose resources they are.</summary>
    private static string Group(ImportEntry e) =>
        e.Parent is null ? "shared: the cluster"
        : e.Type.StartsWith("authentik:", StringComparison.Ordinal) ? "Authentik: the t3 edge"
        : Comment(e.Parent[(e.Parent.LastIndexOf("::", StringComparison.Ordinal) + 2)..]);

    private static string Header(string generatedBy, string stack) => $$"""
        #!/usr/bin/env bash
        # Import plan for stack {{stack}}, generated by: {{generatedBy}}
        # Generate it again after any change to the roster or the stack file; don't edit it.
        #
        # It imports into the stack ONLY the Kubernetes, Vault and Authentik objects that ALREADY EXIST,
        # so the first `pulumi up` adopts them instead of creating duplicates (Vault refuses a second
        # alias; a second entity would split a person's identity). Every lookup is read-only, and an
        # object that isn't found is left for `pulumi up` to create: nothing in the cluster, Vault or
        # Authentik is changed here. Run it in the project folder before the first `pulumi up`:
        #   1. it looks every object up; any lookup error stops it before anything is imported;
        #   2. if it found any, it runs `pulumi up --target` of the stack's providers and components
        #      only (they exist in Pulumi's state only; `pulumi import` needs them as provider and parent);
        #   3. it runs `pulumi import` (unprotected, no code generated) of each object found that the
        #      stack doesn't hold yet.
        # The lookups use the stack's own credentials where it has them (kubeconfig, vaultToken,
        # authentikToken), else KUBECONFIG, VAULT_TOKEN or ~/.vault-token, and AUTHENTIK_TOKEN.
        #
        # Afterwards `pulumi preview --stack {{stack}}` must show NO replace and no create of an object
        # imported here: only updates (the roster's values over what the objects hold today, e.g. a
        # Vault entity Vault made at a login renamed to its os_user). A replace means an existing object
        # differs in a field that can't change in place: look at it before `pulumi up`.
        #
        # The URNs below hold a literal '$' (Pulumi's type separator), hence:
        # shellcheck disable=SC2016
        set -euo pipefail

        """;

    private const string Common = """
        say() { printf '%s\n' "$*" >&2; }
        die() { say "import plan: $*"; exit 1; }
        for tool in pulumi jq; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

        # http HEADER URL: a GET; the body on stdout. 1 when the server says 404 (nothing there), 2 on
        # any other answer. The header (a credential) reaches curl on stdin, never on its command line.
        http() {
          local out code
          out=$(printf '%s\n' "$1" | curl -sS --max-time 60 -H @- -w '\n%{http_code}' "$2") || return 2
          code=${out##*$'\n'}
          case $code in
            200) printf '%s\n' "${out%$'\n'*}" ;;
            404) return 1 ;;
            *) say "$2: HTTP $code"; return 2 ;;
          esac
        }

        """;

    private const string KubernetesHelpers = """
        command -v kubectl >/dev/null || die "kubectl is not installed"
        kubeconfig=$(pulumi config get --stack "$stack" kubeconfig 2>/dev/null || true)
        if [ -n "$kubeconfig" ]; then
          KUBECONFIG=$(mktemp)
          export KUBECONFIG
          trap 'rm -f "$KUBECONFIG"' EXIT
          printf '%s\n' "$kubeconfig" >"$KUBECONFIG"
        fi
        # k8s_has KIND NAME [NAMESPACE]: 0 when the object exists, 1 when it doesn't, 2 when kubectl can't tell.
        k8s_has() {
          local args=(get "$1" "$2" --ignore-not-found -o name) out
          [ $# -lt 3 ] || args+=(--namespace "$3")
          out=$(kubectl ${kube_context:+--context "$kube_context"} "${args[@]}") || return 2
          [ -n "$out" ]
        }

        """;

    private const string VaultHelpers = """
        command -v curl >/dev/null || die "curl is not installed"
        vault_token=$(pulumi config get --stack "$stack" vaultToken 2>/dev/null || true)
        [ -n "$vault_token" ] || vault_token=${VAULT_TOKEN:-}
        [ -n "$vault_token" ] || vault_token=$(cat "$HOME/.vault-token" 2>/dev/null || true)
        [ -n "$vault_token" ] || die "no Vault token: the stack's vaultToken is empty, VAULT_TOKEN is unset and there is no ~/.vault-token"
        vault_get() { http "X-Vault-Token: $vault_token" "$vault_addr/v1/$1"; }
        # vault_has PATH: 0 when Vault holds something at PATH, 1 when it doesn't.
        vault_has() { vault_get "$1" >/dev/null; }
        # vault_alias NAME [FIELD]: the id of the alias NAME on the OIDC mount, whichever entity holds
        # it (or its FIELD: canonical_id is that entity). Listed with a GET (?list=true).
        vault_alias() {
          local json out
          json=$(vault_get 'identity/entity-alias/id?list=true') || return
          out=$(jq -r --arg n "$1" --arg a "$oidc_accessor" --arg f "${2:-}" \
            'first(.data.key_info // {} | to_entries[] | select(.value.name == $n and .value.mount_accessor == $a)
              | if $f == "" then .key else .value[$f] end) // empty' <<<"$json") || return 2
          [ -n "$out" ] && printf '%s\n' "$out"
        }
        # vault_entity NAME [ALIAS]: the id of the entity NAME; without one, of the entity Vault made
        # for the alias ALIAS at an earlier login (adopted, so the person keeps one identity).
        # Refused (2, with why) when the entity NAME logs in on the OIDC mount under another alias
        # name: the OIDC role's user_claim is not what the stack says, and adopting it would split
        # the person's logins between that alias and the one the program makes.
        vault_entity() {
          local json rc=0 other
          json=$(vault_get "identity/entity/name/$1") || rc=$?
          case $rc in
            0)
              if [ -n "${2:-}" ]; then
                other=$(jq -r --arg a "$oidc_accessor" --arg n "$2" \
                  '[.data.aliases // [] | .[] | select(.mount_accessor == $a) | .name] | if any(. == $n) then "" else (first(.[]) // "") end' <<<"$json") || return 2
                if [ -n "$other" ]; then
                  say "refused: Vault entity '$1' logs in on auth/$oidc_mount/ as '$other', but workstation:vaultOidcUserClaim ($oidc_user_claim) makes its alias '$2':" \
                    "set vaultOidcUserClaim to the claim the OIDC role's user_claim reads, or that role's user_claim to $oidc_user_claim"
                  return 2
                fi
              fi
              jq -er '.data.id' <<<"$json" || return 2
              ;;
            1) [ -n "${2:-}" ] || return 1; vault_alias "$2" canonical_id ;;
            *) return 2 ;;
          esac
        }
        if [ -z "$oidc_accessor" ]; then
          oidc_accessor=$(vault_get 'sys/auth' | jq -er --arg m "$oidc_mount/" '(.data // .)[$m].accessor // empty') ||
            die "cannot find the accessor of Vault's auth mount '$oidc_mount/' (workstation:vaultOidcMount)"
        fi

        """;

    private const string AuthentikHelpers = """
        command -v curl >/dev/null || die "curl is not installed"
        authentik_token=$(pulumi config get --stack "$stack" authentikToken 2>/dev/null || true)
        [ -n "$authentik_token" ] || authentik_token=${AUTHENTIK_TOKEN:-}
        [ -n "$authentik_token" ] || die "no Authentik token: the stack has no authentikToken and AUTHENTIK_TOKEN is unset"
        authentik_get() { http "Authorization: Bearer $authentik_token" "$authentik_url/api/v3/$1"; }
        # authentik_pk LIST NAME: the pk of the object named NAME in the API list LIST (a filtered GET).
        authentik_pk() {
          local json out
          json=$(authentik_get "$1") || return 2
          out=$(jq -r --arg n "$2" 'first(.results[] | select(.name == $n) | .pk) // empty' <<<"$json") || return 2
          [ -n "$out" ] && printf '%s\n' "$out"
        }
        # authentik_binding SLUG POLICY-LIST POLICY: the pk of the policy POLICY's binding to the application SLUG.
        authentik_binding() {
          local app policy json out rc=0
          app=$(authentik_get "core/applications/$1/") || rc=$?
          [ "$rc" != 1 ] || { say "Authentik has no application '$1' (workstation:authentikT3AppSlug)"; return 2; }
          [ "$rc" = 0 ] || return 2
          app=$(jq -er '.pk' <<<"$app") || return 2
          policy=$(authentik_pk "$2" "$3") || return
          json=$(authentik_get "policies/bindings/?target=$app&policy=$policy") || return 2
          out=$(jq -r --arg t "$app" --arg p "$policy" 'first(.results[] | select(.target == $t and .policy == $p) | .pk) // empty' <<<"$json") || return 2
          [ -n "$out" ] && printf '%s\n' "$out"
        }

        """;

    private const string Adopt = """
        # known ID CHECK [ARG...]: prints the derivable ID when CHECK finds the object.
        known() { local id=$1; shift; "$@" || return; printf '%s\n' "$id"; }

        # want TYPE NAME PARENT PROVIDER LOOKUP [ARG...]: runs the lookup now and remembers the object
        # when it exists. PARENT is '' at the top level (the stack).
        found=()
        want() {
          local type=$1 name=$2 parent=$3 provider=$4 id rc=0
          shift 4
          id=$("$@") || rc=$?
          case $rc in
            0) say "found:  $name ($type): $id"; found+=("$type" "$name" "$id" "$parent" "$provider") ;;
            1) say "absent: $name ($type): pulumi up creates it" ;;
            *) die "could not look up $name ($type); nothing was imported" ;;
          esac
        }

        # urn_of TYPE NAME PARENT: the URN the engine gives the resource.
        urn_of() {
          local qualified=$1 rest
          if [ -n "$3" ]; then rest=${3#*::}; rest=${rest#*::}; qualified="${rest%%::*}\$$1"; fi
          printf 'urn:pulumi:%s::%s::%s::%s\n' "$stack" "$project" "$qualified" "$2"
        }

        # adopt_found: the targeted up of `prepare` (state only), then `pulumi import` of each object
        # found that the stack doesn't hold yet.
        adopt_found() {
          local args=(up --stack "$stack" --yes) urn state i type name id parent provider
          if [ "${#found[@]}" -eq 0 ]; then say "nothing to import: pulumi up creates every object"; return 0; fi
          for urn in "${prepare[@]}"; do args+=(--target "$urn"); done
          say "the providers and components the imports hang under (Pulumi state only):"
          pulumi "${args[@]}"
          state=$(pulumi stack export --stack "$stack")
          for ((i = 0; i < ${#found[@]}; i += 5)); do
            type=${found[i]} name=${found[i + 1]} id=${found[i + 2]} parent=${found[i + 3]} provider=${found[i + 4]}
            urn=$(urn_of "$type" "$name" "$parent")
            if jq -e --arg u "$urn" 'any(.deployment.resources[]?; .urn == $u)' <<<"$state" >/dev/null; then
              say "already in the stack: $name ($type)"
              continue
            fi
            args=(import --stack "$stack" --yes --protect=false --generate-code=false --provider "provider=$provider")
            [ -z "$parent" ] || args+=(--parent "parent=$parent")
            pulumi "${args[@]}" "$type" "$name" "$id"
          done
          say "imported; now \`pulumi preview --stack $stack\` must show no replace"
        }

        """;

    [GeneratedRegex(@"^[a-z][a-z0-9_]*\z")]
    private static partial Regex HelperName();
}
