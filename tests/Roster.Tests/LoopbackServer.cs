using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>
/// A fake HTTP server on a free loopback port for the script tests: each request and its body go
/// to <c>handle</c>, which records what it needs and answers (status, body).
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<HttpListenerRequest, string, (int Status, string Body)> _handle;

    public LoopbackServer(Func<HttpListenerRequest, string, (int Status, string Body)> handle)
    {
        _handle = handle;
        // A free port is known only until the probe lets it go: another test's server (they run
        // in parallel) may take it first, and then this one tries another ("Address already in use").
        for (var attempt = 1; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                Url = $"http://127.0.0.1:{port}";
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
        _ = Task.Run(ServeAsync);
    }

    /// <summary>http://127.0.0.1:PORT, without a trailing '/'.</summary>
    public string Url { get; }

    public void Dispose() => _listener.Close();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            var body = await new StreamReader(ctx.Request.InputStream).ReadToEndAsync();
            var (status, reply) = _handle(ctx.Request, body);
            ctx.Response.StatusCode = status;
            await ctx.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(reply));
            ctx.Response.Close();
        }
    }
}
