namespace Workstation.Roster;

/// <summary>What the program itself reads from the project folder: the roster file.</summary>
public static class ProgramSection
{
    public const string Roster = "roster";

    public static readonly IReadOnlyList<string> Keys = [Roster];

    public const string DefaultRosterPath = "roster.yaml";

    /// <summary>The roster file's path, relative to the project folder.</summary>
    public static Section<string> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
        return c.Result(c.Get(Roster) is { Length: > 0 } r ? r : DefaultRosterPath);
    }
}
