#!/usr/bin/env bash
# The test command: runs every test layer that can run on this machine.
#   1. roster unit tests                     (always)
#   2. host checks: shellcheck, yamllint of the pipeline files, host tests (root: they boot a sandbox devvm)
#   3. Pulumi mock tests                     (wherever the Pulumi packages and the Authentik SDK restore)
# Environment:
#   WORKSTATION_NUGET_FEED     extra NuGet feed holding the Pulumi packages
#                              (default: /var/cache/workstation/pulumi-feed when it exists)
#   WORKSTATION_AUTHENTIK_SDK  folder of the generated Pulumi.Authentik SDK
#                              (default: sdks/authentik from `pulumi install`, else
#                              /var/cache/workstation/sdks/authentik when it exists)
#   WORKSTATION_SKIP_HOST=1    skip the host tests (they take minutes)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
passed=0
failed=0
skipped=0
status=0

say() { printf '\n== %s\n' "$*"; }

# Runs one test project; adds its counts to the totals. Extra args go to dotnet test.
run_tests() {
  local project=$1 log
  shift
  log="$results/$(basename "$project").log"
  if dotnet test "$project" --nologo -v q --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"; then :; else status=1; fi
  # dotnet test summary: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
  local line
  line=$(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -n 1 || true)
  if [[ -z "$line" ]]; then
    echo "test.sh: no test summary from $project" >&2
    status=1
    failed=$((failed + 1))
    return
  fi
  local f p s
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
  p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

# slowest_classes TRX N: the N test classes of a trx log that took longest, each with the
# sum of its tests' durations and their count (where the host layer's time goes).
slowest_classes() {
  if [[ ! -f "$1" ]]; then
    echo "test.sh: no trx log at $1: no timings" >&2
    return 0
  fi
  { grep -o '<UnitTestResult [^>]*>' "$1" || true; } | awk '
    {
      name = ""; d = ""
      if (match($0, / testName="[^"]*"/)) name = substr($0, RSTART + 11, RLENGTH - 12)
      if (match($0, / duration="[^"]*"/)) d = substr($0, RSTART + 11, RLENGTH - 12)
      if (name == "" || d == "") next
      sub(/\(.*/, "", name); sub(/\.[^.]*$/, "", name); sub(/^.*\./, "", name)
      split(d, t, ":")
      secs[name] += t[1] * 3600 + t[2] * 60 + t[3]; tests[name]++
    }
    END { for (c in secs) printf "%8.1f  %3d tests  %s\n", secs[c], tests[c], c }' | sort -rn | awk -v n="$2" 'NR <= n'  # (no head: under pipefail its early exit may fail sort)
}

# collection_walls TRX: each host test collection's wall time (its first test's start to its
# last test's end; the shards run at the same time), from a trx log and the [Collection(...)]
# attribute above each test class.
collection_walls() {
  [[ -f "$1" ]] || return 0
  local map
  map=$(
    # "Const class display name" (SandboxFixture.cs), then "test class Const" (every test file).
    awk 'match($0, /class [A-Za-z0-9_]+ : ICollectionFixture/) { c = substr($0, RSTART + 6); sub(/ .*/, "", c) }
      c != "" && match($0, /const string Name = "[^"]*"/) { n = substr($0, RSTART + 21, RLENGTH - 22); print "name", c, n; c = "" }' \
      tests/Host.Tests/SandboxFixture.cs | sed 's/^name \([^ ]*\) /name \1\t/'
    awk 'match($0, /\[Collection\([A-Za-z0-9_]+\.Name\)\]/) { c = substr($0, RSTART + 12, RLENGTH - 19); next }
      c != "" && match($0, /class [A-Za-z0-9_]+/) { print "class", substr($0, RSTART + 6, RLENGTH - 6), c; c = "" }' tests/Host.Tests/*.cs
  )
  { echo "$map"; echo "--trx--"; grep -o '<UnitTestResult [^>]*>' "$1" || true; } | awk '
    # Seconds since 1970 of "YYYY-MM-DDTHH:MM:SS.fff...": days from the civil date, then the time of day.
    function secs(t,   y, m, d, era, yoe, doy, doe) {
      y = substr(t, 1, 4) + 0; m = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
      if (m <= 2) y--
      era = int(y / 400); yoe = y - era * 400
      doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      return (era * 146097 + doe - 719468) * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18)
    }
    $0 == "--trx--" { trx = 1; next }
    !trx && $1 == "name" { split($0, p, "\t"); sub(/^name /, "", p[1]); display[p[1]] = p[2]; next }
    !trx && $1 == "class" { coll[$2] = $3; next }
    trx {
      name = ""; st = ""; en = ""
      if (match($0, / testName="[^"]*"/)) name = substr($0, RSTART + 11, RLENGTH - 12)
      if (match($0, / startTime="[^"]*"/)) st = substr($0, RSTART + 12, RLENGTH - 13)
      if (match($0, / endTime="[^"]*"/)) en = substr($0, RSTART + 10, RLENGTH - 11)
      if (name == "" || st == "" || en == "") next
      sub(/\(.*/, "", name); sub(/\.[^.]*$/, "", name); sub(/^.*\./, "", name)
      c = (name in coll) ? coll[name] : "?"
      c = (c in display) ? display[c] : c
      a = secs(st); b = secs(en)
      if (!(c in lo) || a < lo[c]) lo[c] = a
      if (!(c in hi) || b > hi[c]) hi[c] = b
      if (!((c, name) in seen)) { seen[c, name] = 1; classes[c]++ }
    }
    END { for (c in lo) { w = int(hi[c] - lo[c] + 0.5); printf "%5dm%02ds  %3d classes  %s\n", w / 60, w % 60, classes[c], c } }' | sort -k4
}

# Installs Debian packages that a layer needs, when we are root and they are missing.
need_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: missing Debian packages: ${missing[*]} (install them, or run as root)" >&2
    return 1
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

say "Layer 1: roster engine"
# The pipeline script's test runs scripts/ci.sh, which needs curl and jq.
need_debs curl jq || status=1
run_tests tests/Roster.Tests

say "Layer 2: host scripts"
need_debs shellcheck
# Scripts (a bash shebang) and sourced files (a "# shellcheck shell=" first line).
mapfile -t shell_files < <(git ls-files -co --exclude-standard -- 'host/*' 'scripts/*' 'benchmarks/*' '.ci/run' |
  while read -r f; do [[ -f "$f" ]] && head -n 1 "$f" | grep -qE '^(#!.*bash|# shellcheck shell=(ba)?sh$)' && echo "$f"; done)
if shellcheck -x -S style "${shell_files[@]}"; then
  echo "shellcheck: ${#shell_files[@]} files clean"
else
  status=1
  failed=$((failed + 1))
fi
# The pipeline files (.woodpecker, .github/workflows): yamllint with the repo's .yamllint.
mapfile -t yaml_files < <(git ls-files -co --exclude-standard -- '.woodpecker/*' '.github/workflows/*')
if ! need_debs yamllint; then
  echo "test.sh: yamllint could not be installed; the pipeline files were not linted" >&2
  status=1
  failed=$((failed + 1))
elif yamllint -s "${yaml_files[@]}"; then
  echo "yamllint: ${#yaml_files[@]} pipeline files clean"
else
  status=1
  failed=$((failed + 1))
fi
if [[ "${WORKSTATION_SKIP_HOST:-}" == 1 ]]; then
  echo "Host tests skipped: WORKSTATION_SKIP_HOST=1."
elif [[ $(id -u) -ne 0 ]]; then
  echo "Host tests skipped: they boot a systemd-nspawn sandbox and need root (run: sudo scripts/test.sh)."
else
  # promtool (Debian's prometheus package) checks the pressure sample's metrics.
  need_debs prometheus || status=1
  host_started=$SECONDS
  run_tests tests/Host.Tests --logger "trx;LogFileName=$results/host.trx"
  host_seconds=$((SECONDS - host_started))
  printf 'Host tests took %dm%02ds. The 10 slowest classes (seconds, the sum of their tests):\n' $((host_seconds / 60)) $((host_seconds % 60))
  slowest_classes "$results/host.trx" 10
  echo "Each collection's wall time (the shards run at the same time, each on its own box):"
  collection_walls "$results/host.trx"
  # Each host benchmark once at its smallest size, as a smoke test: their command lines come
  # from the Roster CLI, so a host that stops taking what the program sends fails here.
  for bench in "host-onboard.sh 2" "host-capacity.sh 1" "host-fleet.sh 2"; do
    read -ra bench_args <<<"$bench"
    if BENCH_RUNS=1 BENCH_SETTLE=0 "benchmarks/${bench_args[0]}" "${bench_args[@]:1}" >"$results/bench.log" 2>&1; then
      echo "benchmark smoke: $bench: ok"
    else
      cat "$results/bench.log" >&2
      echo "benchmark smoke: $bench: failed" >&2
      status=1
      failed=$((failed + 1))
    fi
  done
fi

say "Layer 3: Pulumi program (mocks)"
feed=${WORKSTATION_NUGET_FEED:-}
[[ -z "$feed" && -d /var/cache/workstation/pulumi-feed ]] && feed=/var/cache/workstation/pulumi-feed
sdk=${WORKSTATION_AUTHENTIK_SDK:-$repo/sdks/authentik}
[[ -z "${WORKSTATION_AUTHENTIK_SDK:-}" && ! -e "$sdk" && -d /var/cache/workstation/sdks/authentik ]] &&
  sdk=/var/cache/workstation/sdks/authentik
pulumi_args=("-p:AuthentikSdkDir=$sdk")
[[ -n "$feed" ]] && pulumi_args+=("-p:RestoreAdditionalProjectSources=$feed")
if [[ ! -f "$sdk/Pulumi.Authentik.csproj" ]]; then
  echo "Pulumi layer skipped: the generated Authentik SDK is missing ($sdk/Pulumi.Authentik.csproj); run 'pulumi install' or set WORKSTATION_AUTHENTIK_SDK."
elif ! dotnet restore tests/Workstation.Tests "${pulumi_args[@]}" >"$results/restore.log" 2>&1; then
  why=$(grep -oE 'NU1101: Unable to find package [^ ]+' "$results/restore.log" | sort -u | sed 's/NU1101: Unable to find package //' | paste -sd, - || true)
  if [[ -n "$why" ]]; then
    echo "Pulumi layer skipped: the Pulumi packages don't restore here (not found: $why; feed: ${feed:-none}); set WORKSTATION_NUGET_FEED to a feed that has them."
  else
    cat "$results/restore.log" >&2
    echo "test.sh: restoring the Pulumi tests failed for another reason (above)" >&2
    status=1
  fi
else
  run_tests tests/Workstation.Tests --no-restore "${pulumi_args[@]}"
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
