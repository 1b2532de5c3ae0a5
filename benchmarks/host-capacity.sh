#!/usr/bin/env bash
# Host benchmark: what a person costs in memory on the sandbox devvm. Onboards 1, 5 and 10
# people (cumulatively), lets them go idle, and reads each person's cost two ways: their
# services' slice as the kernel counts it (MemoryCurrent: RSS, page cache and kernel memory
# charged to workstation-USER.slice) and the resident memory of their processes (ps RSS,
# summed; shared pages count once per process, so for chromium it overstates). Then one person
# browses: a real MCP session, chromium open on a page served in the box. Not a test: it prints markdown for docs/benchmarks.md,
# from which docs/capacity.md derives the default budgets and the ceiling.
#   sudo benchmarks/host-capacity.sh          (boots a fresh sandbox, powers it off at the end)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cli=/usr/local/lib/workstation/bin/workstation
[[ -n "${KEEP_BOX:-}" ]] || "$repo/scripts/sandbox.sh" down >/dev/null
"$repo/scripts/sandbox.sh" up >/dev/null
eval "$("$repo/scripts/sandbox.sh" env)"
known=$(mktemp)
trap 'rm -f "$known" "$known.bundle"' EXIT
echo "[$SANDBOX_SSH_HOST]:$SANDBOX_SSH_PORT $SANDBOX_HOST_KEY" >"$known"

box() { # COMMAND [STDIN]
  ssh -q -i "$SANDBOX_SSH_KEY" -p "$SANDBOX_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$known" "$SANDBOX_SSH_USER@$SANDBOX_SSH_HOST" "$1" <<<"${2:-}"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

tar -C "$repo" --owner=0 --group=0 -czf - host | base64 -w0 >"$known.bundle"
install=$(awk -F'\t' '$1 == "install" { print $2 }' "$repo/tests/golden/host-commands.txt")
box "$install" "$(cat "$known.bundle")" >/dev/null
box "$cli site apply --repo-url '' --oidc-issuer https://auth.example.test/ --oidc-client-id kubernetes \
  --cluster-name bench --cluster-server https://k8s.example.test:6443 --vault-addr https://vault.example.test \
  --t3-command '/usr/bin/sleep infinity' --admin bench-admin" >/dev/null
[[ "$(box 'systemctl show -p MemoryCurrent --value ssh.service')" =~ ^[0-9]+$ ]] ||
  { echo "the box's systemd has no memory controller: nothing to measure" >&2; exit 1; }

onboard() { # N: the three steps, as the program sends them (default power-user budget)
  box "$cli user account apply bench$1 --tier power-user --uid $((3100 + $1))" >/dev/null
  box "$cli user services apply bench$1 --t3-port $((5100 + $1)) --playwright-port $((5300 + $1)) \
    --memory-high 3G --memory-max 5G --cpu-weight 100 --tasks-max 4096" >/dev/null
}
# slice_bytes N / rss_bytes N: one person's cost, the two ways.
slice_bytes() { box "systemctl show -p MemoryCurrent --value workstation-bench$1.slice"; }
rss_bytes() { box "ps -u bench$1 -o rss= | awk '{ s += \$1 } END { print s * 1024 }'"; }

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
for target in 1 5 10; do
  for ((i = 1; i <= target; i++)); do onboard "$i"; done
  sleep 20 # let start-up settle: the idle cost is what stays
  measure "idle, $target onboarded" 1 "$target"
done

# One person browsing: a real MCP session on bench1's port, chromium open on a page served in the box.
# shellcheck disable=SC2016 # expanded in the box
box 'set -e; mkdir -p /srv/pages; printf "<html><body><h1>bench</h1><p>%s</p></body></html>\n" "$(seq 1 2000 | tr "\n" " ")" >/srv/pages/p.html
  systemd-run --quiet --unit bench-pages -p DynamicUser=yes --working-directory=/srv/pages python3 -m http.server 4601 --bind 127.0.0.1; sleep 1' >/dev/null
# The browser lives while the session does (playwright-mcp closes an idle one after a few
# seconds), so the cost is sampled right after the navigation, the highest of four samples.
# shellcheck disable=SC2016 # expanded in the box
read -r slice rss < <(box 'set -e; d=$(mktemp -d); chown bench1 "$d"
  post() { runuser -u bench1 -- curl -sS -m 60 -D "$d/h" -X POST http://127.0.0.1:5301/mcp -H "Content-Type: application/json" \
    -H "Accept: application/json, text/event-stream" ${1:+-H "mcp-session-id: $1"} -d "$2"; }
  post "" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}" >/dev/null
  sid=$(awk "tolower(\$1) == \"mcp-session-id:\" { print \$2 }" "$d/h" | tr -d "\r")
  post "$sid" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}" >/dev/null
  post "$sid" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"browser_navigate\",\"arguments\":{\"url\":\"http://127.0.0.1:4601/p.html\"}}}" >/dev/null
  rm -rf "$d"; best=0; best_rss=0
  for _ in 1 2 3 4; do
    s=$(systemctl show -p MemoryCurrent --value workstation-bench1.slice)
    r=$(ps -u bench1 -o rss= | awk "{ t += \$1 } END { print t * 1024 }")
    [ "$s" -gt "$best" ] && best=$s && best_rss=$r
    sleep 0.5
  done
  echo "$best $best_rss"')
printf '| %s | %d | %s | %s | %s | %s |\n' "bench1 with one browsing session (chromium open)" 1 "$(mib "$slice")" "$(mib "$slice")" "$(mib "$slice")" "$(mib "$rss")"
echo
# shellcheck disable=SC2016 # expanded in the box
echo "box: $(box 'free -m | awk "/^Mem:/ { print \$3 \" MiB used of \" \$2 }"'); the t3 stand-in is \`sleep infinity\`."
[[ -n "${KEEP_BOX:-}" ]] || "$repo/scripts/sandbox.sh" down >/dev/null
