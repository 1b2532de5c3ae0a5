using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>The per-user model: its values, and that it depends only on the roster's content.</summary>
public class DerivationTests
{
    private static DerivedRoster Derive(string yaml)
    {
        var result = RosterLoader.Load(yaml);
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        return Derivation.Derive(result.Model!);
    }

    [Fact]
    public void The_shipped_roster_derives_byte_identical_json_every_time()
    {
        var first = DerivedJson.Write(Derivation.Derive(RosterLoader.LoadFile(TestFiles.ShippedRoster).ModelOrThrow()));
        var second = DerivedJson.Write(Derivation.Derive(RosterLoader.LoadFile(TestFiles.ShippedRoster).ModelOrThrow()));
        Assert.Equal(first, second);
        Assert.EndsWith("}\n", first, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', first);
    }

    [Fact]
    public void The_cli_writes_the_same_bytes_each_run_and_as_the_library()
    {
        string Run()
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Assert.Equal(0, Cli.Run(["derive", "--json", TestFiles.ShippedRoster], stdout, stderr));
            Assert.Equal("", stderr.ToString());
            return stdout.ToString();
        }
        var first = Run();
        Assert.Equal(first, Run());
        Assert.Equal(DerivedJson.Write(Derivation.Derive(RosterLoader.LoadFile(TestFiles.ShippedRoster).ModelOrThrow())), first);
    }

    [Fact]
    public void External_bindings_derive_as_a_sorted_map_from_namespace_to_binding_name()
    {
        var yaml = "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\nusers:\n" +
            TestFiles.User("bob", 3774, 8932, "namespace-owner",
                "    namespaces: [zeta, alpha, mid]\n    external_bindings: { zeta: z-owners, alpha: oidc.alpha-owners }\n");
        var bob = Derive(yaml).Users.Single(u => u.OsUser == "bob");
        Assert.Equal(["alpha", "zeta"], bob.ExternalBindings.Keys);
        Assert.Equal("oidc.alpha-owners", bob.ExternalBindings["alpha"]);
        var json = JsonNode.Parse(DerivedJson.Write(Derive(yaml)))!["users"]!["bob"]!["external_bindings"]!.ToJsonString();
        Assert.Equal("""{"alpha":"oidc.alpha-owners","zeta":"z-owners"}""", json);
    }

    [Fact]
    public void A_large_roster_derives_identically_twice()
    {
        var yaml = TestFiles.Generated(500);
        Assert.Equal(DerivedJson.Write(Derive(yaml)), DerivedJson.Write(Derive(yaml)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Reordering_the_users_changes_no_users_derived_values(int seed)
    {
        var yaml = TestFiles.Generated(60, seed);
        var start = yaml.IndexOf("users:\n", StringComparison.Ordinal) + "users:\n".Length;
        var end = yaml.IndexOf("retired:\n", StringComparison.Ordinal);
        var entries = yaml[start..end].Split("\n  u").Select((e, i) => i == 0 ? e : "  u" + e).Select(e => e.EndsWith('\n') ? e : e + "\n").ToList();
        Assert.Equal(60, entries.Count);

        var shuffled = entries.ToArray();
        new Random(seed).Shuffle(shuffled);
        Assert.NotEqual(entries, shuffled);
        var permuted = yaml[..start] + string.Concat(shuffled) + yaml[end..];

        var before = PortSuggestionTests.PerUser(yaml);
        var after = PortSuggestionTests.PerUser(permuted);
        Assert.Equal(61, before.Count);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, json) in before) Assert.Equal(json, after[name]);
        // And so the whole document too.
        Assert.Equal(DerivedJson.Write(Derive(yaml)), DerivedJson.Write(Derive(permuted)));
    }

    [Fact]
    public void Reordering_the_shipped_roster_users_changes_nothing()
    {
        var yaml = File.ReadAllText(TestFiles.ShippedRoster);
        var emo = yaml[yaml.IndexOf("  emo:\n", StringComparison.Ordinal)..yaml.IndexOf("  ancamilea:\n", StringComparison.Ordinal)];
        var swapped = yaml.Replace(emo, "", StringComparison.Ordinal).Replace("  # gheorghe:\n", emo + "  # gheorghe:\n", StringComparison.Ordinal);
        Assert.NotEqual(yaml, swapped);
        Assert.True(swapped.IndexOf("  ancamilea:", StringComparison.Ordinal) < swapped.IndexOf("  emo:", StringComparison.Ordinal));
        Assert.Equal(DerivedJson.Write(Derive(yaml)), DerivedJson.Write(Derive(swapped)));
    }

    [Fact]
    public void The_golden_roster_derives_exactly_this_json()
    {
        var json = DerivedJson.Write(Derive(File.ReadAllText(TestFiles.GoldenRoster)));
        Assert.Equal(GoldenJson, json);
    }

    [Fact]
    public void Revoke_groups_derive_sorted_and_private_home_as_written()
    {
        var roster = Derivation.Derive(RosterLoader.Load(TestFiles.Head +
            TestFiles.User("bea", 3774, 8932, extra: "    revoke_groups: [sudo, code-shared, _lxd]\n    private_home: true\n") +
            TestFiles.User("cy", 3775, 8933)).ModelOrThrow());
        var bea = roster.Users.Single(u => u.OsUser == "bea");
        Assert.Equal(["_lxd", "code-shared", "sudo"], bea.RevokeGroups);
        Assert.True(bea.PrivateHome);
        var cy = roster.Users.Single(u => u.OsUser == "cy");
        Assert.Empty(cy.RevokeGroups);
        Assert.False(cy.PrivateHome);
        Assert.Contains("\"revoke_groups\": [\n        \"_lxd\",\n        \"code-shared\",\n        \"sudo\"\n      ],\n      \"extra_groups\": [],\n      \"private_home\": true,", DerivedJson.Write(roster), StringComparison.Ordinal);
    }

    [Fact]
    public void S8_extra_groups_derive_sorted_into_the_json()
    {
        var roster = Derivation.Derive(RosterLoader.Load(TestFiles.Head +
            TestFiles.User("bea", 3774, 8932, extra: "    extra_groups: [lxd, adm]\n")).ModelOrThrow());
        Assert.Equal(["adm", "lxd"], roster.Users.Single(u => u.OsUser == "bea").ExtraGroups);
        Assert.Contains("\"extra_groups\": [\n        \"adm\",\n        \"lxd\"\n      ],", DerivedJson.Write(roster), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_entry_is_one_member_active_or_retired_sorted_by_os_user()
    {
        var roster = Derive(File.ReadAllText(TestFiles.GoldenRoster));
        Assert.Equal(roster.Members.Select(m => m.OsUser).Order(StringComparer.Ordinal), roster.Members.Select(m => m.OsUser));
        var states = roster.Members.ToDictionary(m => m.OsUser, m => m.State);
        Assert.All(roster.Users, u => Assert.Equal("active", states[u.OsUser]));
        Assert.All(roster.Retired, r => Assert.Equal("retired", states[r.OsUser]));
        Assert.Equal(roster.Members.Count, roster.Users.Count + roster.Retired.Count);
        Assert.NotEmpty(roster.Retired);
        // The views are the members' own records, not copies that could drift.
        Assert.Same(((Member.Active)roster.Members.First(m => m is Member.Active)).User, roster.Users[0]);
    }

    [Fact]
    public void Tier_groups_marker_group_and_k8s_subjects()
    {
        var roster = Derive(File.ReadAllText(TestFiles.ShippedRoster));
        var byName = roster.Users.ToDictionary(u => u.OsUser);
        Assert.Equal(["code-shared", "docker", "sudo"], byName["wizard"].TierGroups);
        Assert.True(byName["wizard"].IsAdmin);
        Assert.Empty(byName["emo"].TierGroups);
        Assert.Empty(byName["ancamilea"].TierGroups);
        Assert.All(roster.Users, u => Assert.Equal("workstation", u.MarkerGroup));
        // Email claim: the email, or k8s_user when there is none (the admin).
        Assert.Equal(new K8sSubject("User", "viktor"), byName["wizard"].K8sSubject);
        Assert.Equal(new K8sSubject("User", "ancaelena98@viktorbarzin.me"), byName["ancamilea"].K8sSubject);

        var named = Derive("settings:\n  k8s_username_claim: name\n  k8s_username_prefix: \"oidc:\"\n" + TestFiles.Head + TestFiles.User("alice", 3774, 8932));
        Assert.Equal(new K8sSubject("User", "oidc:alice"), named.Users.Single(u => u.OsUser == "alice").K8sSubject);
        Assert.Equal(new K8sSubject("User", "oidc:wiz"), named.Users.Single(u => u.OsUser == "wiz").K8sSubject);
    }

    [Fact]
    public void Every_user_in_the_json_has_its_home_services_and_env_files()
    {
        var json = JsonNode.Parse(DerivedJson.Write(Derive(TestFiles.Generated(20))))!;
        foreach (var (name, user) in json["users"]!.AsObject())
        {
            Assert.Equal($"/home/{name}", (string?)user!["home"]);
            Assert.Equal(
                [$"playwright-mcp@{name}.service", $"playwright-snapshot-refresh@{name}.timer", $"t3-serve@{name}.service"],
                user["services"]!.AsArray().Select(s => (string?)s));
            var env = user["env_files"]!.AsObject();
            Assert.Equal((string?)user["ports"]!["t3"]!.ToJsonString(), (string?)env[$"/etc/workstation/t3-{name}.env"]!["T3_PORT"]);
            Assert.Equal((string?)user["ports"]!["playwright"]!.ToJsonString(), (string?)env[$"/etc/workstation/playwright-{name}.env"]!["PLAYWRIGHT_PORT"]);
        }
    }

    /// <summary>The derived JSON for tests/golden/roster.yaml, reviewed by hand against the rules.</summary>
    private const string GoldenJson = """
        {
          "settings": {
            "t3_base_port": 3773,
            "playwright_base_port": 8931,
            "k8s_username_claim": "email",
            "k8s_username_prefix": ""
          },
          "users": {
            "alice": {
              "authentik_user": "alice.a",
              "k8s_user": "alice",
              "email": "alice@example.test",
              "tier": "power-user",
              "admin": false,
              "uid": 2001,
              "adopt": false,
              "revoke_groups": [],
              "extra_groups": [],
              "private_home": false,
              "kube_auth": "oidc",
              "ports": {
                "t3": 3774,
                "playwright": 8932
              },
              "home": "/home/alice",
              "marker_group": "workstation",
              "tier_groups": [],
              "services": [
                "playwright-mcp@alice.service",
                "playwright-snapshot-refresh@alice.timer",
                "t3-serve@alice.service"
              ],
              "env_files": {
                "/etc/workstation/playwright-alice.env": {
                  "PLAYWRIGHT_PORT": "8932"
                },
                "/etc/workstation/t3-alice.env": {
                  "T3_PORT": "3774"
                }
              },
              "namespaces": [],
              "external_bindings": {},
              "k8s_subject": {
                "kind": "User",
                "name": "alice@example.test"
              },
              "budget": {
                "memory": "enforce",
                "memory_high": "3G",
                "memory_max": "6G",
                "cpu_weight": 100,
                "tasks_max": 4096
              },
              "secrets": [
                "beads-key",
                "memory-key",
                "repo-token",
                "snapshot-token"
              ]
            },
            "bob": {
              "authentik_user": "bob.b",
              "k8s_user": "bob",
              "email": "bob@example.test",
              "tier": "namespace-owner",
              "admin": false,
              "uid": 2002,
              "adopt": false,
              "revoke_groups": [],
              "extra_groups": [],
              "private_home": false,
              "kube_auth": "oidc",
              "ports": {
                "t3": 3775,
                "playwright": 8933
              },
              "home": "/home/bob",
              "marker_group": "workstation",
              "tier_groups": [],
              "services": [
                "playwright-mcp@bob.service",
                "playwright-snapshot-refresh@bob.timer",
                "t3-serve@bob.service"
              ],
              "env_files": {
                "/etc/workstation/playwright-bob.env": {
                  "PLAYWRIGHT_PORT": "8933"
                },
                "/etc/workstation/t3-bob.env": {
                  "T3_PORT": "3775"
                }
              },
              "namespaces": [
                "team-b"
              ],
              "external_bindings": {},
              "k8s_subject": {
                "kind": "User",
                "name": "bob@example.test"
              },
              "budget": {
                "memory": "enforce",
                "memory_high": "2G",
                "memory_max": "3G",
                "cpu_weight": 100,
                "tasks_max": 4096
              },
              "secrets": [
                "beads-key",
                "memory-key",
                "repo-token",
                "snapshot-token"
              ]
            },
            "wiz": {
              "authentik_user": "wiz.admin",
              "k8s_user": "wiz",
              "email": null,
              "tier": "admin",
              "admin": true,
              "uid": 2000,
              "adopt": false,
              "revoke_groups": [],
              "extra_groups": [],
              "private_home": false,
              "kube_auth": "oidc",
              "ports": {
                "t3": 3773,
                "playwright": 8931
              },
              "home": "/home/wiz",
              "marker_group": "workstation",
              "tier_groups": [
                "code-shared",
                "docker",
                "sudo"
              ],
              "services": [
                "playwright-mcp@wiz.service",
                "playwright-snapshot-refresh@wiz.timer",
                "t3-serve@wiz.service"
              ],
              "env_files": {
                "/etc/workstation/playwright-wiz.env": {
                  "PLAYWRIGHT_PORT": "8931"
                },
                "/etc/workstation/t3-wiz.env": {
                  "T3_PORT": "3773"
                }
              },
              "namespaces": [],
              "external_bindings": {},
              "k8s_subject": {
                "kind": "User",
                "name": "wiz"
              },
              "budget": {
                "memory": "enforce",
                "memory_high": "10G",
                "memory_max": "14G",
                "cpu_weight": 200,
                "tasks_max": 8192
              },
              "secrets": [
                "beads-key",
                "memory-key",
                "repo-token",
                "snapshot-token"
              ]
            }
          },
          "retired": {
            "carol": {
              "uid": 2003,
              "ports": {
                "t3": 3776,
                "playwright": 8934
              },
              "purge": false
            }
          }
        }

        """;
}
