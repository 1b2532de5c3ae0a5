#!/usr/bin/env bash
# Host benchmark: onboarding N people on one host against the same N spread over two hosts
# (issue 27 §6: two hosts take at most 0.6× the time of one). Not a test: it prints a
# markdown table for docs/benchmarks.md.
#   sudo benchmarks/host-fleet.sh [N]     (default 10; even, 2-40; boots two named sandbox boxes, powers them off at the end)
# Each person's three steps (account, code, services) run one after another in SSH sessions of
# their own, as the program sends them, and every person's chain starts at once, as `pulumi up`
# starts independent resources together. One host: people 1..N on box A. Then A is booted
# fresh, and people 1..N/2 go to A while N/2+1..N go to box B, at the same time. The time is
# the wall time from the first step's start to the last step's end, measured here; booting,
# installing host/ and the site step are not in it. Two real devvms have CPUs of their own; on
# one machine, each box runs on a CPU of its own (box A on CPU 0, box B on CPU 1: nspawn's
# --cpu-affinity through SANDBOX_CPUS), so one host has one CPU in both runs and the fleet
# two. BENCH_FLEET_SHARED=1 lets both boxes use every CPU instead (what a shared machine
# gives: the boxes then compete, and the ratio says little about two devvms).
# BENCH_FLEET_PORT (default 2241): box A's SSH port, box B's the next.
set -euo pipefail
# shellcheck source=benchmarks/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

people=${1:-10}
if [[ ! "$people" =~ ^[0-9]{1,2}$ ]] || ((people < 2 || people > 40 || people % 2)); then
  echo "bench: N must be an even number from 2 to 40, not '$people'" >&2
  exit 2
fi
port=${BENCH_FLEET_PORT:-2241}
if [[ ! "$port" =~ ^[1-9][0-9]{3,4}$ ]] || ((port >= 65535)); then
  echo "bench: BENCH_FLEET_PORT must be a port from 1000 to 65534, not '$port'" >&2
  exit 2
fi
if [[ -z "${BENCH_FLEET_SHARED:-}" ]] && (($(nproc) < 2)); then
  echo "bench: a CPU for each box needs 2 CPUs; this machine has $(nproc) (BENCH_FLEET_SHARED=1 shares them)" >&2
  exit 2
fi
bench_lines "$people"
boxes=(bench-fleet-a bench-fleet-b)
tmp=$BENCH_TMP
# Both boxes are powered off however the benchmark ends.
trap 'for i in 0 1; do on_box "$i" "$repo/scripts/sandbox.sh" down >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT

# on_box I COMMAND...: COMMAND with box I's sandbox name, port, SSH values and known hosts file
# (its own, so the two boxes' runs never share one).
on_box() {
  local i=$1
  shift
  (
    export SANDBOX_NAME="${boxes[i]}" SANDBOX_SSH_PORT=$((port + i))
    if [[ -z "${BENCH_FLEET_SHARED:-}" ]]; then export SANDBOX_CPUS="$i"; fi
    known="$tmp/known-${boxes[i]}"
    if [[ "$1" != bench_up && "$1" != bench_down ]]; then eval "$("$repo/scripts/sandbox.sh" env)"; fi
    "$@"
  )
}

# box_up I: box I fresh (down first, whatever KEEP_BOX says: each phase starts clean), host/ and the site installed.
box_up() {
  local bundle_dir="$tmp/${boxes[$1]}"
  mkdir -p "$bundle_dir"
  BENCH_TMP="$bundle_dir" KEEP_BOX='' on_box "$1" bench_up
}

# chain NAME: person NAME's three steps, one SSH session each.
chain() {
  local step
  for step in account code services; do
    bench_box "${BENCH_LINE[$step:$1]}" >/dev/null 2>"$BENCH_TMP/err-$1" || { echo "bench: $step step of $1 failed:" >&2; tail -n 5 "$BENCH_TMP/err-$1" >&2; return 1; }
  done
}

# onboard I FIRST LAST: people FIRST..LAST on box I, every chain at once; fails when one does.
onboard() {
  local i=$1 n pids=() rc=0
  for ((n = $2; n <= $3; n++)); do
    on_box "$i" chain "$(bench_name "$n")" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  return "$rc"
}

now() { date +%s%N; }
seconds() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e9 }'; }

box_up 0
start=$(now)
onboard 0 1 "$people"
one=$(($(now) - start))

box_up 0 &
box_up 1
wait $!
start=$(now)
onboard 0 1 $((people / 2)) &
a=$!
onboard 1 $((people / 2 + 1)) "$people" || { wait "$a" || true; echo "bench: onboarding on box B failed" >&2; exit 1; }
wait "$a" || { echo "bench: onboarding on box A failed" >&2; exit 1; }
two=$(($(now) - start))

echo "| people | one host | two hosts (half each, at once) | two / one |"
echo "| ---: | ---: | ---: | ---: |"
printf '| %d | %s s | %s s | %s |\n' "$people" "$(seconds "$one")" "$(seconds "$two")" "$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')"
echo
if [[ -n "${BENCH_FLEET_SHARED:-}" ]]; then cpus="both boxes on all of this machine's $(nproc) CPUs"; else cpus="box A on CPU 0, box B on CPU 1 (of $(nproc))"; fi
echo "$people people; $cpus; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
