#!/usr/bin/env bash
# Host benchmark: what a person costs in memory on the sandbox devvm. Onboards 1, 5 and 10
# people (cumulatively), lets them go idle, and reads each person's cost two ways: their
# services' slice as the kernel counts it (MemoryCurrent: RSS, page cache and kernel memory
# charged to workstation-USER.slice) and the resident memory of their processes (ps RSS,
# summed; shared pages count once per process, so for chromium it overstates). Then one person
# browses: a real MCP session, chromium open on a page served in the box. Not a test: it prints markdown for docs/benchmarks.md,
# from which docs/capacity.md derives the default budgets and the ceiling.
#   sudo benchmarks/host-capacity.sh          (boots a fresh sandbox, powers it off at the end)
#   sizes: sudo benchmarks/host-capacity.sh 1 5 10 (the default); BENCH_SETTLE (default 20) seconds to settle.
# Every command line comes from the Roster CLI (benchmarks/lib.sh).
set -euo pipefail
# shellcheck source=benchmarks/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sizes=("$@")
((${#sizes[@]})) || sizes=(1 5 10)
settle=${BENCH_SETTLE:-20}
[[ "$settle" =~ ^[0-9]{1,3}$ ]] || { echo "bench: BENCH_SETTLE=$settle: 0-999 seconds" >&2; exit 2; }
bench_sizes 1 100 "${sizes[@]}"
bench_lines "${sizes[-1]}"
bench_up
box() { bench_box "$@"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

[[ "$(box 'systemctl show -p MemoryCurrent --value ssh.service')" =~ ^[0-9]+$ ]] ||
  { echo "the box's systemd has no memory controller: nothing to measure" >&2; exit 1; }

onboard() { # N: the account and services steps, as the program sends them (default power-user budget)
  box "${BENCH_LINE[account:$(bench_name "$1")]}" >/dev/null
  box "${BENCH_LINE[services:$(bench_name "$1")]}" >/dev/null
}
# slice_bytes N / rss_bytes N: one person's cost, the two ways.
slice_bytes() { box "systemctl show -p MemoryCurrent --value workstation-$(bench_name "$1").slice"; }
rss_bytes() { box "ps -u $(bench_name "$1") -o rss= | awk '{ s += \$1 } END { print s * 1024 }'"; }

measure() { # LABEL FIRST LAST
  local i s r smin="" smax=0 ssum=0 rsum=0 n=$(($3 - $2 + 1))
  for ((i = $2; i <= $3; i++)); do
    s=$(slice_bytes "$i")
    r=$(rss_bytes "$i")
    ssum=$((ssum + s)); rsum=$((rsum + r))
    ((s > smax)) && smax=$s
    [[ -n "$smin" ]] && ((s >= smin)) || smin=$s
  done
  printf '| %s | %d | %s | %s | %s | %s |\n' "$1" "$n" "$(mib $((ssum / n)))" "$(mib "$smin")" "$(mib "$smax")" "$(mib $((rsum / n)))"
}

echo "| state | people measured | slice MiB, mean | min | max | processes' RSS MiB, mean |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
onboarded=0
for target in "${sizes[@]}"; do
  for ((i = onboarded + 1; i <= target; i++)); do onboard "$i"; done
  onboarded=$target
  sleep "$settle" # let start-up settle: the idle cost is what stays
  measure "idle, $target onboarded" 1 "$target"
done

b1=$(bench_name 1) pw1=$((BENCH_PW_BASE + 1)) pages=24999 # the page server: a port of the bench range
# One person browsing: a real MCP session on person 1's port, chromium open on a page served in the box.
# shellcheck disable=SC2016 # expanded in the box
box 'set -e; mkdir -p /srv/pages; printf "<html><body><h1>bench</h1><p>%s</p></body></html>\n" "$(seq 1 2000 | tr "\n" " ")" >/srv/pages/p.html
  systemd-run --quiet --unit bench-pages -p DynamicUser=yes --working-directory=/srv/pages python3 -m http.server '"$pages"' --bind 127.0.0.1; sleep 1' >/dev/null
# The browser lives while the session does (playwright-mcp closes an idle one after a few
# seconds), so the cost is sampled right after the navigation, the highest of four samples.
# shellcheck disable=SC2016 # expanded in the box
out=$(box 'set -e; d=$(mktemp -d); chown '"$b1"' "$d"
  post() { runuser -u '"$b1"' -- curl -sS -m 60 -D "$d/h" -X POST http://127.0.0.1:'"$pw1"'/mcp -H "Content-Type: application/json" \
    -H "Accept: application/json, text/event-stream" ${1:+-H "mcp-session-id: $1"} -d "$2"; }
  post "" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}" >/dev/null
  sid=$(awk "tolower(\$1) == \"mcp-session-id:\" { print \$2 }" "$d/h" | tr -d "\r")
  post "$sid" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}" >/dev/null
  post "$sid" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"browser_navigate\",\"arguments\":{\"url\":\"http://127.0.0.1:'"$pages"'/p.html\"}}}" >/dev/null
  rm -rf "$d"; best=0; best_rss=0
  for _ in 1 2 3 4; do
    s=$(systemctl show -p MemoryCurrent --value workstation-'"$b1"'.slice)
    r=$(ps -u '"$b1"' -o rss= | awk "{ t += \$1 } END { print t * 1024 }")
    [ "$s" -gt "$best" ] && best=$s && best_rss=$r
    sleep 0.5
  done
  echo "$best $best_rss"')
read -r slice rss <<<"$out"
printf '| %s | %d | %s | %s | %s | %s |\n' "$b1 with one browsing session (chromium open)" 1 "$(mib "$slice")" "$(mib "$slice")" "$(mib "$slice")" "$(mib "$rss")"
echo
# shellcheck disable=SC2016 # expanded in the box
echo "box: $(box 'free -m | awk "/^Mem:/ { print \$3 \" MiB used of \" \$2 }"'); the t3 stand-in is \`sleep infinity\`."
bench_down
