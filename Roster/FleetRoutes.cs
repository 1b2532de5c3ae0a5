using System.Text.Json.Nodes;

namespace Workstation.Roster;

/// <summary>
/// The fleet routing map (issue 27 §1): each active person → their host, its address and their
/// t3 port, for the edge. Rendered from the same per-host lists (<see cref="FleetPlacement.On"/>)
/// the program builds each host's maps step from, so the edge and the hosts can't disagree. The
/// program exports it as the stack output `fleetRoutes`; `roster routes` prints it (docs/fleet.md).
/// </summary>
public static class FleetRoutes
{
    public const string OutputName = "fleetRoutes";

    /// <summary>Per host, in the stack's order: the host and its people (the per-host maps' input).</summary>
    public static IEnumerable<(HostEntry Host, IReadOnlyList<DerivedUser> People)> PerHost(IEnumerable<HostEntry> hosts, FleetPlacement placement, IReadOnlyList<DerivedUser> users) =>
        hosts.Select(h => (h, placement.On(h.Name, users)));

    /// <summary>{"people": {OS_USER: {"host", "address", "t3"}}} as JSON, people sorted; one line per person.</summary>
    public static string Render(IEnumerable<HostEntry> hosts, FleetPlacement placement, IReadOnlyList<DerivedUser> users)
    {
        var people = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (host, on) in PerHost(hosts, placement, users))
        {
            foreach (var u in on)
                people[u.OsUser] = new JsonObject { ["host"] = host.Name, ["address"] = host.Address, ["t3"] = u.Ports.T3 };
        }
        var lines = people.Select(p => $"  {JsonValue.Create(p.Key).ToJsonString()}: {p.Value!.ToJsonString()}");
        return "{\"people\": {\n" + string.Join(",\n", lines) + (people.Count == 0 ? "" : "\n") + "}}\n";
    }
}
