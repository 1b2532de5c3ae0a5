using Workstation.Roster.Access;

namespace Workstation.Tests;

/// <summary>
/// `roster diff` against the program: for each golden pair of rosters, the people and layers the
/// diff reports are exactly the people and layers whose resources the mock run changes.
/// </summary>
public class RosterDiffTests
{
    public static TheoryData<string, string> Pairs() => new()
    {
        { "tests/golden/roster.yaml", "tests/golden/diff/add.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/remove.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/retire.yaml" },
        { "tests/golden/diff/bring-back.yaml", "tests/golden/roster.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/tier.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/port.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/namespace.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/budget.yaml" },
        { "tests/golden/roster.yaml", "tests/golden/diff/secrets.yaml" },
    };

    private static RosterModel Load(string path) => Fixture.Roster(File.ReadAllText(Path.Combine(Repo.Root, path)), path);

    private static Task<Run> RunAsync(RosterModel roster) =>
        Harness.RunAsync(() => WorkstationStack.Build(roster, Fixture.Settings(), Fixture.Bundle).Outputs);

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task The_diff_names_exactly_the_people_and_layers_whose_resources_change(string basePath, string headPath)
    {
        var (a, b) = (Load(basePath), Load(headPath));
        var (da, db) = (Derivation.Derive(a), Derivation.Derive(b));
        var reported = AccessDiffs.Diff(da, db).People
            .SelectMany(p => p.Changes.Select(c => $"{p.OsUser}/{AccessDiffs.LayerName(c.Layer)}"))
            .ToHashSet(StringComparer.Ordinal);

        var before = await RunAsync(a);
        var after = await RunAsync(b);
        var people = da.Members.Concat(db.Members).Select(m => m.OsUser).Distinct().OrderByDescending(n => n.Length).ToList();
        var pks = new Dictionary<int, string>();
        foreach (var m in da.Users.Concat(db.Users)) pks[MockWorld.Pk(m.AuthentikUser)] = m.OsUser;
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in DiffTests.Changed(before, after))
        {
            var sep = key.LastIndexOf("::", StringComparison.Ordinal);
            var (type, name) = (key[..sep], key[(sep + 2)..]);
            if (type == Types.AuthentikGroup)
            {
                // Who joined or left the member list.
                var moved = Members(before, key).ToHashSet();
                moved.SymmetricExceptWith(Members(after, key));
                foreach (var pk in moved) changed.Add($"{pks[pk]}/authentik");
                continue;
            }
            if (type == WorkstationUser.Type || name == WorkstationStack.MapsName) continue; // the component itself; the shared maps list
            var person = people.First(p => name.StartsWith(p + "-", StringComparison.Ordinal));
            var layer = type switch
            {
                Types.Command => "host",
                _ when type.StartsWith("kubernetes:", StringComparison.Ordinal) => "kubernetes",
                _ when type.StartsWith("vault:", StringComparison.Ordinal) => "vault",
                _ => throw new InvalidOperationException($"unexpected change {key}"),
            };
            changed.Add($"{person}/{layer}");
        }
        Assert.Equal(changed.Order(StringComparer.Ordinal), reported.Order(StringComparer.Ordinal));
    }

    private static IEnumerable<int> Members(Run run, string key) =>
        run.ByKey.TryGetValue(key, out var r) ? ((System.Collections.IEnumerable)r.Inputs["users"]).Cast<object>().Select(Convert.ToInt32) : [];
}
