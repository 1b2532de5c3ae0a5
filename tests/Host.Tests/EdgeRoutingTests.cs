
namespace Host.Tests;

/// <summary>
/// Issue 27 §1 and §3: an edge stand-in routes each person to their box by the fleet routing
/// map (<see cref="FleetRoutes"/>, what the program exports as fleetRoutes), on two devvms. On
/// each host the edge account reaches the t3 ports (the site's edge rule holds on every host)
/// and no playwright port; a person's route leads to their t3 and to no one else's, and the
/// same port on the other host is not theirs.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class EdgeRoutingTests(FleetFixture fleet) : BoxTests(TimeSpan.FromSeconds(180))
{
    private const string Edge = "t3-edge";
    private static readonly TestUser Era = new("era", 2767, 6067, 6167);
    private static readonly TestUser Erb = new("erb", 2768, 6068, 6168);

    /// <summary>The two boxes as hosts of a stack's `hosts:` (addresses: their veth ends).</summary>
    private static readonly HostEntry[] Hosts =
    [
        new("devvm", "10.206.0.1", 22, "root", "ssh-ed25519 AAAA-a", null, null, false),
        new("devvm2", "10.206.0.2", 22, "root", "ssh-ed25519 AAAA-b", null, null, false),
    ];

    /// <summary>
    /// edge_get USER PORT: what the edge account gets from 127.0.0.1:PORT, as one line
    /// "code=N body=…" (curl's exit code: 7 refused at connect, 28 timed out).
    /// </summary>
    private const string EdgeGet = """
        edge_get() {
          local out rc
          out=$(runuser -u t3-edge -- curl -sS -m 3 "http://127.0.0.1:$2/" 2>/dev/null) && rc=0 || rc=$?
          echo "$1=code=$rc body=$(head -n 1 <<<"$out" | cut -c1-80)"
        }
        wait_listening() {
          for _ in $(seq 1 100); do
            grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp && return 0
            sleep 0.1
          done
        }
        """;

    [Fact]
    public async Task The_edge_reaches_each_person_on_the_host_the_routing_map_names_and_nowhere_else()
    {
        var routes = FleetRoutes.Render(Hosts,
            new FleetPlacement(new Dictionary<string, string> { [Era.Name] = "devvm", [Erb.Name] = "devvm2" }),
            [Era.Derived(), Erb.Derived()]);
        var boxes = new Dictionary<string, SandboxFixture> { ["devvm"] = fleet.A, ["devvm2"] = fleet.B };
        try
        {
            foreach (var (box, person) in new[] { (fleet.A, Era), (fleet.B, Erb) })
            {
                await box.ScriptAsync($"getent passwd {Edge} >/dev/null || useradd -r -s /usr/sbin/nologin {Edge}");
                await box.MustAsync(HostWorld.SiteCommand(t3Command: FirewallTests.FakeT3, edgeUser: Edge), timeout: Bounded);
                await box.MustAsync(person.Apply(tokenStdin: false), timeout: Bounded);
                await box.MustAsync($"systemctl restart t3-serve@{person.Name}.service");
                await box.ScriptAsync(EdgeGet + $"\nwait_listening {person.T3Port}");
            }

            // The stand-in: for each person in the map, the host it names, and there the edge
            // account's connection to the t3 port it names.
            using var map = JsonDocument.Parse(routes);
            var people = map.RootElement.GetProperty("people").EnumerateObject().ToList();
            Assert.Equal([Era.Name, Erb.Name], people.Select(p => p.Name));
            foreach (var p in people)
            {
                var host = p.Value.GetProperty("host").GetString()!;
                var t3 = p.Value.GetProperty("t3").GetInt32();
                var other = boxes.Single(b => b.Key != host).Value;
                var pw = (p.Name == Era.Name ? Era : Erb).PlaywrightPort;
                var there = OnboardingTests.Facts(await boxes[host].ScriptAsync(EdgeGet + $"\nedge_get t3 {t3}\nedge_get pw {pw}"));
                FactAssert.Equal(there,
                    ("t3", $"code=0 body=t3 of {p.Name}"),
                    ("pw", "code=7 body=")); // the edge rule holds on this host: no playwright port
                // The other host has no t3 of theirs on that port: the map, not luck, gets them through.
                var elsewhere = OnboardingTests.Facts(await other.ScriptAsync(EdgeGet + $"\nedge_get t3 {t3}"));
                Assert.DoesNotContain($"t3 of {p.Name}", elsewhere["t3"], StringComparison.Ordinal);
            }
            Assert.Equal("10.206.0.2", people.Single(p => p.Name == Erb.Name).Value.GetProperty("address").GetString());
        }
        finally
        {
            // The other tests of the collection run under the default site.
            foreach (var (box, person) in new[] { (fleet.A, Era), (fleet.B, Erb) })
            {
                await box.RunAsync(person.Suspend(), timeout: Bounded);
                await box.MustAsync(HostWorld.SiteCommand(), timeout: Bounded);
            }
        }
    }
}
