namespace Workstation.Roster.Tests;

/// <summary>
/// A folder of stand-in programs put first on PATH for the script tests: each records its call
/// (program and arguments, tab-separated, one line) in <see cref="Calls"/> and answers like the
/// real one as far as the scripts need. Secrets are never recorded but where they really travel:
/// in arguments (the call line) or on stdin (a file per config key), so a test can tell which.
/// </summary>
internal sealed class StandIns : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("ws-standins-").FullName;

    public string Bin => Path.Combine(Dir, "bin");

    public string Calls => Path.Combine(Dir, "calls");

    public string State => Path.Combine(Dir, "state");

    public string Home => Path.Combine(Dir, "home");

    public StandIns()
    {
        Directory.CreateDirectory(Bin);
        Directory.CreateDirectory(State);
        Directory.CreateDirectory(Home);
        File.WriteAllText(Calls, "");
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    /// <summary>Writes an executable bash stand-in NAME whose body runs after the call is recorded.</summary>
    public void Add(string name, string body)
    {
        var path = Path.Combine(Bin, name);
        File.WriteAllText(path, $$"""
            #!/usr/bin/env bash
            set -euo pipefail
            { printf '%s' {{name}}; printf '\t%s' "$@"; printf '\n'; } >>"$WS_CALLS"
            {{body}}
            """ + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// `pulumi`: `version` says WS_PULUMI_VERSION; `config set` records each key (and, for a value
    /// on stdin, the value in stdin-KEY); `stack select [--create]` and `stack rm` keep the stacks;
    /// `preview` and `up` record the backend and whether a passphrase was there, stop like
    /// Pulumi's mergeConfig ("Stack 'X' is missing configuration value(s) ...") when a key listed
    /// in WS_STATE/required-STACK (computed by the test from Pulumi.yaml) was never set, and
    /// print a summary; `up` with the same config as the last one changes nothing.
    /// </summary>
    public void AddPulumi() => Add("pulumi", """
        state="$WS_STATE"
        if [[ -n "${WS_PULUMI_FAIL:-}" && "${1:-}" == "$WS_PULUMI_FAIL" ]]; then echo "error: stand-in $1 failed" >&2; exit 255; fi
        stack_of() { local a prev=""; for a in "$@"; do [[ "$prev" == --stack || "$prev" == -s ]] && { echo "$a"; return; }; prev="$a"; done; cat "$state/current" 2>/dev/null || true; }
        case "${1:-}" in
          version) echo "v$WS_PULUMI_VERSION" ;;
          login) echo "Logged in to stand-in" >&2; echo "${*: -1}" >"$state/backend" ;;
          install) echo "Installing dependencies..." >&2 ;;
          stack)
            stack="" prev=""
            for a in "$@"; do [[ "$prev" == --stack || "$prev" == -s ]] && stack="$a"; prev="$a"; done
            [[ -n "$stack" ]] || stack="${*: -1}"
            case "${2:-}" in
              select)
                if [[ -e "$state/stack-$stack" ]]; then :
                elif [[ " $* " == *" --create "* ]]; then touch "$state/stack-$stack"
                else echo "error: no stack named '$stack' found" >&2; exit 255; fi
                echo "$stack" >"$state/current" ;;
              rm) rm -f "$state/stack-$stack" "$state/last-up-$stack" ;;
            esac ;;
          config)
            [[ "${2:-}" == set ]] || exit 0
            shift 2
            stack="" secret=no pos=()
            while (($#)); do
              case "$1" in
                --stack | -s) stack="$2"; shift ;;
                --secret) secret=yes ;;
                --path | --plaintext | --non-interactive) ;;
                *) pos+=("$1") ;;
              esac
              shift
            done
            [[ -n "$stack" ]] || stack="$(cat "$state/current")"
            key="${pos[0]}"
            if ((${#pos[@]} == 2)); then value="${pos[1]}"; else value="$(cat)"; printf '%s' "$value" >"$state/stdin-$key"; fi
            printf '%s\t%s\n' "$secret" "$(printf '%s' "$value" | sha256sum | cut -c1-16)" >"$state/set-$stack-$key" ;;
          preview | up)
            stack="$(stack_of "$@")"
            printf 'env\tbackend=%s\tpassphrase=%s\tpassphrase_file=%s\n' "${PULUMI_BACKEND_URL:-$(cat "$state/backend" 2>/dev/null)}" \
              "$([[ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ]] && echo set || echo unset)" "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" >>"$WS_CALLS"
            [[ -e "$state/stack-$stack" ]] || { echo "error: no stack named '$stack' found" >&2; exit 255; }
            missing=()
            if [[ -f "$state/required-$stack" ]]; then
              while read -r key; do [[ -e "$state/set-$stack-$key" ]] || missing+=("$key"); done <"$state/required-$stack"
            fi
            if ((${#missing[@]})); then
              echo "error: Stack '$stack' is missing configuration value(s) ${missing[*]}" >&2
              exit 255
            fi
            config="$(cat "$state"/set-"$stack"-* 2>/dev/null | sha256sum | cut -c1-16)"
            echo "Previewing $1 ($stack):"
            echo "Resources:"
            if [[ "$1" == up && "$(cat "$state/last-up-$stack" 2>/dev/null)" == "$config" ]]; then
              echo "    41 unchanged"; printf 'result\tno-op\n' >>"$WS_CALLS"
            else
              echo "    + 1 to create"; echo "    40 unchanged"; printf 'result\tchanges\n' >>"$WS_CALLS"
            fi
            [[ "$1" != up ]] || echo "$config" >"$state/last-up-$stack" ;;
        esac
        """);

    /// <summary>A program that only records its call and succeeds.</summary>
    public void AddNoOp(params string[] names)
    {
        foreach (var n in names) Add(n, "exit 0");
    }

    /// <summary>The recorded calls: program, then arguments.</summary>
    public List<string[]> Recorded() =>
        File.ReadAllLines(Calls).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();

    /// <summary>The environment the stand-ins need, on top of a run's own: PATH first, the record file, a home of their own.</summary>
    public Dictionary<string, string?> Environment() => new(StringComparer.Ordinal)
    {
        ["PATH"] = Bin + ":" + System.Environment.GetEnvironmentVariable("PATH"),
        ["WS_CALLS"] = Calls,
        ["WS_STATE"] = State,
        ["HOME"] = Home,
    };

    /// <summary>Leaves out of a run whatever this machine's environment says about Pulumi or the workstation.</summary>
    public static void ClearInherited(Dictionary<string, string?> env)
    {
        foreach (var name in System.Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("PULUMI_", StringComparison.Ordinal) || name.StartsWith("WORKSTATION_", StringComparison.Ordinal) ||
                name.StartsWith("FORGE_", StringComparison.Ordinal) || name.StartsWith("SANDBOX_", StringComparison.Ordinal) ||
                name is "VAULT_TOKEN" or "KUBECONFIG" or "BASE_REF")
                env.TryAdd(name, null);
        }
    }
}
