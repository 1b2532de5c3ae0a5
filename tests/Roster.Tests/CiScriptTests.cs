using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// scripts/ci.sh against a fake forge on loopback (the Forgejo/GitHub comment API: list, create,
/// edit): the roster diff is posted as one comment, then updated rather than duplicated, and the
/// token only ever travels as a header.
/// </summary>
public sealed class CiScriptTests : IDisposable
{
    private const string Token = "forge-T0k3n-9f8e7d";
    private readonly List<JsonObject> _comments = [];
    private readonly List<string> _requests = [];
    private readonly LoopbackServer _server;

    public CiScriptTests() => _server = new LoopbackServer((req, body) => Handle(req.HttpMethod, req.Url!.AbsolutePath, body, req.Headers["Authorization"]));

    public void Dispose() => _server.Dispose();

    private (int, string) Handle(string method, string path, string body, string? auth)
    {
        lock (_requests) _requests.Add($"{method} {path} auth={auth}");
        if (auth != $"token {Token}") return (401, """{"message":"bad token"}""");
        // The Forgejo API: under /api/v1 only.
        if (path.StartsWith("/api/v1/", StringComparison.Ordinal) && ForgeComments.Handle(_comments, method, path["/api/v1".Length..], body) is { } comments)
            return comments;
        return (404, """{"message":"not found"}""");
    }

    private (int Code, string Out, string Err) Ci(string file, bool traced = false, string pr = "7")
    {
        string[] args = [Path.Combine(TestFiles.Root, "scripts", "ci.sh"), "comment", file];
        return Processes.Run("bash", traced ? ["-x", .. args] : args, new Dictionary<string, string?>
        {
            ["FORGE_API"] = _server.Url + "/api/v1",
            ["FORGE_REPO"] = "owner/infra",
            ["FORGE_PR"] = pr,
            ["FORGE_TOKEN"] = Token,
        }, seconds: 30);
    }

    [Fact]
    public void The_diff_is_posted_once_then_updated_never_duplicated_and_the_token_never_printed()
    {
        var someoneElse = new JsonObject { ["id"] = 1, ["body"] = "LGTM" };
        lock (_comments) _comments.Add(someoneElse);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "## Roster access diff\n\nfirst push\n");
            var first = Ci(file);
            Assert.True(first.Code == 0, first.Err);
            File.WriteAllText(file, "## Roster access diff\n\nsecond push\n");
            var second = Ci(file);
            Assert.True(second.Code == 0, second.Err);

            lock (_comments)
            {
                Assert.Equal(2, _comments.Count); // someone else's, and ours once
                Assert.Equal("LGTM", _comments[0]["body"]!.GetValue<string>());
                Assert.Equal("<!-- workstation-roster-diff -->\n## Roster access diff\n\nsecond push\n", _comments[1]["body"]!.GetValue<string>());
            }
            Assert.Contains("posted the roster diff comment", first.Err, StringComparison.Ordinal);
            Assert.Contains("updated the roster diff comment (101)", second.Err, StringComparison.Ordinal);
            lock (_requests)
            {
                Assert.Equal(["GET", "POST", "GET", "PATCH"], _requests.Select(r => r.Split(' ')[0]));
                Assert.All(_requests, r => Assert.EndsWith($"auth=token {Token}", r, StringComparison.Ordinal));
            }
            Assert.DoesNotContain(Token, first.Out + first.Err + second.Out + second.Err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Traced_it_refuses_before_any_secret_can_be_printed()
    {
        var file = Path.GetTempFileName();
        try
        {
            var traced = Ci(file, traced: true);
            Assert.Equal(1, traced.Code);
            Assert.Contains("refusing to run traced", traced.Err, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, traced.Out + traced.Err, StringComparison.Ordinal);
            lock (_requests) Assert.Empty(_requests);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_forge_error_stops_it_with_the_status_and_no_token()
    {
        var file = Path.GetTempFileName();
        try
        {
            // A PR the fake forge doesn't know: 404 from the list call.
            var r = Ci(file, pr: "8");
            Assert.Equal(1, r.Code);
            Assert.Contains("HTTP 404", r.Err, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, r.Out + r.Err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
