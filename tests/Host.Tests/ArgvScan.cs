namespace Host.Tests;

/// <summary>
/// Samples every process's argument vector on the box, in a transient unit NAME, for markers (values
/// that must never be an argument) while a step runs. At the start a process shows CONTROL in its
/// arguments, so a scan that found the control would have found a marker.
/// </summary>
internal sealed class ArgvScan
{
    private readonly SandboxFixture box;
    private readonly string name;

    private ArgvScan(SandboxFixture box, string name) => (this.box, this.name) = (box, name);

    /// <summary>The file of markers the sampler greps for (the control included).</summary>
    public string Markers => $"/run/{name}.markers";

    public static async Task<ArgvScan> StartAsync(SandboxFixture box, string name, IEnumerable<string> markers, string control, int maxSeconds)
    {
        var scan = new ArgvScan(box, name);
        await box.ScriptAsync($$"""
            printf '%s\n' {{string.Join(' ', markers.Select(HostCommands.Quote))}} {{control}} > {{scan.Markers}}
            rm -f /run/{{name}}.found /run/{{name}}.stop
            systemctl reset-failed {{name}} 2>/dev/null || true
            systemd-run --quiet --unit={{name}} -p RuntimeMaxSec={{maxSeconds}} sh -c 'while [ ! -e /run/{{name}}.stop ]; do
              for c in /proc/[0-9]*/cmdline; do tr "\0" " " < "$c" 2>/dev/null; echo; done | grep -F -f {{scan.Markers}} >> /run/{{name}}.found; done'
            sleep 1; sh -c 'sleep 2; : {{control}}' & sleep 1
            """);
        return scan;
    }

    /// <summary>Stops the sampler: the argument vectors it caught, sorted, one a line.</summary>
    public Task<string> StopAsync() =>
        box.ScriptAsync($"touch /run/{name}.stop; sleep 1; systemctl stop {name} 2>/dev/null || true; sort -u /run/{name}.found");
}
