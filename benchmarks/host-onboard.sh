#!/usr/bin/env bash
# Host benchmark: time and SSH sessions to onboard 1 and 10 users on the sandbox
# devvm, and the cost of an idempotent re-apply. Not a test: it prints a markdown
# table for docs/benchmarks.md.
#   sudo benchmarks/host-onboard.sh          (boots a fresh sandbox, powers it off at the end)
# SSH sessions are counted by the box's sshd ("Accepted publickey" in its journal), so the
# count is what the host saw, not what this script thinks it opened.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cli=/usr/local/lib/workstation/bin/workstation
"$repo/scripts/sandbox.sh" down >/dev/null # start from a clean box
"$repo/scripts/sandbox.sh" up >/dev/null
eval "$("$repo/scripts/sandbox.sh" env)"
known=$(mktemp)
trap 'rm -f "$known" "$known.bundle"' EXIT
echo "[$SANDBOX_SSH_HOST]:$SANDBOX_SSH_PORT $SANDBOX_HOST_KEY" >"$known"

box() { # COMMAND [STDIN]: one SSH session, like one Pulumi remote Command
  ssh -q -i "$SANDBOX_SSH_KEY" -p "$SANDBOX_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$known" "$SANDBOX_SSH_USER@$SANDBOX_SSH_HOST" "$1" <<<"${2:-}"
}
now_ms() { date +%s%3N; }
# Sessions sshd accepted so far, this query's own session included.
accepted() { box "journalctl -u ssh.service -o cat | grep -c 'Accepted publickey'"; }

# Once per host, shared by every user: install, a plain fixture repo, the site values.
tar -C "$repo" --owner=0 --group=0 -czf - host | base64 -w0 >"$known.bundle"
# The same install line the Pulumi base component runs (the golden file is its single spelling).
install=$(awk -F'\t' '$1 == "install" { print $2 }' "$repo/tests/golden/host-commands.txt")
box "$install" "$(cat "$known.bundle")" >/dev/null
rm -f "$known.bundle"
# shellcheck disable=SC2016 # expanded by the shell in the box, not here
box 'set -e; if [ ! -d /srv/bench.git ]; then d=$(mktemp -d); git -C "$d" init -q -b main;
  echo bench >"$d/README.md"; git -C "$d" add -A; git -C "$d" -c user.name=b -c user.email=b@example.test commit -qm init;
  git clone -q --bare "$d" /srv/bench.git; chmod -R a+rX /srv/bench.git; rm -rf "$d"; fi
  git config --system --get-all safe.directory | grep -qx /srv/bench.git || git config --system --add safe.directory /srv/bench.git' >/dev/null
box "$cli site apply --repo-url file:///srv/bench.git --oidc-issuer https://auth.example.test/ --oidc-client-id kubernetes \
  --cluster-name bench --cluster-server https://k8s.example.test:6443 --vault-addr https://vault.example.test \
  --t3-command '/usr/bin/sleep infinity' --admin bench-admin" >/dev/null

# The create/update lines of bench user N's three steps, in the order Pulumi runs them
# (the shape of tests/golden/host-commands.txt): one SSH session each.
steps() { # N
  echo "$cli user account apply bench$1 --tier power-user --uid $((3100 + $1))"
  echo "$cli user code apply bench$1"
  echo "$cli user services apply bench$1 --t3-port $((5100 + $1)) --playwright-port $((5300 + $1))" \
    "--memory-high 3G --memory-max 5G --cpu-weight 100 --tasks-max 4096 --token-stdin"
}

echo "| step | users | wall time (s) | per user (s) | SSH sessions | sessions per user | changes reported |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
run() { # LABEL FIRST LAST
  local label=$1 first=$2 last=$3 n=$(($3 - $2 + 1)) start before changes=0 out i
  before=$(accepted)
  start=$(now_ms)
  local line
  for ((i = first; i <= last; i++)); do
    while IFS= read -r line; do
      out=$(box "$line" "bench-token-$i")
      changes=$((changes + $(grep -c 'changed:' <<<"$out" || true)))
    done < <(steps "$i")
  done
  local ms=$(($(now_ms) - start))
  local s=$(($(accepted) - before - 1)) # minus the counting query's own session
  printf '| %s | %d | %d.%03d | %s | %d | %s | %d |\n' "$label" "$n" $((ms / 1000)) $((ms % 1000)) \
    "$(awk -v m="$ms" -v n="$n" 'BEGIN{printf "%.2f", m/n/1000}')" "$s" \
    "$(awk -v s="$s" -v n="$n" 'BEGIN{printf "%.1f", s/n}')" "$changes"
}
run "onboard from empty" 1 1
run "onboard from empty" 2 11
run "idempotent re-apply" 1 11
"$repo/scripts/sandbox.sh" down >/dev/null
