namespace Host.Tests;

/// <summary>
/// Driving a person's playwright-mcp as a client would, and pages for it to browse: a page
/// server in the box on 127.0.0.1:4601, and whole MCP sessions over Streamable HTTP.
/// </summary>
public static class McpBrowser
{
    /// <summary>
    /// mcp_session N PAGE: one whole MCP session as USER on PORT, printing "N:&lt;snapshot text&gt;".
    /// Streamable HTTP: initialize (the server names the session in a header), initialized, then
    /// browser_navigate and browser_snapshot, whose results carry the page's accessibility snapshot.
    /// </summary>
    public static string Session(string user, int port) => $$$$"""
        set -euo pipefail
        port={{{{port}}}}
        post() { # HEADERFILE SESSION BODY
          runuser -u {{{{user}}}} -- curl -sS -m 60 -D "$1" -X POST "http://127.0.0.1:$port/mcp" \
            -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
            ${2:+-H "mcp-session-id: $2"} -d "$3"
        }
        mcp_session() { # N PAGE
          local d sid out
          d=$(mktemp -d); chown {{{{user}}}} "$d"
          post "$d/h1" "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"host-tests","version":"1"}}}' >"$d/init"
          sid=$(awk 'tolower($1) == "mcp-session-id:" { print $2 }' "$d/h1" | tr -d '\r')
          [ -n "$sid" ] || { echo "$1:no session id: $(cat "$d/init")"; return 0; }
          post "$d/h2" "$sid" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
          post "$d/h3" "$sid" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"browser_navigate","arguments":{"url":"http://127.0.0.1:4601/'"$2"'"}}}' >"$d/nav"
          post "$d/h4" "$sid" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"browser_snapshot","arguments":{}}}' >"$d/snap"
          out=$(sed -n 's/^data: //p' "$d/snap" | jq -r '.result.content[]?.text // .error.message // empty' | tr '\n' ' ')
          echo "$1:${out:-$(tr '\n' ' ' <"$d/snap")}"
          rm -rf "$d"
        }
        """;

    /// <summary>Waits for USER's server to answer on PORT (it takes a moment after a start).</summary>
    public static string WaitForServer(string user, int port) => $$"""
        for _ in $(seq 1 60); do
          runuser -u {{user}} -- curl -sS -m 5 -o /dev/null -X POST http://127.0.0.1:{{port}}/mcp -H 'Content-Type: application/json' \
            -H 'Accept: application/json, text/event-stream' -d '{}' 2>/dev/null && break
          sleep 0.5
        done
        """;

    /// <summary>Serves /srv/pages (written by <paramref name="write"/>) on 127.0.0.1:4601 as a throwaway account, up when FIRST answers.</summary>
    public static Task ServePagesAsync(SandboxFixture box, string write, string first) => box.ScriptAsync($$"""
        set -euo pipefail
        mkdir -p /srv/pages
        {{write}}
        systemd-run --quiet --unit ws-pages -p DynamicUser=yes --working-directory=/srv/pages python3 -m http.server 4601 --bind 127.0.0.1
        for _ in $(seq 1 40); do curl -fsS -m 2 -o /dev/null http://127.0.0.1:4601/{{first}} && exit 0; sleep 0.25; done
        echo "the page server did not start" >&2; exit 1
        """);
}
