#!/usr/bin/env bash
# sandbox.sh — a disposable devvm: a Debian rootfs built by debootstrap from
# host/packages.txt + host/npm-packages.txt, booted by systemd-nspawn (systemd is
# PID 1) in a network namespace of its own, and reachable over SSH on this
# machine's 127.0.0.1 only (a socat forwarder into the namespace's loopback).
# The box's firewall and ports are its own: nothing it does reaches this
# machine's firewall, routes or loopback ports (but the SSH one).
# On a cgroup v1 machine the box's systemd also gets a writable memory
# controller, inside this machine's cgroup of the box only, so the memory limits
# of people's slices are enforced in it as on the devvm (grant_memory_controller).
#
#   scripts/sandbox.sh up            build (cached) + boot a clean instance, print env;
#                                    an instance left running is replaced, and what a
#                                    killed earlier run left behind (an orphaned
#                                    container, a stale overlay mount) is cleared first
#   scripts/sandbox.sh down          power the instance off and delete it
#   scripts/sandbox.sh ssh [cmd...]  run a command (or a shell) in it as root
#   scripts/sandbox.sh status        "running ..." (exit 0) or "stopped" (exit 3)
#   scripts/sandbox.sh hostkey       the pinned SSH host public key
#   scripts/sandbox.sh env           shell-eval-able SANDBOX_* lines
#
# Named instances: SANDBOX_NAME=NAME (a-z, 0-9, '-'; 1-20 characters) gives a box of its
# own beside the others of the same cache: its own instance dir ($CACHE/instance-NAME),
# machine name (ws-sandbox-NAME), network namespace, SSH keys ($CACHE/ssh-NAME), memory
# cgroup, lock and SSH port (SANDBOX_SSH_PORT: give each running name its own; `up`
# refuses a port in use). All names boot the one cached rootfs (each as an overlay over
# it). Every command acts on its name's box only: `up`/`down` of one name never stops
# or kills another's. Without SANDBOX_NAME: the single default instance ($CACHE/instance,
# ws-sandbox, $CACHE/ssh), as before names existed.
#
# Environment: WORKSTATION_CACHE (default /var/cache/workstation), SANDBOX_NAME (none),
# SANDBOX_SSH_PORT (2222), SANDBOX_MIRROR (default: this machine's apt sources),
# SANDBOX_UP_TIMEOUT (90 s), SANDBOX_CPUS (none: every CPU; else the CPUs the box runs on, as
# nspawn's --cpu-affinity reads them, e.g. 0 or 0-1: a benchmark gives two boxes a CPU each,
# as two devvms have their own).
set -euo pipefail

readonly RECIPE_VERSION=1 # bump whenever what the build steps below produce changes
readonly SUITE=bookworm

die() { echo "sandbox: $*" >&2; exit 1; }
log() { echo "sandbox: $*" >&2; }

NAME="${SANDBOX_NAME:-}"
[[ -z "$NAME" || "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] ||
  die "SANDBOX_NAME must be 1-20 characters of a-z, 0-9 and '-' (not starting with '-'), not '$NAME'"
MACHINE="ws-sandbox${NAME:+-$NAME}"
CPUS="${SANDBOX_CPUS:-}"
[[ -z "$CPUS" || "$CPUS" =~ ^[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?){0,15}$ ]] ||
  die "SANDBOX_CPUS must be CPU numbers and ranges, e.g. 0 or 0-1,3, not '$CPUS'"
readonly NAME MACHINE CPUS

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WORKSTATION_CACHE:-/var/cache/workstation}/sandbox"
INSTANCE="$CACHE/instance${NAME:+-$NAME}"
KEYS="$CACHE/ssh${NAME:+-$NAME}"
UP_TIMEOUT="${SANDBOX_UP_TIMEOUT:-90}"
# The box's network namespace, named after the cache (and the name) so two boxes never share one.
NETNS="ws-sandbox-$(printf '%s' "$CACHE${NAME:+#$NAME}" | sha256sum | cut -c1-8)"
NETNS_PATH="/run/netns/$NETNS"

require_root() { [[ "$(id -u)" -eq 0 ]] || die "must run as root (systemd-nspawn and debootstrap need it)"; }

# The running instance's port wins over the environment, so ssh/env follow `up`.
port() {
  if [[ -f "$INSTANCE/port" ]]; then cat "$INSTANCE/port"; else echo "${SANDBOX_SSH_PORT:-2222}"; fi
}

# --- package lists and cache key ---------------------------------------------
strip_list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"; }
apt_packages() { strip_list "$REPO_ROOT/host/packages.txt"; }
npm_packages() { strip_list "$REPO_ROOT/host/npm-packages.txt"; }

cache_key() {
  { echo "suite=$SUITE recipe=$RECIPE_VERSION"; apt_packages; echo "--npm--"; npm_packages; } |
    sha256sum | cut -c1-12
}

# --- tools ---------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v socat >/dev/null || missing+=(socat)
  command -v ip >/dev/null || missing+=(iproute2)
  ((${#missing[@]} == 0)) && return 0
  require_root
  log "installing ${missing[*]}"
  local i
  for ((i = 1; ; i++)); do # another apt may hold the lists lock for a while
    apt-get update -qq && break
    ((i < 12)) || die "apt-get update failed"
    sleep 5
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
    "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# --- the Debian mirror, read from this machine's apt sources -------------------
find_mirror() {
  if [[ -n "${SANDBOX_MIRROR:-}" ]]; then echo "$SANDBOX_MIRROR"; return; fi
  local m="" files=()
  files=(/etc/apt/sources.list.d/*.sources)
  if [[ -e "${files[0]}" ]]; then
    # deb822 stanzas: the first URI of a "deb" stanza whose Suites include $SUITE.
    m="$(awk -v s="$SUITE" 'BEGIN { RS = "" }
      { t = 0; ok = 0; u = ""; n = split($0, L, "\n")
        for (i = 1; i <= n; i++) {
          k = split(L[i], w, /[ \t]+/)
          if (w[1] == "Types:") for (j = 2; j <= k; j++) if (w[j] == "deb") t = 1
          if (w[1] == "Suites:") for (j = 2; j <= k; j++) if (w[j] == s) ok = 1
          if (w[1] == "URIs:" && u == "") u = w[2]
        }
        if (t && ok && u != "") { print u; exit } }' "${files[@]}")"
  fi
  if [[ -z "$m" && -r /etc/apt/sources.list ]]; then
    m="$(awk -v s="$SUITE" '$1 == "deb" { i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  [[ -n "$m" ]] || die "no '$SUITE' mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set SANDBOX_MIRROR"
  echo "$m"
}

# --- keys (generated once, cached outside the rootfs) ---------------------------
gen_key() { # $1 = path, $2 = comment; atomic: the private key appears last
  [[ -f "$1" ]] && return 0
  rm -f "$1.new" "$1.new.pub"
  ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1.new"
  mv -f "$1.new.pub" "$1.pub"
  mv -f "$1.new" "$1"
}

host_pub() { cut -d' ' -f1,2 "$KEYS/ssh_host_ed25519_key.pub"; }

ensure_keys() {
  install -d -m 700 "$KEYS"
  gen_key "$KEYS/id_ed25519" "$MACHINE-client"
  gen_key "$KEYS/ssh_host_ed25519_key" "$MACHINE-host"
  echo "$MACHINE $(host_pub)" >"$KEYS/known_hosts.new" # pinned under an alias: any port
  mv -f "$KEYS/known_hosts.new" "$KEYS/known_hosts"
}

# --- rootfs build -----------------------------------------------------------------
remove_tree() { # unmount whatever is mounted below $1 (a killed debootstrap, a stale overlay), then delete it
  [[ -e "$1" ]] || return 0
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf --one-file-system "$1"
}

# retry N CMD...: run CMD up to N times, 10 s apart (a mirror or registry
# that fails for a moment must not fail a whole build).
retry() {
  local n="$1" i
  shift
  for ((i = 1; ; i++)); do
    "$@" && return 0
    ((i < n)) || return 1
    log "attempt $i of $n failed: $1 ...; again in 10s"
    sleep 10
  done
}

# Run a command inside a (not booted) tree; the host's CA bundle is lent for the
# build only, so TLS works behind a proxy whose CA the host trusts.
in_tree() {
  local dir="$1"; shift
  local ca=()
  [[ -r /etc/ssl/certs/ca-certificates.crt ]] &&
    ca=(--bind-ro=/etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt --setenv=NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
  # 8>&- 9>&-: a build killed half-way must not leave a child holding a lock.
  systemd-nspawn --quiet --register=no --keep-unit --pipe -D "$dir" "${ca[@]}" "$@" 8>&- 9>&-
}

# debootstrap into DIR from MIRROR, starting over from nothing (a retry after a
# half-finished run must not build on its leftovers).
debootstrap_fresh() { # DIR MIRROR
  remove_tree "$1"
  debootstrap --variant=minbase "$SUITE" "$1" "$2"
}

build_rootfs() {
  local rootfs="$1" tmp="$1.tmp" mirror blog="$CACHE/build.log" apt_list=() npm_list=()
  # A failed build's log is kept beside the next one's.
  [[ ! -s "$blog" ]] || mv -f "$blog" "$CACHE/build.previous.log"
  mirror="$(find_mirror)"
  local old
  kill_strays build # what a killed build left running in its tree
  for old in "$CACHE"/rootfs-*.tmp; do remove_tree "$old"; done # interrupted builds are never used
  log "building $(basename "$rootfs") from $mirror (log: $blog)"
  retry 3 debootstrap_fresh "$tmp" "$mirror" >"$blog" 2>&1 8>&- 9>&- ||
    die "debootstrap failed; see $blog"
  # apt, not debootstrap's resolver, installs the list (npm needs virtual packages).
  # policy-rc.d: no service starts during the build (the network is the host's).
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 755 "$tmp/usr/sbin/policy-rc.d"
  mapfile -t apt_list < <(apt_packages)
  log "apt-get install ${#apt_list[@]} packages"
  retry 3 in_tree "$tmp" --setenv=DEBIAN_FRONTEND=noninteractive sh -ec \
    'apt-get update -qq; apt-get install -y -qq --no-install-recommends "$@"; apt-get clean' \
    sh "${apt_list[@]}" >>"$blog" 2>&1 || die "apt-get install failed; see $blog"
  mapfile -t npm_list < <(npm_packages)
  if ((${#npm_list[@]})); then
    log "npm install -g ${npm_list[*]}"
    retry 3 in_tree "$tmp" npm install -g --no-fund --no-audit --loglevel=error "${npm_list[@]}" >>"$blog" 2>&1 ||
      die "npm install -g failed; see $blog"
  fi
  in_tree "$tmp" sh -ec 'claude --version; playwright-mcp --help >/dev/null' >>"$blog" 2>&1 ||
    die "claude / playwright-mcp do not run in the rootfs; see $blog"
  # Per-instance state is added by `up`; the cached tree carries none.
  rm -rf "$tmp"/etc/ssh/ssh_host_* "$tmp"/root/.npm "$tmp"/usr/sbin/policy-rc.d
  : >"$tmp/etc/machine-id"
  mv -T "$tmp" "$rootfs"
  log "built $(basename "$rootfs") in ${SECONDS}s"
  # Older rootfs (another package list) are never booted again by this tree: about 2 GB each.
  # One that a running instance (of any name) still boots from is kept until that one is down.
  for old in "$CACHE"/rootfs-*; do
    [[ "$old" == "$rootfs" || "$old" == *.tmp ]] && continue
    grep -qsxF -- "$(basename "$old")" "$CACHE"/instance*/rootfs && continue
    remove_tree "$old"
  done
}

# The cached rootfs, built first when missing; under the build lock, which every name
# shares (the instance lock is the name's own, so two names boot at once).
ensure_rootfs() { # $1 = the rootfs path
  [[ -d "$1" ]] && return 0
  exec 8>"$CACHE/build.lock"
  flock -w 1800 8 || die "$CACHE/build.lock is still held after 1800s by: $(fuser "$CACHE/build.lock" 2>/dev/null || echo '?')"
  [[ -d "$1" ]] || build_rootfs "$1" # another name may have built it meanwhile
  exec 8>&-
}

configure_instance() { # $1 = the instance root, $2 = ssh port
  local r="$1"
  install -m 600 "$KEYS/ssh_host_ed25519_key" "$r/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$KEYS/ssh_host_ed25519_key.pub" "$r/etc/ssh/ssh_host_ed25519_key.pub"
  install -d -m 700 "$r/root/.ssh"
  install -m 600 "$KEYS/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
  cat >"$r/etc/ssh/sshd_config" <<EOF
# Written by scripts/sandbox.sh: the box's own loopback (reached through the forwarder).
Port $2
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  echo "$MACHINE" >"$r/etc/hostname"
  # Names the instance: how stray_pids recognises an orphaned container of ours.
  echo "$INSTANCE" >"$r/etc/ws-sandbox-instance"
}

# --- the running container ----------------------------------------------------------
nspawn_pid() { # prints the pid of our systemd-nspawn, or fails
  local pid
  pid="$(cat "$INSTANCE/nspawn.pid" 2>/dev/null)" || return 1
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-M $MACHINE " || return 1
  echo "$pid"
}

init_pid() { # PID 1 of the container: systemd-nspawn's child
  local first=""
  read -r first _ < <(cat /proc/"$1"/task/*/children 2>/dev/null) || true
  [[ -n "$first" ]] && echo "$first"
}

ssh_base() {
  SSH=(ssh -i "$KEYS/id_ed25519" -p "$(port)" -o BatchMode=yes -o StrictHostKeyChecking=yes
    -o UserKnownHostsFile="$KEYS/known_hosts" -o HostKeyAlias="$MACHINE" -o LogLevel=ERROR
    -o ConnectTimeout=5 root@127.0.0.1)
}

# Processes a killed earlier run left behind, and only those of one scope:
# - instance (this name's box): the SSH forwarder into this name's namespace, a
#   systemd-nspawn whose -D is inside this name's instance dir, and any process whose
#   root directory is the instance root or carries this name's instance marker or
#   SSH host key. A container whose systemd-nspawn was SIGKILLed lives on (its init
#   is reparented) and keeps the SSH port. Another name's box never matches.
# - build (a killed rootfs build; under the build lock): a systemd-nspawn whose -D is
#   a cached rootfs, and any process whose root directory is one.
# Nothing else on the machine matches.
stray_pids() { # $1 = instance | build
  local -A roots=()
  local d p r self="$BASHPID" args=() host_root scope="$1" dirs=() under
  host_root="$(stat -L -c %d:%i /)"
  if [[ "$scope" == build ]]; then
    dirs=("$CACHE"/rootfs-*)
    under="$CACHE/rootfs-"
  else
    dirs=("$INSTANCE/root")
    under="$INSTANCE/"
  fi
  for d in "${dirs[@]}"; do
    [[ -d "$d" ]] || continue
    r="$(stat -L -c %d:%i -- "$d" 2>/dev/null)" && roots["$r"]=1
  done
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [[ "$p" != "$self" ]] || continue
    mapfile -d '' -t args 2>/dev/null <"/proc/$p/cmdline" || continue
    if [[ "$scope" == instance ]] && ((${#args[@]} > 1)) &&
      [[ "${args[0]##*/}" == socat && "${args[*]}" == *"--net=$NETNS_PATH "* ]]; then
      echo "$p" # the SSH forwarder into our namespace
      continue
    fi
    if ((${#args[@]} > 2)) && [[ "${args[0]##*/}" == systemd-nspawn ]]; then
      local i
      for ((i = 1; i < ${#args[@]} - 1; i++)); do
        if [[ "${args[i]}" == -D && "${args[i + 1]}" == "$under"* ]]; then
          echo "$p"
          continue 2
        fi
      done
    fi
    r="$(stat -L -c %d:%i -- "/proc/$p/root" 2>/dev/null)" || continue
    if [[ -n "${roots[$r]:-}" ]]; then
      echo "$p"
    elif [[ "$scope" == instance && "$r" != "$host_root" ]]; then
      # A container whose tree is already unmounted here: ours if it carries our
      # instance marker or the SSH host key generated in this cache.
      if [[ "$(cat -- "/proc/$p/root/etc/ws-sandbox-instance" 2>/dev/null)" == "$INSTANCE" ]] ||
        { [[ -s "$KEYS/ssh_host_ed25519_key.pub" ]] &&
          cmp -s -- "/proc/$p/root/etc/ssh/ssh_host_ed25519_key.pub" "$KEYS/ssh_host_ed25519_key.pub"; }; then
        echo "$p"
      fi
    fi
  done
}

kill_strays() { # $1 = instance | build (see stray_pids)
  local pids=() i
  mapfile -t pids < <(stray_pids "$1")
  ((${#pids[@]})) || return 0
  log "killing ${#pids[@]} process(es) left by an earlier run: ${pids[*]}"
  kill -KILL -- "${pids[@]}" 2>/dev/null || true # a container's init takes its whole pid namespace along
  for ((i = 0; i < 50; i++)); do
    mapfile -t pids < <(stray_pids "$1")
    ((${#pids[@]})) || return 0
    sleep 0.2
  done
  die "processes of an earlier sandbox survive SIGKILL: ${pids[*]}"
}

wait_ready() { # $1 = nspawn pid
  local deadline=$((SECONDS + UP_TIMEOUT)) state=""
  ssh_base
  while ((SECONDS < deadline)); do
    if ! nspawn_pid >/dev/null; then
      log "the container exited while booting"
      return 1
    fi
    state="$(timeout 30 "${SSH[@]}" 'systemctl is-system-running --wait' 2>/dev/null)" || true
    case "$state" in running | degraded) return 0 ;; esac
    sleep 1
  done
  return 1
}

# The box's systemd gets the memory controller. On a cgroup v1 host nspawn mounts
# the controller hierarchies read-only in the box, so MemoryMax and friends would
# be accepted and never enforced. Mounted again, writable, from inside the box's
# own cgroup namespace: its root is the box's own cgroup (instance_memcg, below the
# one this script runs in), so nothing outside that subtree is reachable, and two
# boxes never share one; stop_instance removes it. Then systemd re-executes to see it,
# before any test unit starts. Nothing to do on a unified (v2) host.
grant_memory_controller() { # $1 = nspawn pid
  local init state="" deadline
  [[ -d /sys/fs/cgroup/memory && "$(stat -f -c %T /sys/fs/cgroup/memory)" == cgroupfs ]] || return 0
  # The box's tree must sit below a cgroup of its own, never in this machine's root one.
  box_memcg >/dev/null || {
    log "this machine runs in the root memory cgroup: memory limits are not enforced in the box"
    return 0
  }
  init="$(init_pid "$1")" || return 1
  nsenter -t "$init" -m -C -- sh -ec '
    if ! grep -qs " /sys/fs/cgroup/memory cgroup ro," /proc/1/mounts; then exit 0; fi
    mkdir -p /run/ws-memcg
    mount -t cgroup -o memory ws-memcg /run/ws-memcg
    mount --bind /run/ws-memcg /sys/fs/cgroup/memory
    umount /run/ws-memcg
    rmdir /run/ws-memcg' || {
    log "could not give the box a writable memory controller"
    return 1
  }
  ssh_base
  timeout 30 "${SSH[@]}" 'systemctl daemon-reexec' || return 1
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    state="$(timeout 10 "${SSH[@]}" 'systemctl is-system-running --wait' 2>/dev/null)" || true
    case "$state" in running | degraded) break ;; esac
    sleep 0.5
  done
  [[ "$(timeout 10 "${SSH[@]}" 'systemctl show -p MemoryCurrent --value ssh.service' 2>/dev/null)" =~ ^[0-9]+$ ]] || {
    log "the box's systemd still has no memory controller"
    return 1
  }
}

print_env() {
  [[ -z "$NAME" ]] || echo "SANDBOX_NAME=$NAME"
  echo "SANDBOX_SSH_HOST=127.0.0.1"
  echo "SANDBOX_SSH_PORT=$(port)"
  echo "SANDBOX_SSH_USER=root"
  echo "SANDBOX_SSH_KEY='$KEYS/id_ed25519'"
  echo "SANDBOX_HOST_KEY='$(host_pub)'"
}

cmd_status() {
  local pid
  if pid="$(nspawn_pid)"; then
    echo "running (nspawn pid $pid, init pid $(init_pid "$pid" || echo '?'), ssh root@127.0.0.1:$(port), $(cat "$INSTANCE/rootfs"))"
  else
    echo "stopped"
    return 3
  fi
}

cmd_up() {
  require_root
  ensure_tools
  install -d "$CACHE"
  take_lock
  local want_port="${SANDBOX_SSH_PORT:-2222}" rootfs pid memcg i
  [[ "$want_port" =~ ^[0-9]{1,5}$ ]] || die "SANDBOX_SSH_PORT must be a port number, not '$want_port'"
  # Always a clean instance: one still running (an earlier run that never got
  # to `down`) is powered off, and whatever a killed run left is cleared.
  if nspawn_pid >/dev/null; then log "replacing the running instance with a clean one"; fi
  stop_instance
  if (exec 3<>"/dev/tcp/127.0.0.1/$want_port") 2>/dev/null; then
    die "127.0.0.1:$want_port is already in use by something else; set SANDBOX_SSH_PORT"
  fi
  ensure_keys
  rootfs="$CACHE/rootfs-$(cache_key)"
  ensure_rootfs "$rootfs"
  # A boot that fails (rarely: the container exits early) is retried once on a
  # fresh instance; the failed boot's log is kept beside the cache.
  local attempt
  for attempt in 1 2; do
    mkdir -p "$INSTANCE/root" "$INSTANCE/upper" "$INSTANCE/work"
    # A clean copy of the cached rootfs: an overlay (instant), else a full copy.
    mount -t overlay ws-sandbox "$INSTANCE/root" \
      -o "lowerdir=$rootfs,upperdir=$INSTANCE/upper,workdir=$INSTANCE/work" 2>/dev/null ||
      cp -a --reflink=auto "$rootfs/." "$INSTANCE/root/"
    echo "$want_port" >"$INSTANCE/port"
    basename "$rootfs" >"$INSTANCE/rootfs"
    configure_instance "$INSTANCE/root" "$want_port"
    netns_up
    if memcg="$(instance_memcg)"; then
      mkdir -p "$memcg"
      echo "$memcg" >"$INSTANCE/memcg"
    else
      memcg=""
    fi
    # The container starts in its own memory cgroup (when there is one to give it).
    # pidfd_getfd: nspawn's seccomp filter refuses it, a devvm's kernel does not (Yama off or
    # at 0, Debian's default); the box allows it so attacks that copy descriptors are real here.
    (
      [[ -z "$memcg" ]] || echo "$BASHPID" >"$memcg/cgroup.procs"
      exec setsid nohup systemd-nspawn --boot --register=no --keep-unit --console=read-only \
        --network-namespace-path="$NETNS_PATH" --capability=CAP_NET_ADMIN --system-call-filter=pidfd_getfd \
        ${CPUS:+"--cpu-affinity=$CPUS"} -D "$INSTANCE/root" -M "$MACHINE"
    ) </dev/null >"$INSTANCE/nspawn.log" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$INSTANCE/nspawn.pid"
    # The subshell becomes systemd-nspawn once it has joined the cgroup: until then it is not "ours".
    for ((i = 0; i < 100; i++)); do nspawn_pid >/dev/null && break; sleep 0.1; done
    start_forwarder "$want_port"
    wait_ready "$pid" && grant_memory_controller "$pid" && break
    cp -f -- "$INSTANCE/nspawn.log" "$CACHE/nspawn.failed.log" 2>/dev/null || true
    tail -n 20 "$INSTANCE/nspawn.log" >&2 || true
    stop_instance
    ((attempt < 2)) || die "not ready within ${UP_TIMEOUT}s (ssh + systemctl is-system-running); log kept: $CACHE/nspawn.failed.log"
    log "boot attempt $attempt failed (log kept: $CACHE/nspawn.failed.log); once more on a fresh instance"
  done
  log "up in ${SECONDS}s"
  print_env
}

# The box's own network namespace: loopback only, no route out, nothing shared
# with this machine. Created by `up`, deleted by `down` (a leftover is replaced).
netns_up() {
  if [[ -e "$NETNS_PATH" ]]; then ip netns delete "$NETNS" 2>/dev/null || true; fi
  ip netns add "$NETNS" || die "cannot create the network namespace $NETNS"
  ip -n "$NETNS" link set lo up
}

netns_down() {
  if [[ -e "$NETNS_PATH" ]]; then ip netns delete "$NETNS" || log "could not delete the network namespace $NETNS"; fi
}

# 127.0.0.1:PORT on this machine → 127.0.0.1:PORT in the box's namespace (sshd).
# Both legs TCP_NODELAY: the devvm has no forwarder, so this one must add no wait of its own.
# With Nagle on either leg, a packet sshd writes while its last one is unacknowledged waits out
# the peer's delayed ACK (about 40 ms), two or three times a session (docs/benchmarks.md).
start_forwarder() { # $1 = port
  setsid nohup socat "TCP4-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,nodelay" \
    "EXEC:nsenter --net=$NETNS_PATH socat STDIO TCP4\\:127.0.0.1\\:$1\\,nodelay" \
    </dev/null >"$INSTANCE/forward.log" 2>&1 9>&- &
  echo "$!" >"$INSTANCE/forward.pid"
}

stop_instance() {
  local pid init i
  if pid="$(nspawn_pid)"; then
    if init="$(init_pid "$pid")"; then kill -s RTMIN+4 "$init" 2>/dev/null || true; fi # systemd: poweroff
    for ((i = 0; i < 30; i++)); do [[ -d "/proc/$pid" ]] && sleep 1; done
    if [[ -d "/proc/$pid" ]]; then
      log "container did not power off in 30s; killing it"
      [[ -z "${init:-}" ]] || kill -KILL "$init" 2>/dev/null || true # ends its whole pid namespace
      kill -KILL -- "-$pid" 2>/dev/null || true
      for ((i = 0; i < 10; i++)); do [[ -d "/proc/$pid" ]] && sleep 1; done
    fi
  fi
  stop_forwarder
  kill_strays instance
  netns_down
  remove_box_memcg
  remove_tree "$INSTANCE"
}

# This machine's memory cgroup, which the box's memory tree sits in (see
# grant_memory_controller); fails when it is the root of the hierarchy.
box_memcg() {
  local path
  path="$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)"
  [[ -n "$path" && "$path" != / && -d "/sys/fs/cgroup/memory$path" ]] || return 1
  echo "/sys/fs/cgroup/memory$path"
}

# The box's own memory cgroup: one per name, below this machine's (cgroup v1 only).
instance_memcg() {
  local parent
  [[ -d /sys/fs/cgroup/memory && "$(stat -f -c %T /sys/fs/cgroup/memory)" == cgroupfs ]] || return 1
  parent="$(box_memcg)" || return 1
  echo "$parent/$MACHINE"
}

# What a box's systemd left in its cgroup once the box is gone (a killed box does
# not clean up): the box's own cgroup, and only cgroups without tasks (rmdir
# refuses the others).
remove_box_memcg() {
  local dir
  dir="$(cat "$INSTANCE/memcg" 2>/dev/null)" || dir="$(instance_memcg)" || return 0
  [[ "$dir" == /sys/fs/cgroup/memory/*/"$MACHINE" && -d "$dir" ]] || return 0
  find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
}

stop_forwarder() { # the one `up` started, when its pid is still that socat
  local pid
  pid="$(cat "$INSTANCE/forward.pid" 2>/dev/null)" || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--net=$NETNS_PATH " || return 0
  kill -TERM "$pid" 2>/dev/null || true
}

# The instance's lock (the default instance's is the cache's historical one); a holder
# that never lets go is named instead of waited on forever.
take_lock() {
  local lock="$CACHE/lock${NAME:+-$NAME}"
  exec 9>"$lock"
  flock -w 600 9 || die "$lock is still held after 600s by: $(fuser "$lock" 2>/dev/null || echo '?')"
}

cmd_down() {
  require_root
  [[ -d "$CACHE" ]] || return 0
  take_lock
  stop_instance
}

cmd_ssh() {
  nspawn_pid >/dev/null || die "not running; run: scripts/sandbox.sh up"
  ssh_base
  exec "${SSH[@]}" "$@"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    ssh) cmd_ssh "$@" ;;
    status) cmd_status ;;
    hostkey | env)
      [[ -f "$KEYS/ssh_host_ed25519_key.pub" ]] || die "no keys yet; run: scripts/sandbox.sh up"
      if [[ "$cmd" == hostkey ]]; then host_pub; else print_env; fi
      ;;
    *) die "usage: scripts/sandbox.sh up|down|ssh [cmd...]|status|hostkey|env" ;;
  esac
}

main "$@"
