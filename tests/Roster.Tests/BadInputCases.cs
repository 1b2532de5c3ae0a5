using System.Text;
using static Workstation.Roster.Tests.TestFiles;

namespace Workstation.Roster.Tests;

/// <summary>One bad roster and exactly the errors it must produce (file:line:column: field: message).</summary>
public sealed record BadCase(string Name, byte[] Bytes, string[] Expected)
{
    public override string ToString() => Name;
}

/// <summary>
/// The table of bad inputs. Most start with <see cref="TestFiles.Head"/> (lines 1-6: a valid admin, then
/// "users:"), so the first line of a case's own text is line 7.
/// </summary>
internal static class BadInputCases
{
    private static BadCase C(string name, string yaml, params string[] expected) => new(name, Encoding.UTF8.GetBytes(yaml), expected);

    private static BadCase B(string name, byte[] bytes, params string[] expected) => new(name, bytes, expected);

    private const string Alice = """
          alice:
            authentik_user: alice
            k8s_user: alice
            email: alice@example.test
            tier: power-user
            ports: { t3: 3774, playwright: 8932 }

        """;

    public static IEnumerable<BadCase> All() =>
    [
        // --- names -----------------------------------------------------------------------------
        C("shell metacharacters in os_user", Head + UserAs("\"a;touch /pwned\"", 3774, 8932),
            "roster.yaml:7:3: users.a;touch /pwned: 'a;touch /pwned' is not a valid os_user: it contains the shell metacharacter ';'"),
        C("path traversal in os_user", Head + UserAs("../x", 3774, 8932),
            "roster.yaml:7:3: users.../x: '../x' is not a valid os_user: it contains a path separator or '..'"),
        C("Cyrillic look-alike in os_user", Head + UserAs("b\u0435n", 3774, 8932),
            "roster.yaml:7:3: users.bеn: 'bеn' is not a valid os_user: it contains the non-ASCII character U+0435 'е' (a look-alike?)"),
        C("Cyrillic look-alike in authentik_user", Head + """
              ben:
                authentik_user: b\u0435n
                k8s_user: ben
                email: ben@example.test
                tier: power-user
                ports: { t3: 3774, playwright: 8932 }

            """.Replace("\\u0435", "\u0435"),
            "roster.yaml:8:21: users.ben.authentik_user: 'bеn' is not valid: it contains the non-ASCII character U+0435 'е' (a look-alike?)"),
        C("newline smuggled into os_user", Head + UserAs("\"bob\\n\"", 3774, 8932),
            "roster.yaml:7:3: users.bob\\u000A: 'bob\\u000A' is not a valid os_user: it contains the control character U+000A"),
        C("empty os_user key", Head + UserAs("\"\"", 3774, 8932),
            "roster.yaml:7:3: users.\"\": os_user must not be empty"),
        C("empty admin os_user", Head.Replace("os_user: wiz", "os_user: ''") + Alice,
            "roster.yaml:2:12: admin.os_user: os_user must not be empty"),
        C("empty key", "settings: {}\n: x\n" + Head + Alice,
            "roster.yaml:2:3: \"\": unknown key '' (allowed: settings, admin, users, retired)"),
        C("os_user longer than 32", Head + User("a" + new string('b', 32), 3774, 8932),
            "roster.yaml:7:3: users.abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: 'abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' is not a valid os_user: it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"),
        C("os_user starting with a digit", Head + User("1ab", 3774, 8932),
            "roster.yaml:7:3: users.1ab: '1ab' is not a valid os_user: it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"),
        // os_user becomes part of Kubernetes names and labels: stricter than a Linux name.
        C("underscore in os_user", Head + User("a_b", 3774, 8932),
            "roster.yaml:7:3: users.a_b: 'a_b' is not a valid os_user: it becomes part of Kubernetes object names and labels, so it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (no '_', a letter first, a letter or digit last)"),
        C("os_user ending in a dash", Head + User("ab-", 3774, 8932),
            "roster.yaml:7:3: users.ab-: 'ab-' is not a valid os_user: it becomes part of Kubernetes object names and labels, so it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (no '_', a letter first, a letter or digit last)"),
        C("os_user starting with an underscore", Head + User("_ab", 3774, 8932),
            "roster.yaml:7:3: users._ab: '_ab' is not a valid os_user: it becomes part of Kubernetes object names and labels, so it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (no '_', a letter first, a letter or digit last)"),
        C("admin os_user with an underscore", Head.Replace("os_user: wiz", "os_user: wiz_1") + Alice,
            "roster.yaml:2:12: admin.os_user: 'wiz_1' is not a valid os_user: it becomes part of Kubernetes object names and labels, so it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (no '_', a letter first, a letter or digit last)"),
        // A group Workstation grants or watches is never an account name.
        C("tier group docker as os_user", Head + User("docker", 3774, 8932),
            "roster.yaml:7:3: users.docker: 'docker' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user"),
        C("tier group code-shared as os_user", Head + User("code-shared", 3774, 8932),
            "roster.yaml:7:3: users.code-shared: 'code-shared' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user"),
        C("tier group sudo as admin os_user", Head.Replace("os_user: wiz", "os_user: sudo") + Alice,
            "roster.yaml:2:12: admin.os_user: 'sudo' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user"),
        C("a settings.privileged_groups group as os_user", "settings:\n  privileged_groups: [adm]\n" + Head + User("adm", 3774, 8932),
            "roster.yaml:9:3: users.adm: 'adm' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user"),
        C("retired os_user that is a tier group", Head + Alice + "retired:\n  docker: { ports: { t3: 3790, playwright: 8990 } }\n",
            "roster.yaml:14:3: retired.docker: 'docker' is the name of a group Workstation manages or treats as privileged, so it can't be an os_user"),
        // revoke_groups: the explicit removal, checked against what the tier grants.
        C("revoke_groups names the marker group", Head + User("bea", 3774, 8932, extra: "    revoke_groups: [workstation]\n"),
            "roster.yaml:12:21: users.bea.revoke_groups[0]: 'workstation' is the marker group every managed account keeps; to offboard, move the entry to retired:"),
        C("revoke_groups names a group the admin tier grants", Head.Replace("  ports: { t3: 3773, playwright: 8931 }", "  ports: { t3: 3773, playwright: 8931 }\n  revoke_groups: [docker]") + Alice,
            "roster.yaml:6:19: admin.revoke_groups[0]: 'docker' is granted by tier admin, so it can't be revoked as well"),
        C("revoke_groups names the account's own group", Head + User("bea", 3774, 8932, extra: "    revoke_groups: [docker, bea]\n"),
            "roster.yaml:12:29: users.bea.revoke_groups[1]: 'bea' is the account's own group"),
        C("revoke_groups with a bad name", Head + User("bea", 3774, 8932, extra: "    revoke_groups: [\"doc ker\"]\n"),
            "roster.yaml:12:21: users.bea.revoke_groups[0]: 'doc ker' is not a valid group name: it contains the shell metacharacter ' '"),
        C("revoke_groups listing a group twice", Head + User("bea", 3774, 8932, extra: "    revoke_groups: [docker, docker]\n"),
            "roster.yaml:12:29: users.bea.revoke_groups[1]: group 'docker' is listed twice"),
        C("revoke_groups not a list", Head + User("bea", 3774, 8932, extra: "    revoke_groups: docker\n"),
            "roster.yaml:12:20: users.bea.revoke_groups: must be a list"),
        C("private_home not a boolean", Head + User("bea", 3774, 8932, extra: "    private_home: yes\n"),
            "roster.yaml:12:19: users.bea.private_home: must be true or false, got 'yes'"),
        C("privileged_groups with a bad name", "settings:\n  privileged_groups: [\"a;b\"]\n" + Head + Alice,
            "roster.yaml:2:23: settings.privileged_groups[0]: 'a;b' is not a valid group name: it contains the shell metacharacter ';'"),
        C("reserved os_user", Head + User("root", 3774, 8932),
            "roster.yaml:7:3: users.root: 'root' is a reserved system account and can't be managed"),
        C("reserved admin os_user", Head.Replace("os_user: wiz", "os_user: nobody") + Alice,
            "roster.yaml:2:12: admin.os_user: 'nobody' is a reserved system account and can't be managed"),
        C("deny_users", "settings:\n  deny_users: [guest]\n" + Head + User("guest", 3774, 8932),
            "roster.yaml:9:3: users.guest: 'guest' is on settings.deny_users and can't be managed"),
        C("os_user used by admin and user", Head + User("wiz", 3774, 8932).Replace("authentik_user: wiz", "authentik_user: wiz2").Replace("k8s_user: wiz", "k8s_user: wiz2"),
            "roster.yaml:7:3: users.wiz: os_user 'wiz' is already used by admin"),
        C("os_user of a retired user reused", Head + Alice + "retired:\n  alice: { uid: 2001, ports: { t3: 3790, playwright: 8990 } }\n",
            "roster.yaml:14:3: retired.alice: os_user 'alice' is already used by users.alice"),
        // A tombstone's authentik_user keeps its Vault alias, whose name is unique on the mount.
        C("authentik_user of a retired user reused", Head + Alice + "retired:\n  carol: { authentik_user: alice, ports: { t3: 3790, playwright: 8990 } }\n",
            "roster.yaml:8:21: users.alice.authentik_user: authentik_user 'alice' is already used by retired user 'carol' (its Vault alias keeps that login)"),
        C("two tombstones with one authentik_user", Head + Alice + "retired:\n  carol: { authentik_user: x, ports: { t3: 3790, playwright: 8990 } }\n  dave: { authentik_user: x, ports: { t3: 3791, playwright: 8991 } }\n",
            "roster.yaml:15:27: retired.dave.authentik_user: authentik_user 'x' is already used by retired user 'carol' (its Vault alias keeps that login)"),
        // --- structure -------------------------------------------------------------------------
        C("unknown key with a hint", Head + Alice.Replace("    email:", "    emial:"),
            "roster.yaml:10:5: users.alice.emial: unknown key 'emial' (did you mean 'email'?)"),
        C("unknown key without a hint", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    favourite_colour: blue\n"),
            "roster.yaml:12:5: users.alice.favourite_colour: unknown key 'favourite_colour' (allowed: authentik_user, k8s_user, email, tier, namespaces, external_bindings, ports, uid, adopt, revoke_groups, private_home, budget)"),
        C("unknown top-level key", Head + Alice + "retird: {}\n",
            "roster.yaml:13:1: retird: unknown key 'retird' (did you mean 'retired'?)"),
        C("missing required field", Head + Alice.Replace("    k8s_user: alice\n", ""),
            "roster.yaml:8:5: users.alice.k8s_user: is required"),
        C("missing admin", "users:\n" + Alice,
            "roster.yaml:1:1: admin: is required"),
        C("unknown tier", Head + Alice.Replace("tier: power-user", "tier: admin"),
            "roster.yaml:11:11: users.alice.tier: unknown tier 'admin' (expected power-user or namespace-owner; the admin is its own section)"),
        C("namespace-owner without namespaces", Head + Alice.Replace("tier: power-user", "tier: namespace-owner"),
            "roster.yaml:8:5: users.alice.namespaces: a namespace-owner needs at least one namespace"),
        C("namespace-owner with an empty list", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: []"),
            "roster.yaml:12:17: users.alice.namespaces: a namespace-owner needs at least one namespace"),
        C("power-user with namespaces", Head + Alice.Replace("tier: power-user", "tier: power-user\n    namespaces: [team-a]"),
            "roster.yaml:12:17: users.alice.namespaces: namespaces apply only to the namespace-owner tier"),
        C("external_bindings not in namespaces", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [team-a]\n    external_bindings: { team-b: owners }"),
            "roster.yaml:13:26: users.alice.external_bindings.team-b: 'team-b' is not one of this user's namespaces"),
        C("external_bindings as a list", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [team-a]\n    external_bindings: [team-a]"),
            "roster.yaml:13:24: users.alice.external_bindings: must be a mapping from namespace to the name of the RoleBinding that already binds this user there, e.g. { plotting-book: oidc-ns-owner-anca }"),
        C("external binding name not a DNS-1123 subdomain", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [team-a]\n    external_bindings: { team-a: \"a;b\" }"),
            "roster.yaml:13:34: users.alice.external_bindings.team-a: 'a;b' is not a valid RoleBinding name (a DNS-1123 subdomain): it contains the shell metacharacter ';'"),
        C("external binding name too long", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [team-a]\n    external_bindings: { team-a: " + new string('b', 254) + " }"),
            "roster.yaml:13:34: users.alice.external_bindings.team-a: the RoleBinding name is 254 characters long; the limit is 253"),
        C("namespace not a DNS-1123 label", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [Team_A]"),
            "roster.yaml:12:18: users.alice.namespaces[0]: 'Team_A' is not a DNS-1123 label: it must match ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
        C("namespace listed twice", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [team-a, team-a]"),
            "roster.yaml:12:26: users.alice.namespaces[1]: namespace 'team-a' is listed twice"),
        C("path traversal in a namespace", Head + Alice.Replace("tier: power-user", "tier: namespace-owner\n    namespaces: [../etc]"),
            "roster.yaml:12:18: users.alice.namespaces[0]: '../etc' is not a DNS-1123 label: it contains a path separator or '..'"),
        C("empty authentik_user", Head + Alice.Replace("authentik_user: alice", "authentik_user: \"\""),
            "roster.yaml:8:21: users.alice.authentik_user: must not be empty"),
        C("number where a string belongs", Head + Alice.Replace("k8s_user: alice", "k8s_user: 1234"),
            "roster.yaml:9:15: users.alice.k8s_user: must be a string, got the number 1234 (quote it: \"1234\")"),
        C("duplicate authentik_user differing in case", Head + Alice + User("bob", 3775, 8933).Replace("authentik_user: bob", "authentik_user: ALICE"),
            "roster.yaml:14:21: users.bob.authentik_user: authentik_user 'ALICE' is already used by users.alice"),
        C("duplicate k8s_user", Head + Alice + User("bob", 3775, 8933).Replace("k8s_user: bob", "k8s_user: alice"),
            "roster.yaml:15:15: users.bob.k8s_user: k8s_user 'alice' is already used by users.alice"),
        C("duplicate email", Head + Alice + User("bob", 3775, 8933).Replace("bob@example.test", "Alice@Example.test"),
            "roster.yaml:16:12: users.bob.email: email 'Alice@Example.test' is already used by users.alice (it names the Kubernetes user)"),
        C("bad email", Head + Alice.Replace("alice@example.test", "alice@localhost"),
            "roster.yaml:10:12: users.alice.email: 'alice@localhost' is not a valid email address: it must match ^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})+$"),
        C("shell metacharacters in email", Head + Alice.Replace("alice@example.test", "\"a$(reboot)@example.test\""),
            "roster.yaml:10:12: users.alice.email: 'a$(reboot)@example.test' is not a valid email address: it contains the shell metacharacter '$'"),
        C("adopt is not a boolean", Head + Alice.Replace("tier: power-user", "tier: power-user\n    adopt: yes"),
            "roster.yaml:12:12: users.alice.adopt: must be true or false, got 'yes'"),
        C("uid out of range", Head + Alice.Replace("tier: power-user", "tier: power-user\n    uid: 999"),
            "roster.yaml:12:10: users.alice.uid: uid 999 is outside 1000-59999"),
        C("users is a list", Head + "  - alice\n",
            "roster.yaml:7:3: users: must be a mapping"),
        C("the roster is a list", "- admin\n- users\n",
            "roster.yaml:1:1: (root): the roster must be a mapping with 'admin', 'users' and 'retired'"),
        C("unknown k8s_username_claim", "settings:\n  k8s_username_claim: sub\n" + Head + Alice,
            "roster.yaml:2:23: settings.k8s_username_claim: unknown claim 'sub' (expected email or name)"),
        C("retired user without ports", Head + Alice + "retired:\n  carol: { uid: 2003 }\n",
            "roster.yaml:14:10: retired.carol.ports: a retired user keeps both ports (t3 and playwright)"),
        C("retired authentik_user with metacharacters", Head + Alice + "retired:\n  carol: { authentik_user: \"c|d\", ports: { t3: 3790, playwright: 8990 } }\n",
            "roster.yaml:14:28: retired.carol.authentik_user: 'c|d' is not valid: it contains the shell metacharacter '|'"),
        // --- ports -----------------------------------------------------------------------------
        C("quoted port string", Head + Alice.Replace("t3: 3774", "t3: \"3774\""),
            "roster.yaml:12:18: users.alice.ports.t3: must be a whole number, got '3774'"),
        C("port below 1024", Head + Alice.Replace("t3: 3774", "t3: 80"),
            "roster.yaml:12:18: users.alice.ports.t3: port 80 is outside 1024-65535"),
        C("port above 65535", Head + Alice.Replace("playwright: 8932", "playwright: 70000"),
            "roster.yaml:12:36: users.alice.ports.playwright: port 70000 is outside 1024-65535"),
        C("negative port", Head + Alice.Replace("playwright: 8932", "playwright: -8932"),
            "roster.yaml:12:36: users.alice.ports.playwright: must be a whole number, got '-8932'"),
        C("port collision across users", Head + Alice + User("bob", 3774, 8933),
            "roster.yaml:18:18: users.bob.ports.t3: port 3774 is already used by users.alice.ports.t3"),
        C("port collision between services", Head + Alice + User("bob", 3775, 3774),
            "roster.yaml:18:36: users.bob.ports.playwright: port 3774 is already used by users.alice.ports.t3"),
        C("port collision with the admin", Head + User("bob", 3775, 8931),
            "roster.yaml:12:36: users.bob.ports.playwright: port 8931 is already used by admin.ports.playwright"),
        C("one user's services share a port", Head + User("bob", 3775, 3775),
            "roster.yaml:12:36: users.bob.ports.playwright: port 3775 is already used by users.bob.ports.t3"),
        C("retired port reused", Head + Alice + "retired:\n  carol: { uid: 2003, ports: { t3: 3790, playwright: 8932 } }\n",
            "roster.yaml:12:36: users.alice.ports.playwright: port 8932 is already used by retired user 'carol' (ports of retired users are never reused)"),
        C("retired t3 port reused", Head + Alice + "retired:\n  carol: { uid: 2003, ports: { t3: 3774, playwright: 8990 } }\n",
            "roster.yaml:12:18: users.alice.ports.t3: port 3774 is already used by retired user 'carol' (ports of retired users are never reused)"),
        C("retired uid reused", Head + Alice.Replace("tier: power-user", "tier: power-user\n    uid: 2003") + "retired:\n  carol: { uid: 2003, ports: { t3: 3790, playwright: 8990 } }\n",
            "roster.yaml:12:10: users.alice.uid: uid 2003 is already used by retired user 'carol' (reserved for them)"),
        C("uid shared by two users", Head + Alice.Replace("tier: power-user", "tier: power-user\n    uid: 2001") + User("bob", 3775, 8933, extra: "    uid: 2001\n"),
            "roster.yaml:19:10: users.bob.uid: uid 2001 is already used by users.alice"),
        C("missing pins", Head + Alice + "  bob:\n    authentik_user: bob\n    k8s_user: bob\n    email: bob@example.test\n    tier: power-user\n",
            "roster.yaml:14:5: users.bob.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3775, playwright: 8933 }"),
        C("half a pin", Head + Alice + "  bob:\n    authentik_user: bob\n    k8s_user: bob\n    email: bob@example.test\n    tier: power-user\n    ports: { t3: 3790 }\n",
            "roster.yaml:18:12: users.bob.ports: the playwright port is not pinned; pin the next free ports with:  ports: { t3: 3790, playwright: 8933 }"),
        // --- hostile YAML ----------------------------------------------------------------------
        C("anchor and alias duplicating a user", Head + Alice.Replace("  alice:\n", "  alice: &a\n") + "  mallory: *a\n",
            "roster.yaml:7:10: users.alice: YAML anchor '&a' is not allowed: anchors and aliases can smuggle duplicate entries",
            "roster.yaml:13:12: users.mallory: YAML alias '*a' is not allowed: anchors and aliases can smuggle duplicate entries"),
        C("merge key smuggling a user", Head + Alice.Replace("  alice:\n", "  alice: &a\n") + "  mallory:\n    <<: *a\n",
            "roster.yaml:7:10: users.alice: YAML anchor '&a' is not allowed: anchors and aliases can smuggle duplicate entries",
            "roster.yaml:14:9: users.mallory.<<: YAML alias '*a' is not allowed: anchors and aliases can smuggle duplicate entries"),
        C("duplicate keys", Head + Alice + User("alice", 3775, 8933),
            "roster.yaml:13:3: users.alice: duplicate key 'alice' (first defined at line 7)"),
        C("python tag", Head + Alice + "  evil: !!python/object/apply:os.system [\"touch /pwned\"]\n",
            "roster.yaml:13:9: users.evil: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
        C("local tag", Head + Alice.Replace("tier: power-user", "tier: !admin power-user"),
            "roster.yaml:11:11: users.alice.tier: YAML tag '!admin' is not allowed"),
        C("two documents", Head + Alice + "---\n" + Head + Alice,
            "roster.yaml:13:1: (file): only one YAML document is allowed"),
        C("deeply nested", Head + "  deep: " + new string('[', 100) + new string(']', 100) + "\n",
            "roster.yaml:7:24: users.deep[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting deeper than 16 levels"),
        C("deeply nested, 100,000 levels", Head + "  deep: " + new string('[', 100_000) + "\n",
            "roster.yaml:7:24: users.deep[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting deeper than 16 levels"),
        C("deeply nested block mappings", Head + string.Concat(Enumerable.Range(0, 40).Select(i => new string(' ', 2 + 2 * i) + "k:\n")),
            "roster.yaml:22:33: users.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k: nesting deeper than 16 levels"),
        C("budget: memory_high above the tier's memory_max", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    budget: { memory_high: 8G }\n"),
            "roster.yaml:12:13: users.alice.budget: memory_high 8G is above memory_max 5G (the power-user tier's): memory_high is where throttling starts and must be at most memory_max, where the OOM killer acts"),
        C("budget: not a size", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    budget: { memory_max: 4GB, memory_high: 1.5G }\n"),
            "roster.yaml:12:27: users.alice.budget.memory_max: '4GB' is not a size: a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G",
            "roster.yaml:12:45: users.alice.budget.memory_high: '1.5G' is not a size: a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G"),
        C("budget: sizes too small and too large", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    budget: { memory_high: 1M, memory_max: 20T }\n"),
            "roster.yaml:12:28: users.alice.budget.memory_high: '1M' is below 64M: too little for a shell and a Claude session",
            "roster.yaml:12:44: users.alice.budget.memory_max: '20T' is above 16T"),
        C("budget: counts out of range or not numbers", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    budget: { cpu_weight: 0, tasks_max: many }\n"),
            "roster.yaml:12:27: users.alice.budget.cpu_weight: 0 is outside 1-10000",
            "roster.yaml:12:41: users.alice.budget.tasks_max: must be a whole number, got 'many'"),
        C("budget: an unknown field", Head + Alice.Replace("    tier: power-user\n", "    tier: power-user\n    budget: { memory_hihg: 2G }\n"),
            "roster.yaml:12:15: users.alice.budget.memory_hihg: unknown key 'memory_hihg' (did you mean 'memory_high'?)"),
        C("settings.budgets: a tier's memory_high above the built-in memory_max", "settings:\n  budgets:\n    power-user: { memory_high: 6G }\n" + Head + Alice,
            "roster.yaml:3:17: settings.budgets.power-user: memory_high 6G is above memory_max 5G (the built-in power-user budget's): memory_high is where throttling starts and must be at most memory_max, where the OOM killer acts"),
        C("settings.budgets: an unknown tier", "settings:\n  budgets:\n    guest: { memory_high: 1G }\n" + Head + Alice,
            "roster.yaml:3:5: settings.budgets.guest: unknown key 'guest' (allowed: admin, power-user, namespace-owner)"),
        C("an os_user whose slice would nest under another's", Head + Alice + Alice.Replace("  alice:", "  alice-x:").Replace("3774", "3775").Replace("8932", "8933")
                .Replace("authentik_user: alice", "authentik_user: ax").Replace("k8s_user: alice", "k8s_user: ax").Replace("alice@", "ax@"),
            "roster.yaml:13:3: users.alice-x: 'alice-x' would run inside the slice of 'alice' (users.alice): systemd nests workstation-alice-x.slice under workstation-alice.slice, so alice's budget would cover alice-x too; choose a name that does not start with 'alice-'"),
        C("value longer than 1024 characters", Head + Alice.Replace("k8s_user: alice", "k8s_user: " + new string('k', 2000)),
            "roster.yaml:9:15: users.alice.k8s_user: value longer than 1024 characters"),
        C("not YAML", Head + Alice + "  bob: [unclosed\n",
            "roster.yaml:14:1: (yaml): not valid YAML: While parsing a flow sequence, did not find expected ',' or ']'."),
        C("tab indentation", Head + "\talice: {}\n",
            "roster.yaml:7:1: (yaml): not valid YAML: While scanning a mapping, found invalid tab as indentation."),
        C("empty file", "",
            "roster.yaml:1:1: (file): the roster is empty"),
        C("only comments", "# nothing here\n",
            "roster.yaml:1:1: (file): the roster is empty"),
        B("invalid UTF-8", [.. Encoding.UTF8.GetBytes(Head), 0x20, 0x20, 0xC3, 0x28, 0x3A, 0x20, 0x7B, 0x7D, 0x0A],
            "roster.yaml:1:1: (file): the roster is not valid UTF-8"),
        B("larger than MaxBytes", Encoding.UTF8.GetBytes(new string('#', (int)RosterLoader.MaxBytes + 1)),
            "roster.yaml:1:1: (file): the roster is 8388609 bytes; the limit is 8388608 bytes"),
        B("a byte-order mark and then invalid YAML", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("admin: [\n")],
            "roster.yaml:2:1: (yaml): not valid YAML: While parsing a node, did not find expected node content."),
    ];
}
