using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>Paths in the repository and small roster builders shared by the tests.</summary>
internal static class TestFiles
{
    /// <summary>The repository root: the nearest parent with roster.yaml and Directory.Build.props.</summary>
    public static string Root { get; } = FindRoot();

    public static string ShippedRoster => Path.Combine(Root, "roster.yaml");
    public static string Schema => Path.Combine(Root, "roster.schema.json");
    public static string GoldenRoster => Path.Combine(Root, "tests", "golden", "roster.yaml");
    public static string GoldenCommands => Path.Combine(Root, "tests", "golden", "host-commands.txt");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "roster.yaml")) && File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Joins lines with LF and a final newline.</summary>
    public static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    /// <summary>
    /// Lines 1-6 of most bad-input cases: a valid admin, then "users:". Bodies start at line 7.
    /// </summary>
    public const string Head = """
        admin:
          os_user: wiz
          authentik_user: wiz
          k8s_user: wiz
          ports: { t3: 3773, playwright: 8931 }
        users:

        """;

    /// <summary>A valid user entry (6 lines) for the users block.</summary>
    public static string User(string name, int t3, int pw, string tier = "power-user", string? extra = null) =>
        $"  {name}:\n    authentik_user: {name}\n    k8s_user: {name}\n    email: {name}@example.test\n    tier: {tier}\n" +
        (extra ?? "") +
        $"    ports: {{ t3: {t3}, playwright: {pw} }}\n";

    /// <summary>
    /// <see cref="Head"/>, then bea, a valid power user whose own lines (<paramref name="extra"/>)
    /// start at line 12: the roster most one-field cases change.
    /// </summary>
    public static string WithBea(string extra = "") => Head + User("bea", 3774, 8932, extra: extra);

    /// <summary>A user entry whose map key is <paramref name="key"/> (written as is) and whose identities are safe.</summary>
    public static string UserAs(string key, int t3, int pw) =>
        $"  {key}:\n    authentik_user: x\n    k8s_user: x\n    email: x@example.test\n    tier: power-user\n    ports: {{ t3: {t3}, playwright: {pw} }}\n";

    /// <summary>A valid roster of <paramref name="count"/> users with varied tiers, uids and bindings.</summary>
    public static string Generated(int count, int seed = 1)
    {
        var sb = new StringBuilder();
        sb.Append("settings:\n  t3_base_port: 10000\n  playwright_base_port: 40000\n  deny_users: [guest]\n");
        sb.Append("admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: 1000\n  ports: { t3: 10000, playwright: 40000 }\n");
        sb.Append("users:\n");
        var random = new Random(seed);
        for (var i = 1; i <= count; i++)
        {
            var name = $"u{i:D5}";
            sb.Append(Entry(name, i, random.Next(3)));
        }
        sb.Append("retired:\n  gone:\n    uid: 59999\n    ports: { t3: 39999, playwright: 59999 }\n");
        return sb.ToString();
    }

    private static string Entry(string name, int i, int kind) => kind switch
    {
        0 => User(name, 10000 + i, 40000 + i, extra: $"    uid: {1000 + i}\n"),
        1 => User(name, 10000 + i, 40000 + i, "namespace-owner", $"    namespaces: [ns-{name}, shared-{name}]\n    external_bindings: {{ shared-{name}: owners-{name} }}\n"),
        _ => User(name, 10000 + i, 40000 + i, extra: "    adopt: true\n"),
    };

    /// <summary>The errors as the CLI prints them: file:line:column: field: message.</summary>
    public static string[] Show(RosterResult result) => result.Errors.Select(e => e.ToString()).ToArray();
}
