using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>Every rule, one bad input at a time: the exact message and location (file, line, column, field).</summary>
public class BadInputTests
{
    private static readonly Dictionary<string, BadCase> Cases = BadInputCases.All().ToDictionary(c => c.Name);

    public static TheoryData<string> Names() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void Reports_exactly_these_errors(string name)
    {
        var c = Cases[name];
        var result = RosterLoader.Load(c.Bytes, "roster.yaml");
        Assert.False(result.Ok);
        Assert.Null(result.Model);
        Assert.Equal(c.Expected, TestFiles.Show(result));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Reports_the_same_errors_from_a_file(string name)
    {
        var c = Cases[name];
        var dir = Directory.CreateTempSubdirectory("roster-tests-");
        try
        {
            var path = Path.Combine(dir.FullName, "roster.yaml");
            File.WriteAllBytes(path, c.Bytes);
            Assert.Equal(c.Expected, TestFiles.Show(RosterLoader.LoadFile(path)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_table_is_large_and_every_error_is_located()
    {
        Assert.True(Cases.Count >= 30, $"only {Cases.Count} bad-input cases");
        foreach (var c in Cases.Values)
        {
            var errors = RosterLoader.Load(c.Bytes, "roster.yaml").Errors;
            Assert.NotEmpty(errors);
            Assert.All(errors, e =>
            {
                Assert.Equal("roster.yaml", e.File);
                Assert.True(e.Line >= 1 && e.Column >= 1, $"{c.Name}: {e}");
                Assert.False(string.IsNullOrWhiteSpace(e.Field), $"{c.Name}: {e}");
                Assert.DoesNotContain('\n', e.ToString());
            });
            // Sorted by line, then column.
            Assert.Equal(errors.OrderBy(e => e.Line).ThenBy(e => e.Column), errors);
        }
    }

    [Fact]
    public void ModelOrThrow_carries_every_error()
    {
        var result = RosterLoader.Load(TestFiles.Head + "  root: {}\n");
        var e = Assert.Throws<RosterException>(result.ModelOrThrow);
        Assert.Equal(result.Errors, e.Errors);
        Assert.Equal("invalid roster:\n" + string.Join('\n', result.Errors), e.Message);
    }

    [Fact]
    public void A_missing_file_is_an_error_not_an_exception()
    {
        var result = RosterLoader.LoadFile(Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid(), "roster.yaml"));
        var error = Assert.Single(result.Errors);
        Assert.Equal(("roster.yaml", 1, 1, "(file)"), (error.File, error.Line, error.Column, error.Field));
        Assert.StartsWith("roster file not found: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_byte_order_mark_is_accepted()
    {
        var yaml = TestFiles.Head + TestFiles.User("alice", 3774, 8932);
        var result = RosterLoader.Load([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(yaml)], "roster.yaml");
        Assert.True(result.Ok, string.Join('\n', result.Errors));
    }

    [Fact]
    public void Windows_line_endings_are_accepted()
    {
        var yaml = (TestFiles.Head + TestFiles.User("alice", 3774, 8932)).Replace("\n", "\r\n", StringComparison.Ordinal);
        Assert.True(RosterLoader.Load(yaml).Ok);
    }
}
