namespace Workstation.Roster.Tests;

/// <summary>A roster with many distinct problems gets one error for each, all in one run, sorted by line.</summary>
public class AllAtOnceTests
{
    private const string Yaml = """
        settings:
          t3_base_port: 80
        admin:
          os_user: wiz
          authentik_user: wiz
          k8s_user: wiz
          ports: { t3: 3773, playwright: 8931 }
        users:
          Bad:
            authentik_user: bad
            k8s_user: bad
            email: bad@example.test
            tier: power-user
            ports: { t3: 3774, playwright: 8932 }
          alice:
            authentik_user: alice
            k8s_user: alice
            emial: alice@example.test
            tier: power-user
            ports: { t3: 3775, playwright: 8933 }
          bob:
            authentik_user: bob
            k8s_user: bob
            email: bob@example.test
            tier: namespace-owner
            ports: { t3: 3775, playwright: 8934 }
          carol:
            authentik_user: carol
            k8s_user: carol
            email: carol@example
            tier: power-user
            uid: 2009
          dave:
            authentik_user: Alice
            k8s_user: dave
            email: dave@example.test
            tier: power-user
            adopt: "yes"
            ports: { t3: 3790, playwright: 8990 }
        retired:
          erin: { uid: 2009, ports: { t3: 3791, playwright: 8991 } }

        """;

    [Fact]
    public void Every_problem_is_reported_at_once_in_line_order()
    {
        string[] expected =
        [
            "roster.yaml:2:17: settings.t3_base_port: port 80 is outside 1024-65535",
            "roster.yaml:9:3: users.Bad: 'Bad' is not a valid os_user: it must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$",
            "roster.yaml:18:5: users.alice.emial: unknown key 'emial' (did you mean 'email'?)",
            "roster.yaml:22:5: users.bob.namespaces: a namespace-owner needs at least one namespace",
            "roster.yaml:26:18: users.bob.ports.t3: port 3775 is already used by users.alice.ports.t3",
            // t3 suggestions start at the default base (3773): t3_base_port was refused.
            "roster.yaml:28:5: users.carol.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3776, playwright: 8935 }",
            "roster.yaml:30:12: users.carol.email: 'carol@example' is not a valid email address: it must match ^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})+$",
            "roster.yaml:32:10: users.carol.uid: uid 2009 is already used by retired user 'erin' (reserved for them)",
            "roster.yaml:34:21: users.dave.authentik_user: authentik_user 'Alice' is already used by users.alice",
            "roster.yaml:38:12: users.dave.adopt: must be true or false, got 'yes'",
        ];
        var result = RosterLoader.Load(Yaml);
        Assert.Equal(expected, TestFiles.Show(result));
        Assert.Equal(result.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column), result.Errors);
    }
}
