namespace Workstation.Roster.Tests;

/// <summary>
/// Small rosters on which the C# validator and roster.schema.json must agree, with the expected
/// verdict. Only per-entry and structural rules: cross-entry rules (uniqueness, port and uid
/// collisions, retired reservations, deny_users, external_bindings within namespaces) and YAML-level
/// rules (anchors, tags, duplicate keys, documents, size) are beyond a JSON Schema; see docs/roster.md.
/// </summary>
internal static class AgreementCases
{
    private const string Admin = "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\n";

    /// <summary>Admin, then one user "alice" whose entry lines are given (4-space indented).</summary>
    private static string WithAlice(params string[] lines) => Admin + "users:\n  alice:\n" + string.Concat(lines.Select(l => "    " + l + "\n"));

    private static readonly string[] AliceFields =
    [
        "authentik_user: alice",
        "k8s_user: alice",
        "email: alice@example.test",
        "tier: power-user",
        "ports: { t3: 3774, playwright: 8932 }",
    ];

    /// <summary>Alice with one field replaced (or removed when <paramref name="line"/> is null), by key.</summary>
    private static string Alice(string key, string? line, params string[] extra) =>
        WithAlice([.. AliceFields.Select(f => f.StartsWith(key + ":", StringComparison.Ordinal) ? line : f).OfType<string>(), .. extra]);

    private static string AliceWith(params string[] extra) => WithAlice([.. AliceFields, .. extra]);

    private static string Owner(params string[] extra) => Alice("tier", "tier: namespace-owner", extra);

    public static IReadOnlyDictionary<string, (string Yaml, bool Ok)> All { get; } = new Dictionary<string, (string, bool)>
    {
        // --- good --------------------------------------------------------------------------------
        ["minimal: admin and no users"] = (Admin + "users: {}\n", true),
        ["users left empty"] = (Admin + "users:\n", true),
        ["retired left empty"] = (Admin + "users: {}\nretired:\n", true),
        ["a power user"] = (AliceWith(), true),
        ["every optional field"] = (
            "settings:\n  t3_base_port: 4000\n  playwright_base_port: 9000\n  deny_users: [guest, temp]\n  k8s_username_prefix: \"oidc:\"\n  k8s_username_claim: name\n" +
            "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\n  email: wiz@example.test\n  uid: 1000\n  adopt: true\n  ports: { t3: 3773, playwright: 8931 }\n  claude_login: shared\n" +
            "users:\n  alice:\n    authentik_user: alice\n    k8s_user: alice\n    email: alice@example.test\n    tier: namespace-owner\n" +
            "    namespaces: [team-a, team-b]\n    external_bindings: { team-b: team-b-owners.v1 }\n    uid: 59999\n    adopt: false\n    ports: { t3: 1024, playwright: 65535 }\n    ha: true\n    memory: none\n    claude_login: interactive\n" +
            "retired:\n  bob: { uid: 1001, authentik_user: bob, k8s_user: bob, ports: { t3: 3775, playwright: 8933 } }\n", true),
        ["empty k8s_username_prefix"] = ("settings:\n  k8s_username_prefix: \"\"\n" + AliceWith(), true),
        ["os_user with hyphen and digit"] = (Admin + "users:\n  svc-1:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), true),
        ["revoke_groups and private_home"] = (AliceWith("revoke_groups: [docker, _x]", "private_home: true"), true),
        ["S8 extra_groups"] = (AliceWith("extra_groups: [adm, lxd]"), true),
        ["ha, memory and claude_login"] = (AliceWith("ha: true", "memory: none", "claude_login: shared"), true),
        ["ha, memory and claude_login at their defaults"] = (AliceWith("ha: false", "memory: shared", "claude_login: interactive"), true),
        ["ha, memory and claude_login on the admin"] = (Admin + "  ha: true\n  memory: none\n  claude_login: shared\nusers: {}\n", true),
        ["memory and claude_login quoted"] = (AliceWith("memory: \"none\"", "claude_login: 'shared'"), true),
        ["settings.privileged_groups"] = ("settings:\n  privileged_groups: [adm, lxd]\n" + Admin + "users: {}\n", true),
        ["os_user of 32 characters"] = (Admin + "users:\n  a" + new string('b', 31) + ":\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), true),
        ["authentik_user of 64 characters"] = (Alice("authentik_user", "authentik_user: " + new string('A', 64)), true),
        ["k8s_user with a colon"] = (Alice("k8s_user", "k8s_user: \"oidc:alice\""), true),
        ["email with plus and percent"] = (Alice("email", "email: a.b+c%d@mail.example.test"), true),
        ["namespace of 63 characters"] = (Owner("namespaces: [" + new string('n', 63) + "]"), true),
        ["quoted keys and values"] = (Admin + "users:\n  \"alice\":\n    \"authentik_user\": 'alice'\n    k8s_user: \"alice\"\n    email: \"alice@example.test\"\n    tier: 'power-user'\n    ports: { t3: 3774, playwright: 8932 }\n", true),
        ["flow style everywhere"] = ("{admin: {os_user: wiz, authentik_user: wiz, k8s_user: wiz, ports: {t3: 3773, playwright: 8931}}, users: {}}\n", true),
        ["a comment-only users block"] = (Admin + "users:\n  # nobody yet\n", true),
        ["a tombstone to purge"] = (Admin + "users: {}\nretired:\n  bob: { uid: 1001, purge: true, ports: { t3: 3775, playwright: 8933 } }\n", true),
        ["purge that is not a boolean"] = (Admin + "users: {}\nretired:\n  bob: { uid: 1001, purge: \"yes\", ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["purge on an active user"] = (AliceWith("purge: true"), false),

        // --- structure -------------------------------------------------------------------------
        ["empty document"] = ("", false),
        ["root is a list"] = ("- admin\n", false),
        ["root is a string"] = ("hello\n", false),
        ["missing admin"] = ("users: {}\n", false),
        ["missing users"] = (Admin, false),
        ["unknown top-level key"] = (Admin + "users: {}\nextra: 1\n", false),
        ["unknown settings key"] = ("settings:\n  t3_port: 3773\n" + Admin + "users: {}\n", false),
        ["unknown admin key"] = (Admin.Replace("admin:\n", "admin:\n  tier: admin\n", StringComparison.Ordinal) + "users: {}\n", false),
        ["unknown user key"] = (AliceWith("shell: /bin/zsh"), false),
        ["unknown ports key"] = (Alice("ports", "ports: { t3: 3774, playwright: 8932, ssh: 2222 }"), false),
        ["unknown retired key"] = (Admin + "users: {}\nretired:\n  bob: { home: /home/bob, ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["settings is a list"] = ("settings: []\n" + Admin + "users: {}\n", false),
        ["settings left empty"] = ("settings:\n" + Admin + "users: {}\n", false),
        ["users is a list"] = (Admin + "users: [alice]\n", false),
        ["a user is a string"] = (Admin + "users:\n  alice: yes\n", false),
        ["a retired user is a list"] = (Admin + "users: {}\nretired:\n  bob: []\n", false),
        ["deny_users is a string"] = ("settings:\n  deny_users: guest\n" + Admin + "users: {}\n", false),
        ["deny_users holds a number"] = ("settings:\n  deny_users: [1234]\n" + Admin + "users: {}\n", false),

        // --- required fields -------------------------------------------------------------------
        ["admin without os_user"] = (Admin.Replace("  os_user: wiz\n", "", StringComparison.Ordinal) + "users: {}\n", false),
        ["admin without authentik_user"] = (Admin.Replace("  authentik_user: wiz\n", "", StringComparison.Ordinal) + "users: {}\n", false),
        ["admin without ports"] = (Admin.Replace("  ports: { t3: 3773, playwright: 8931 }\n", "", StringComparison.Ordinal) + "users: {}\n", false),
        ["user without authentik_user"] = (Alice("authentik_user", null), false),
        ["user without k8s_user"] = (Alice("k8s_user", null), false),
        ["user without email"] = (Alice("email", null), false),
        ["user without tier"] = (Alice("tier", null), false),
        ["user without ports"] = (Alice("ports", null), false),
        ["user without a playwright port"] = (Alice("ports", "ports: { t3: 3774 }"), false),
        ["retired without ports"] = (Admin + "users: {}\nretired:\n  bob: { uid: 2000 }\n", false),
        ["retired with one port"] = (Admin + "users: {}\nretired:\n  bob: { ports: { t3: 3775 } }\n", false),

        // --- names -----------------------------------------------------------------------------
        ["os_user with a shell metacharacter"] = (Admin + "users:\n  \"a;b\":\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user with a path"] = (Admin + "users:\n  ../x:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user in capitals"] = (Admin + "users:\n  Alice:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user with a Cyrillic letter"] = (Admin + "users:\n  \u0430lice:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user of 33 characters"] = (Admin + "users:\n  a" + new string('b', 32) + ":\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user starting with a hyphen"] = (Admin + "users:\n  -x:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user with a trailing newline"] = (Admin + "users:\n  \"alice\\n\":\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["authentik_user with a trailing newline"] = (Alice("authentik_user", "authentik_user: \"alice\\n\""), false),
        ["os_user with an underscore"] = (Admin + "users:\n  a_b:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user ending in a hyphen"] = (Admin + "users:\n  ab-:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user docker (a tier group)"] = (Admin + "users:\n  docker:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["revoke_groups not a list"] = (AliceWith("revoke_groups: docker"), false),
        ["revoke_groups with a bad name"] = (AliceWith("revoke_groups: [\"a b\"]"), false),
        ["revoke_groups listing a group twice"] = (AliceWith("revoke_groups: [docker, docker]"), false),
        ["private_home not a boolean"] = (AliceWith("private_home: \"true\""), false),
        ["S8 extra_groups naming sudo"] = (AliceWith("extra_groups: [adm, sudo]"), false),
        ["S8 extra_groups naming the marker group"] = (AliceWith("extra_groups: [workstation]"), false),
        ["S8 extra_groups not a list"] = (AliceWith("extra_groups: adm"), false),
        ["ha yes"] = (AliceWith("ha: yes"), false),
        ["ha quoted"] = (AliceWith("ha: \"true\""), false),
        ["ha left blank"] = (AliceWith("ha:"), false),
        ["memory own (not yet a value)"] = (AliceWith("memory: own"), false),
        ["memory a boolean"] = (AliceWith("memory: false"), false),
        ["memory left blank"] = (AliceWith("memory:"), false),
        ["memory in capitals"] = (AliceWith("memory: Shared"), false),
        ["claude_login unknown"] = (AliceWith("claude_login: token"), false),
        ["kube_auth service-account-token"] = (AliceWith("kube_auth: service-account-token"), true),
        ["kube_auth oidc on the admin"] = (Admin + "  kube_auth: oidc\nusers: {}\n", true),
        ["kube_auth unknown"] = (AliceWith("kube_auth: token"), false),
        ["kube_auth a list"] = (AliceWith("kube_auth: [oidc]"), false),
        ["kube_auth on a retired user"] = (Admin + "users: {}\nretired:\n  bob: { kube_auth: oidc, ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["claude_login a boolean"] = (AliceWith("claude_login: true"), false),
        ["claude_login a list"] = (AliceWith("claude_login: [shared]"), false),
        ["claude_login on a retired user"] = (Admin + "users: {}\nretired:\n  bob: { claude_login: shared, ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["os_user root"] = (Admin + "users:\n  root:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["os_user workstation (the marker group)"] = (Admin + "users:\n  workstation:\n" + string.Concat(AliceFields.Select(f => "    " + f + "\n")), false),
        ["admin os_user reserved"] = (Admin.Replace("os_user: wiz", "os_user: daemon", StringComparison.Ordinal) + "users: {}\n", false),
        ["admin os_user a number"] = (Admin.Replace("os_user: wiz", "os_user: 1000", StringComparison.Ordinal) + "users: {}\n", false),
        ["retired os_user reserved"] = (Admin + "users: {}\nretired:\n  sshd: { ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["authentik_user with a space"] = (Alice("authentik_user", "authentik_user: alice smith"), false),
        ["authentik_user with a Cyrillic letter"] = (Alice("authentik_user", "authentik_user: \u0430lice"), false),
        ["authentik_user empty"] = (Alice("authentik_user", "authentik_user: \"\""), false),
        ["authentik_user left blank"] = (Alice("authentik_user", "authentik_user:"), false),
        ["authentik_user of 65 characters"] = (Alice("authentik_user", "authentik_user: " + new string('A', 65)), false),
        ["k8s_user a number"] = (Alice("k8s_user", "k8s_user: 1234"), false),
        ["k8s_user a boolean"] = (Alice("k8s_user", "k8s_user: true"), false),
        ["k8s_user with a slash"] = (Alice("k8s_user", "k8s_user: a/b"), false),
        ["retired authentik_user with a pipe"] = (Admin + "users: {}\nretired:\n  bob: { authentik_user: \"a|b\", ports: { t3: 3775, playwright: 8933 } }\n", false),
        ["email without a domain dot"] = (Alice("email", "email: alice@localhost"), false),
        ["email with two at signs"] = (Alice("email", "email: a@b@example.test"), false),
        ["email with a command"] = (Alice("email", "email: \"$(id)@example.test\""), false),
        ["k8s_username_prefix with a space"] = ("settings:\n  k8s_username_prefix: \"oidc: \"\n" + Admin + "users: {}\n", false),
        ["k8s_username_claim unknown"] = ("settings:\n  k8s_username_claim: sub\n" + Admin + "users: {}\n", false),

        // --- tiers and namespaces --------------------------------------------------------------
        ["tier admin for a user"] = (Alice("tier", "tier: admin"), false),
        ["tier unknown"] = (Alice("tier", "tier: owner"), false),
        ["tier a number"] = (Alice("tier", "tier: 1"), false),
        ["namespace-owner without namespaces"] = (Owner(), false),
        ["namespace-owner with no namespace"] = (Owner("namespaces: []"), false),
        ["namespace-owner with namespaces"] = (Owner("namespaces: [team-a]"), true),
        ["power-user with namespaces"] = (AliceWith("namespaces: [team-a]"), false),
        ["power-user with an empty namespaces list"] = (AliceWith("namespaces: []"), false),
        ["namespace with capitals"] = (Owner("namespaces: [Team-A]"), false),
        ["namespace with an underscore"] = (Owner("namespaces: [team_a]"), false),
        ["namespace ending in a hyphen"] = (Owner("namespaces: [team-]"), false),
        ["namespace of 64 characters"] = (Owner("namespaces: [" + new string('n', 64) + "]"), false),
        ["namespace listed twice"] = (Owner("namespaces: [team-a, team-a]"), false),
        ["namespaces is a string"] = (Owner("namespaces: team-a"), false),
        ["external binding namespace not a DNS label"] = (Owner("namespaces: [team-a]", "external_bindings: { Team-A: owners }"), false),
        ["external binding as a list (the old form)"] = (Owner("namespaces: [team-a]", "external_bindings: [team-a]"), false),
        ["external binding without a name"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: \"\" }"), false),
        ["external binding name with capitals"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: Owners }"), false),
        ["external binding name with a slash"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: team-a/owners }"), false),
        ["external binding name of 254 characters"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: " + new string('b', 254) + " }"), false),
        ["external binding name of 253 characters"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: " + new string('b', 253) + " }"), true),
        ["external binding name a number"] = (Owner("namespaces: [team-a]", "external_bindings: { team-a: 1234 }"), false),
        ["external binding empty"] = (Owner("namespaces: [team-a]", "external_bindings: {}"), true),
        ["external binding within namespaces"] = (Owner("namespaces: [team-a, team-b]", "external_bindings: { team-a: oidc-ns-owner-alice }"), true),

        // --- numbers ---------------------------------------------------------------------------
        ["port quoted"] = (Alice("ports", "ports: { t3: \"3774\", playwright: 8932 }"), false),
        ["port 1023"] = (Alice("ports", "ports: { t3: 1023, playwright: 8932 }"), false),
        ["port 65536"] = (Alice("ports", "ports: { t3: 3774, playwright: 65536 }"), false),
        ["port negative"] = (Alice("ports", "ports: { t3: -3774, playwright: 8932 }"), false),
        ["port a fraction"] = (Alice("ports", "ports: { t3: 3774.5, playwright: 8932 }"), false),
        ["port a word"] = (Alice("ports", "ports: { t3: auto, playwright: 8932 }"), false),
        ["port huge"] = (Alice("ports", "ports: { t3: 99999999999999, playwright: 8932 }"), false),
        ["ports is a list"] = (Alice("ports", "ports: [3774, 8932]"), false),
        ["settings base port out of range"] = ("settings:\n  t3_base_port: 80\n" + Admin + "users: {}\n", false),
        ["uid 999"] = (AliceWith("uid: 999"), false),
        ["uid 60000"] = (AliceWith("uid: 60000"), false),
        ["uid quoted"] = (AliceWith("uid: \"2000\""), false),
        ["adopt yes"] = (AliceWith("adopt: yes"), false),
        ["adopt quoted"] = (AliceWith("adopt: \"true\""), false),
        ["adopt a number"] = (AliceWith("adopt: 1"), false),
    };
}
