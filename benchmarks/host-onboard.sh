#!/usr/bin/env bash
# Host benchmark: what a person's host steps cost with 2, 30 and 100 people on the sandbox
# devvm (issue 26 §8's goals: the services step costs the same at every size, at most 1 s
# cold and 0.3 s as a no-op; a no-op re-run of a person's three steps at most 1 s in all,
# SSH included). Not a test: it prints a markdown table for docs/benchmarks.md.
#   sudo benchmarks/host-onboard.sh [SIZE...]     (default 2 30 100; boots a fresh sandbox, powers it off at the end)
# At each size (people on the box, increasing): people are onboarded up to one below it
# (account and services steps; their units run), then person SIZE is onboarded and timed:
# account, code and services cold, the services step again as a no-op, and the three steps
# re-run as a no-op, each in its own SSH session as the program sends them; beside it, three
# SSH sessions of `true` (what SSH alone costs the re-run). Before the cold steps and again
# before the no-ops the box is let settle (bench_settle: the servers just started cost CPU for
# a while, as they would on the devvm right after an up). Step times are measured in the box;
# the re-run's and the bare sessions' are wall times here. A no-op that reports a change fails
# the benchmark. BENCH_RUNS (default 5): no-op runs per size (the
# median is printed). Every command line comes from the Roster CLI (benchmarks/lib.sh).
set -euo pipefail
# shellcheck source=benchmarks/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sizes=("$@")
((${#sizes[@]})) || sizes=(2 30 100)
runs=${BENCH_RUNS:-5}
[[ "$runs" =~ ^[1-9][0-9]?$ ]] || { echo "bench: BENCH_RUNS=$runs: 1-99" >&2; exit 2; }
bench_sizes 2 1000 "${sizes[@]}"
bench_lines "${sizes[-1]}"
bench_up
load_start=$(bench_box 'cut -d" " -f1-3 /proc/loadavg')

# fill FIRST LAST: bench people FIRST..LAST get their account and services steps, ten to an SSH session.
fill() {
  local i batch="" n=0 out
  for ((i = $1; i <= $2; i++)); do
    batch+="${BENCH_LINE[account:$(bench_name "$i")]} && ${BENCH_LINE[services:$(bench_name "$i")]} && "
    n=$((n + 1))
    if ((n == 10 || i == $2)); then
      bench_mem_check 2
      out=$(bench_box "${batch}true" 2>&1) || { printf '%s\n' "$out" | tail -n 5 >&2; echo "bench: onboarding people up to $(bench_name "$i") failed" >&2; return 1; }
      batch="" n=0
    fi
  done
}

# noop LINE: LINE as a no-op (no change reported): "WALL CPU", in-box seconds.
noop() {
  local out t cpu c
  out=$(bench_timed "$1")
  read -r t cpu c <<<"$out"
  ((c == 0)) || { echo "bench: a no-op reported $c change(s): $1" >&2; return 1; }
  echo "$t $cpu"
}

# cell "WALL CPU"...: the medians, as "WALL (CPU)".
cell() {
  local -a walls=() cpus=()
  local w c
  for w in "$@"; do
    read -r w c <<<"$w"
    walls+=("$w") cpus+=("$c")
  done
  printf '%s (%s)' "$(bench_median "${walls[@]}")" "$(bench_median "${cpus[@]}")"
}

# since NS: the seconds since NS (date +%s%N), three decimals.
since() { awk -v ns=$(($(date +%s%N) - $1)) 'BEGIN { printf "%.3f", ns / 1e9 }'; }

echo "| people on the box | account, cold | code, cold | services, cold | account, no-op | code, no-op | services, no-op | three steps, no-op, SSH included | three SSH sessions of \`true\` |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
filled=0
settled=()
for size in "${sizes[@]}"; do
  ((size - 1 <= filled)) || fill $((filled + 1)) $((size - 1))
  settled+=("$(bench_settle)")
  me=$(bench_name "$size")
  account=$(bench_timed "${BENCH_LINE[account:$me]}")
  code=$(bench_timed "${BENCH_LINE[code:$me]}")
  services=$(bench_timed "${BENCH_LINE[services:$me]}")
  # Their own servers start now: the no-ops are timed once that is over.
  settled+=("$(bench_settle)")
  quiet=() again=() acct_noop=() code_noop=() bare=()
  for ((r = 0; r < runs; r++)); do
    quiet+=("$(noop "${BENCH_LINE[services:$me]}")")
  done
  for ((r = 0; r < runs; r++)); do
    start=$(date +%s%N)
    acct_noop+=("$(noop "${BENCH_LINE[account:$me]}")")
    code_noop+=("$(noop "${BENCH_LINE[code:$me]}")")
    noop "${BENCH_LINE[services:$me]}" >/dev/null
    again+=("$(since "$start")")
    start=$(date +%s%N)
    bench_box true && bench_box true && bench_box true
    bare+=("$(since "$start")")
  done
  printf '| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$(cell "${account% *}")" "$(cell "${code% *}")" "$(cell "${services% *}")" \
    "$(cell "${acct_noop[@]}")" "$(cell "${code_noop[@]}")" "$(cell "${quiet[@]}")" "$(bench_median "${again[@]}")" "$(bench_median "${bare[@]}")"
  filled=$size
done
echo
echo "Seconds: wall time (CPU time of the step's processes); the three steps' re-run and the bare sessions: wall time of the three SSH sessions."
echo "Seconds the box took to settle (bench_settle), before each size's cold steps and before its no-ops: ${settled[*]}."
echo "No-op figures: the median of $runs runs. host/: ${BENCH_HOST:-$repo/host}; load average at the start: $load_start, at the end: $(bench_box 'cut -d" " -f1-3 /proc/loadavg')"
bench_down
