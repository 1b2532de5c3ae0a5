using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// The fake forge's comment API on pull request 7 of owner/infra (list, create, edit), as Forgejo
/// serves it under /api/v1 and GitHub at its root: paths here come without that prefix. The
/// comments are the caller's list, locked on each use.
/// </summary>
internal static class ForgeComments
{
    private const string Issue = "/repos/owner/infra/issues/7/comments";
    private const string Comment = "/repos/owner/infra/issues/comments/";

    /// <summary>The answer to a comment request, or null for any other path.</summary>
    public static (int, string)? Handle(List<JsonObject> comments, string method, string path, string body)
    {
        lock (comments)
        {
            if (method == "GET" && path == Issue)
                return (200, new JsonArray(comments.Select(c => (JsonNode)c.DeepClone()).ToArray()).ToJsonString());
            if (method == "POST" && path == Issue)
            {
                var c = new JsonObject { ["id"] = 100 + comments.Count, ["body"] = BodyOf(body) };
                comments.Add(c);
                return (201, c.ToJsonString());
            }
            if (method == "PATCH" && path.StartsWith(Comment, StringComparison.Ordinal))
            {
                var c = comments.Single(x => $"{Comment}{x["id"]}" == path);
                c["body"] = BodyOf(body);
                return (200, c.ToJsonString());
            }
        }
        return null;
    }

    private static string BodyOf(string request) => JsonNode.Parse(request)!["body"]!.GetValue<string>();
}
