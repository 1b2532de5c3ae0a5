namespace Host.Tests;

/// <summary>
/// Swap from config, through the base step: the managed swap file has the configured size, and a
/// resize switches the new file on before the old one off, so the machine is never without swap.
/// A container may not call swapon(2), so swapon and swapoff are stand-ins here (bind-mounted over
/// the real ones for the test only) that keep the kernel's list of active swap areas in a file and
/// record any moment at zero swap; mkswap, fallocate, fstab and sysctl.d are real.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class SwapTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(120))
{

    private const string Fakes = """
        set -euo pipefail
        mkdir -p /run/fake-swap
        : >/run/fake-swap/active; : >/run/fake-swap/log; rm -f /run/fake-swap/zero
        cp /etc/fstab /run/fake-swap/fstab.orig
        cat >/run/fake-swap/swapon <<'SH'
        #!/bin/bash
        s=/run/fake-swap
        echo "swapon $*" >>"$s/log"
        if [[ " $* " == *" --show"* ]]; then cat "$s/active"; exit 0; fi
        path="${*: -1}"
        [[ "$(dd if="$path" bs=1 skip=4086 count=10 2>/dev/null)" == SWAPSPACE2 ]] || { echo "swapon: $path: not a swap area" >&2; exit 1; }
        ! grep -q "^$path " "$s/active" || { echo "swapon: $path: already active" >&2; exit 1; }
        echo "$path $(stat -c %s "$path")" >>"$s/active"
        SH
        cat >/run/fake-swap/swapoff <<'SH'
        #!/bin/bash
        s=/run/fake-swap
        echo "swapoff $*" >>"$s/log"
        path="${*: -1}"
        grep -q "^$path " "$s/active" || { echo "swapoff: $path: not active" >&2; exit 1; }
        grep -v "^$path " "$s/active" >"$s/active.new" || true
        [[ -s "$s/active.new" ]] || echo "no swap after swapoff $path" >>"$s/zero"
        mv "$s/active.new" "$s/active"
        SH
        chmod 755 /run/fake-swap/swapon /run/fake-swap/swapoff
        mount --bind /run/fake-swap/swapon "$(command -v swapon)"
        mount --bind /run/fake-swap/swapoff "$(command -v swapoff)"
        """;

    private const string Restore = """
        umount "$(command -v swapon)" 2>/dev/null || true
        umount "$(command -v swapoff)" 2>/dev/null || true
        if [ -f /run/fake-swap/fstab.orig ]; then cp /run/fake-swap/fstab.orig /etc/fstab; fi
        rm -f /swapfile /swapfile-* /etc/sysctl.d/60-workstation-swap.conf
        rm -rf /run/fake-swap
        """;

    private const string State = """
        echo "active=$(tr '\n' ';' </run/fake-swap/active)"
        echo "fstab=$(awk '$3 == "swap" { printf "%s;", $1 }' /etc/fstab)"
        echo "files=$(ls -1d /swapfile* 2>/dev/null | tr '\n' ';')"
        echo "modes=$(stat -c '%a' /swapfile* 2>/dev/null | sort -u | tr '\n' ';')"
        echo "zero=$(cat /run/fake-swap/zero 2>/dev/null | tr '\n' ';')"
        echo "calls=$(grep -v -- '--show' /run/fake-swap/log | tr '\n' ';')"
        """;

    private async Task<Dictionary<string, string>> StateAsync() => OnboardingTests.Facts(await box.ScriptAsync(State));

    [Fact]
    public async Task The_swap_file_follows_the_config_and_a_resize_never_drops_to_zero_swap()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync(Fakes);
        try
        {
            var first = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, swapSize: "64M", swappiness: 10), timeout: Bounded);
            var s = await StateAsync();
            FactAssert.Equal(s,
                ("active", "/swapfile-64M 67108864;"),
                ("fstab", "/swapfile-64M;"),
                ("modes", "600;"));
            Assert.Contains(first.Changes(), l => l.EndsWith("swapon /swapfile-64M (64M)", StringComparison.Ordinal));
            Assert.Equal("# Written by workstation base apply (swappiness in the stack config).\nvm.swappiness = 10\n",
                (await box.MustAsync("cat /etc/sysctl.d/60-workstation-swap.conf")).Stdout);

            // Unchanged config: nothing switched, nothing written.
            await box.MustAsync(": >/run/fake-swap/log");
            var again = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, swapSize: "64M", swappiness: 10), timeout: Bounded);
            Assert.Empty(again.Changes());
            Assert.Equal("", (await StateAsync())["calls"]);

            // A resize: the new file on, fstab moved to it, and only then the old one off and gone.
            await box.MustAsync(": >/run/fake-swap/log");
            var resize = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, swapSize: "128M", swappiness: 10), timeout: Bounded);
            s = await StateAsync();
            FactAssert.Equal(s,
                ("zero", ""),
                ("calls", "swapon -- /swapfile-128M;swapoff -- /swapfile-64M;"),
                ("active", "/swapfile-128M 134217728;"),
                ("fstab", "/swapfile-128M;"),
                ("files", "/swapfile-128M;"));
            Assert.Contains(resize.Changes(), l => l.EndsWith("removed /swapfile-64M", StringComparison.Ordinal));

            // A size the disk can't hold: refused, and the swap in use stays exactly as it was.
            var huge = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot, swapSize: "9999G"), timeout: Bounded);
            Assert.NotEqual(0, huge.ExitCode);
            Assert.Contains("could not make a 9999G swap file at /swapfile-9999G", huge.Stderr, StringComparison.Ordinal);
            var after = await StateAsync();
            FactAssert.Equal(after,
                ("active", s["active"]),
                ("fstab", s["fstab"]),
                ("files", "/swapfile-128M;"));
        }
        finally
        {
            await box.RunAsync("bash -s", stdin: Restore);
        }
    }
}
