using System.Text;
using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

public class AccessDocTests
{
    [Fact]
    public void CommittedMultiTenancyDocIsTheGeneratedOne()
    {
        var committed = File.ReadAllBytes(Path.Combine(AccessFixtures.RepoRoot(), MultiTenancyDoc.RelativePath));
        var generated = new UTF8Encoding(false).GetBytes(MultiTenancyDoc.Render());
        Assert.True(committed.AsSpan().SequenceEqual(generated),
            $"{MultiTenancyDoc.RelativePath} is stale: run `dotnet run --project Roster -- docs multi-tenancy` and commit the result");
    }

    [Fact]
    public void DocIsPlainLfMarkdown()
    {
        var doc = MultiTenancyDoc.Render();
        Assert.Equal(doc, MultiTenancyDoc.Render());
        Assert.DoesNotContain("\r", doc, StringComparison.Ordinal);
        Assert.EndsWith("\n", doc, StringComparison.Ordinal);
        Assert.False(doc.EndsWith("\n\n", StringComparison.Ordinal), "more than one newline at the end");
        Assert.All(doc.Split('\n'), line => Assert.False(line.EndsWith(' ') || line.EndsWith('\t'), $"trailing whitespace: {line}"));
        foreach (var tier in new[] { "admin", "power-user", "namespace-owner" })
            Assert.Contains($"\n## Tier `{tier}`\n", doc, StringComparison.Ordinal);
        Assert.Contains("| host | sudo | no |", doc, StringComparison.Ordinal);
        Assert.Contains("| host | sudo | yes (group `sudo`) |", doc, StringComparison.Ordinal);
    }

    [Fact]
    public void CliWritesTheDoc()
    {
        var path = Path.Combine(Path.GetTempPath(), $"multi-tenancy-{Guid.NewGuid():N}.md");
        try
        {
            var stdout = new StringWriter();
            Assert.Equal(0, Cli.Run(["docs", "multi-tenancy", path], stdout, new StringWriter()));
            Assert.Equal(new UTF8Encoding(false).GetBytes(MultiTenancyDoc.Render()), File.ReadAllBytes(path));
            Assert.Equal($"wrote {path}\n", stdout.ToString().ReplaceLineEndings("\n"));
            Assert.Equal(2, Cli.Run(["docs", "nonsense"], new StringWriter(), new StringWriter()));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
