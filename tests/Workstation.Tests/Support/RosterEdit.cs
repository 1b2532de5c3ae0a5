using YamlDotNet.RepresentationModel;

namespace Workstation.Tests.Support;

/// <summary>
/// Roster edits the tests make, on the YAML tree rather than its text: remove, retire, add,
/// change a field. Each returns the new roster text, which the roster engine then loads as it
/// would a reviewed file (so an edit that leaves an invalid roster fails in the loader, loudly).
/// </summary>
internal sealed class RosterEdit
{
    private readonly YamlMappingNode _root;

    private RosterEdit(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        _root = (YamlMappingNode)stream.Documents[0].RootNode;
    }

    public static RosterEdit Of(string text) => new(text);

    /// <summary>The golden roster (tests/golden/roster.yaml).</summary>
    public static RosterEdit Golden() => new(Fixture.RosterText);

    /// <summary>Deletes the user's entry outright (no tombstone).</summary>
    public RosterEdit Remove(string osUser)
    {
        if (!Users.Children.Remove(Key(osUser))) throw new ArgumentException($"no user {osUser} in the roster");
        return this;
    }

    /// <summary>Deletes a tombstone outright: the person's last resources go.</summary>
    public RosterEdit RemoveRetired(string osUser)
    {
        if (!Section("retired").Children.Remove(Key(osUser))) throw new ArgumentException($"no retired {osUser} in the roster");
        return this;
    }

    /// <summary>Moves a user to `retired:` with their uid, ports and (when <paramref name="keepLogin"/>) authentik_user and k8s_user.</summary>
    public RosterEdit Retire(string osUser, bool keepLogin = true)
    {
        var entry = User(osUser);
        Remove(osUser);
        var tombstone = new YamlMappingNode();
        foreach (var field in keepLogin ? new[] { "uid", "ports", "authentik_user", "k8s_user" } : ["uid", "ports"])
            if (entry.Children.TryGetValue(Key(field), out var value)) tombstone.Add(field, value);
        Section("retired").Add(osUser, tombstone);
        return this;
    }

    /// <summary>Marks a tombstone for purge (`purge: true`).</summary>
    public RosterEdit Purge(string osUser)
    {
        if (!Section("retired").Children.TryGetValue(Key(osUser), out var entry)) throw new ArgumentException($"no retired {osUser} in the roster");
        ((YamlMappingNode)entry).Children[Key("purge")] = new YamlScalarNode("true");
        return this;
    }

    /// <summary>Adds a user (power-user unless <paramref name="tier"/> says otherwise).</summary>
    public RosterEdit Add(string osUser, int t3, int playwright, string tier = "power-user", int? uid = null)
    {
        var entry = new YamlMappingNode
        {
            { "authentik_user", osUser + ".a" },
            { "k8s_user", osUser },
            { "email", osUser + "@example.test" },
            { "tier", tier },
        };
        if (uid is { } u) entry.Add("uid", Num(u));
        entry.Add("ports", new YamlMappingNode { { "t3", Num(t3) }, { "playwright", Num(playwright) } });
        Users.Add(osUser, entry);
        return this;
    }

    /// <summary>Sets a user's tier, and their namespaces when given (a namespace-owner needs some).</summary>
    public RosterEdit Tier(string osUser, string tier, params string[] namespaces)
    {
        Set(osUser, "tier", new YamlScalarNode(tier));
        if (namespaces.Length > 0) Set(osUser, "namespaces", new YamlSequenceNode(namespaces.Select(n => new YamlScalarNode(n))));
        return this;
    }

    public RosterEdit Ports(string osUser, int t3, int playwright) =>
        Set(osUser, "ports", new YamlMappingNode { { "t3", Num(t3) }, { "playwright", Num(playwright) } });

    public RosterEdit Namespaces(string osUser, params string[] namespaces) =>
        Set(osUser, "namespaces", new YamlSequenceNode(namespaces.Select(n => new YamlScalarNode(n))));

    /// <summary>Sets any field of a user (the admin included) to a scalar, list or map node.</summary>
    public RosterEdit Set(string osUser, string field, YamlNode value)
    {
        User(osUser).Children[Key(field)] = value;
        return this;
    }

    /// <summary>Sets a `settings:` field.</summary>
    public RosterEdit Setting(string field, YamlNode value)
    {
        Section("settings").Children[Key(field)] = value;
        return this;
    }

    public string Text()
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(_root)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    public override string ToString() => Text();

    private YamlMappingNode Users => Section("users");

    private YamlMappingNode User(string osUser)
    {
        var admin = (YamlMappingNode)_root.Children[Key("admin")];
        if (admin.Children.TryGetValue(Key("os_user"), out var name) && ((YamlScalarNode)name).Value == osUser) return admin;
        return Users.Children.TryGetValue(Key(osUser), out var entry)
            ? (YamlMappingNode)entry
            : throw new ArgumentException($"no user {osUser} in the roster");
    }

    private YamlMappingNode Section(string name)
    {
        if (_root.Children.TryGetValue(Key(name), out var node) && node is YamlMappingNode map) return map;
        var created = new YamlMappingNode();
        _root.Children[Key(name)] = created;
        return created;
    }

    private static YamlScalarNode Key(string name) => new(name);

    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
