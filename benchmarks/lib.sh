# shellcheck shell=bash
# lib.sh — what the host benchmarks share: a fresh sandbox devvm, host/ installed, the site
# values, and every command line they send. Those lines are never typed here: the Roster CLI
# prints them from a roster of bench people (`roster host-commands`, the function that also
# gives tests/golden/host-commands.txt), and the site line is the golden one. So a benchmark
# sends exactly what the Pulumi program sends, and fails when the host stops taking it.
# Bench people: uids 30000+, ports 20000-29999 (tests/ never use these).
# Environment: BENCH_HOST (default: the repo's host/) installs another copy of host/, e.g. an
# older revision's (`git archive REV host | tar -x -C DIR`, then BENCH_HOST=DIR/host), so
# before and after run the same benchmark; KEEP_BOX=1 leaves the box running at the end;
# BENCH_KEX: the SSH key exchange (bench_box); BENCH_NAGLE=1: OpenSSH's own client socket (bench_box).
# Sourced by the benchmarks after `set -euo pipefail`; sets repo, known, BENCH_TMP.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly BENCH_UID_BASE=30000 BENCH_T3_BASE=20000 BENCH_PW_BASE=25000
BENCH_TMP=$(mktemp -d)
trap 'rm -rf "$BENCH_TMP"' EXIT
known="$BENCH_TMP/known_hosts"
declare -gA BENCH_LINE=()

# bench_box COMMAND [STDIN]: one SSH session to the box as root, like one Pulumi remote Command.
# With the key exchange Pulumi's client makes: pulumi-command dials with golang.org/x/crypto/ssh's
# defaults, which have no sntrup761 (against Debian 12's sshd they give curve25519-sha256), where
# OpenSSH's client picks sntrup761x25519-sha512, whose key generation costs the client about
# 80 ms of CPU per session on the project's devvm kind (ten sessions: 0.93 s of user CPU
# against 0.10 s).
# BENCH_KEX=sntrup761x25519-sha512@openssh.com measures OpenSSH's default instead.
# And with its socket: Go's net package sets TCP_NODELAY on every TCP connection (newTCPConn,
# src/net/tcpsock.go), and pulumi-command v1.2.1 dials with ssh.Dial("tcp", ...)
# (provider/pkg/provider/remote/connection.go), with no pty. OpenSSH's client (9.2) sets it only
# once the channel is confirmed (ssh_session2_setup), after the key exchange and the login;
# a `socat ... ,nodelay` ProxyCommand gives its session Go's socket from the connect.
# BENCH_NAGLE=1 measures OpenSSH's own socket instead.
bench_box() {
  local -a proxy=(-o "ProxyCommand=socat - TCP4:%h:%p,nodelay")
  [[ -z "${BENCH_NAGLE:-}" ]] || proxy=()
  ssh -q -i "$SANDBOX_SSH_KEY" -p "$SANDBOX_SSH_PORT" "${proxy[@]}" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o KexAlgorithms="${BENCH_KEX:-curve25519-sha256}" \
    -o UserKnownHostsFile="$known" "$SANDBOX_SSH_USER@$SANDBOX_SSH_HOST" "$1" <<<"${2:-}"
}

# bench_sizes MIN MAX SIZE...: the sizes given, each a whole number from MIN to MAX, increasing (exit 2 otherwise).
bench_sizes() {
  local min=$1 max=$2 size prev=0
  shift 2
  for size in "$@"; do
    if [[ ! "$size" =~ ^[0-9]+$ ]] || ((size <= prev || size < min || size > max)); then
      echo "bench: sizes must increase, from $min to $max: $size" >&2
      exit 2
    fi
    prev=$size
  done
}

# bench_name N: bench person N's account name (p001, p002, ...).
bench_name() { printf 'p%03d' "$1"; }

# bench_roster MAX: a roster of bench people 1..MAX (power users, the default budget) and the
# golden site line's admin, with uids and ports of the bench ranges.
bench_roster() {
  local i name
  printf 'settings:\n  t3_base_port: %d\n  playwright_base_port: %d\n' "$BENCH_T3_BASE" "$BENCH_PW_BASE"
  printf 'admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: %d\n  ports: { t3: %d, playwright: %d }\n' \
    "$BENCH_UID_BASE" "$BENCH_T3_BASE" "$BENCH_PW_BASE"
  printf 'users:\n'
  for ((i = 1; i <= $1; i++)); do
    name=$(bench_name "$i")
    printf '  %s:\n    authentik_user: %s.bench\n    k8s_user: %s\n    email: %s@example.test\n    tier: power-user\n' \
      "$name" "$name" "$name" "$name"
    printf '    uid: %d\n    ports: { t3: %d, playwright: %d }\n' $((BENCH_UID_BASE + i)) $((BENCH_T3_BASE + i)) $((BENCH_PW_BASE + i))
  done
}

# bench_lines MAX: BENCH_LINE[KEY] for every line the program sends for bench people 1..MAX
# (install, account:pNNN, code:pNNN, services:pNNN, ...), from the Roster CLI; plus
# BENCH_LINE[site], the golden file's site line.
bench_lines() {
  local key command
  bench_roster "$1" >"$BENCH_TMP/roster.yaml"
  dotnet run --project "$repo/Roster" -v q -- host-commands "$BENCH_TMP/roster.yaml" >"$BENCH_TMP/lines" ||
    { echo "bench: roster host-commands failed" >&2; return 1; }
  while IFS=$'\t' read -r key command; do
    [[ -n "$key" && -n "$command" ]] && BENCH_LINE[$key]=$command
  done <"$BENCH_TMP/lines"
  BENCH_LINE[site]=$(awk -F'\t' '$1 == "site" { print $2 }' "$repo/tests/golden/host-commands.txt")
  local want
  for want in install site "account:$(bench_name "$1")" "code:$(bench_name "$1")" "services:$(bench_name "$1")"; do
    [[ -n "${BENCH_LINE[$want]:-}" ]] || { echo "bench: no '$want' line from roster host-commands or the golden file" >&2; return 1; }
  done
}

# bench_up: a fresh box (or the running one with KEEP_BOX=1), host/ installed, the golden site
# line's repository and values.
bench_up() {
  local host=${BENCH_HOST:-$repo/host}
  [[ "$(basename "$host")" == host && -x "$host/install.sh" ]] || { echo "bench: BENCH_HOST=$host is not a host/ folder" >&2; return 1; }
  [[ -n "${KEEP_BOX:-}" ]] || "$repo/scripts/sandbox.sh" down >/dev/null
  "$repo/scripts/sandbox.sh" up >/dev/null
  eval "$("$repo/scripts/sandbox.sh" env)"
  echo "[$SANDBOX_SSH_HOST]:$SANDBOX_SSH_PORT $SANDBOX_HOST_KEY" >"$known"
  tar -C "$(dirname "$host")" --owner=0 --group=0 -czf - host | base64 -w0 >"$BENCH_TMP/bundle"
  bench_box "${BENCH_LINE[install]}" "$(cat "$BENCH_TMP/bundle")" >/dev/null
  # The repository the golden site line names (file:///...): a plain one-commit repository.
  local r
  r=$(awk '{ for (i = 1; i < NF; i++) if ($i == "--repo-url") print $(i + 1) }' <<<"${BENCH_LINE[site]}")
  [[ "$r" =~ ^file:///[A-Za-z0-9/._-]+$ ]] || { echo "bench: the golden site line's --repo-url is not a file:/// path: $r" >&2; return 1; }
  # shellcheck disable=SC2016 # expanded by the shell in the box
  bench_box 'set -e; r='"${r#file://}"'
    if [ ! -d "$r" ]; then d=$(mktemp -d); git -C "$d" init -q -b main; echo bench >"$d/README.md"; git -C "$d" add -A
      git -C "$d" -c user.name=b -c user.email=b@example.test commit -qm init; mkdir -p "${r%/*}"; git clone -q --bare "$d" "$r"
      chmod -R a+rX "$r"; rm -rf "$d"; fi
    git config --system --get-all safe.directory | grep -qx "$r" || git config --system --add safe.directory "$r"' >/dev/null
  bench_box "${BENCH_LINE[site]}" >/dev/null
}

bench_down() { [[ -n "${KEEP_BOX:-}" ]] || "$repo/scripts/sandbox.sh" down >/dev/null; }

# bench_timed LINE: runs LINE in one SSH session; prints "SECONDS CPU_SECONDS CHANGES": the
# step's own wall time and its processes' CPU time (user + system of the CLI and what it
# waited for; not systemd's), both measured in the box (CPU time says more than wall time
# on a busy machine), and its `changed:` lines. Fails when LINE does.
bench_timed() {
  local out
  # shellcheck disable=SC2016 # expanded by the shell in the box
  out=$(bench_box 's=$(date +%s%N); '"$1"'; rc=$?; echo "bench-ns $(($(date +%s%N) - s))"; echo bench-times; times; exit $rc' 2>&1) ||
    { printf '%s\n' "$out" | tail -n 5 >&2; echo "bench: failed: $1" >&2; return 1; }
  # `times` prints the shell's own user and system time, then those of its children (the step).
  awk '$1 == "bench-ns" { wall = $2 / 1e9 }
    $1 == "bench-times" { at = NR }
    at && NR == at + 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); cpu += t[1] * 60 + t[2] } }
    /changed:/ { changes++ }
    END { printf "%.3f %.3f %d\n", wall, cpu, changes }' <<<"$out"
}

# bench_median X...: the median of the numbers (the lower middle of an even count).
bench_median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench_settle: waits (at most 180 s) until the box is quiet: under 10% of its CPU busy over
# a second (/proc/stat). People just onboarded start their servers (a playwright server costs
# about 1 s of CPU to start); a step timed meanwhile measures their start-up, not itself.
# Prints the seconds it waited.
bench_settle() {
  # shellcheck disable=SC2016 # expanded by the shell in the box
  bench_box 'start=$(date +%s)
    busy() { read -r _ u n s i w q sq st _ </proc/stat; echo $((u + n + s + q + sq + st)) $((u + n + s + q + sq + st + i + w)); }
    while :; do
      read -r b0 t0 < <(busy); sleep 1; read -r b1 t1 < <(busy)
      (( (b1 - b0) * 10 < t1 - t0 || $(date +%s) - start >= 180 )) && break
    done
    echo $(($(date +%s) - start))'
}

# bench_mem_check GIB: stops the benchmark when the box has less than GIB GiB available.
bench_mem_check() {
  local kib
  kib=$(bench_box "awk '\$1 == \"MemAvailable:\" { print \$2 }' /proc/meminfo")
  ((kib >= $1 * 1024 * 1024)) || { echo "bench: only $((kib / 1024)) MiB available in the box: stopped" >&2; return 1; }
}
