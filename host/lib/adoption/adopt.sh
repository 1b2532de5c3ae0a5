# shellcheck shell=bash
# adopt.sh — `adopt plan` (read-only) and `adopt record PATH...`: day one on a
# devvm that was set up by hand (docs/host.md). The plan inventories the live
# host against the roster and prints every conflict and what the first
# `pulumi up` would change; it writes nothing. `adopt record` backs up a shared
# file that Workstation did not write and hands it over, so the next apply may
# replace it. Sourced by bin/workstation after common.sh, base.sh and maps.sh.
#
# One of the one-time adoption verbs (host/lib/adoption/: adopt, cutover, migrate), kept
# apart from the routine steps. When they can be retired: docs/adopting-a-live-devvm.md
# ("Retiring the adoption verbs").

# shared_files: "PATH KIND SOURCE" for every shared file Workstation writes outside
# the homes (KIND: unit, base or map; SOURCE: what it would write, or - for a map).
shared_files() {
  local u entry path name _mode
  for u in "$WS_ROOT"/units/*; do
    [[ -f "$u" ]] || continue
    printf '%s unit %s\n' "/etc/systemd/system/$(basename -- "$u")" "$u"
  done
  for entry in "${WS_BASE_SHARED[@]}"; do
    read -r path name _mode <<<"$entry"
    printf '%s base %s\n' "$path" "$WS_BASE/$name"
  done
  printf '%s map -\n' "$WS_TTYD_MAP" "$WS_DISPATCH_JSON"
}

# shared_file_state PATH KIND SOURCE: absent | same | ours | foreign.
shared_file_state() {
  local path="$1" kind="$2" src="$3"
  case "$kind" in
    unit) shared_state "$path" cmp -s -- "$src" "$path" ;;
    base) shared_state "$path" file_equals "$path" "$(base_shared_content "${src#"$WS_BASE/"}")"$'\n' ;;
    map) shared_state "$path" false ;; # a map depends on the roster: only "ours" lets it be rewritten
  esac
}

# dispatch_format: ours when dispatch.json maps authentik users to {os_user, port}.
dispatch_format() {
  jq -e 'type == "object" and all(.[]; type == "object" and (keys == ["os_user", "port"]))' "$WS_DISPATCH_JSON" >/dev/null 2>&1 &&
    echo ours || echo other
}

# edge_connections PORT...: "UID PID COMM" for each process holding an
# established TCP connection to one of PORTs on this host (the client's side:
# its remote port is the port), from /proc/net/tcp{,6}: the socket's inode, the
# process holding it.
edge_connections() {
  local hexes="" port
  for port in "$@"; do hexes+=" $(printf '%04X' "$port") "; done
  local -A owner_of=()
  local inode uid fd pid
  while read -r inode uid; do
    [[ "$inode" =~ ^[0-9]+$ && "$inode" != 0 ]] && owner_of[$inode]="$uid"
  done < <(awk -v h="$hexes" 'FNR > 1 && $4 == "01" { split($3, a, ":"); if (index(h, " " a[2] " ")) print $10, $8 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  ((${#owner_of[@]})) || return 0
  for fd in /proc/[0-9]*/fd/*; do
    inode="$(readlink -- "$fd" 2>/dev/null || true)"
    [[ "$inode" =~ ^socket:\[([0-9]+)\]$ ]] || continue
    inode="${BASH_REMATCH[1]}"
    [[ -n "${owner_of[$inode]:-}" ]] || continue
    pid="${fd#/proc/}"
    pid="${pid%%/*}"
    printf '%s %s %s\n' "${owner_of[$inode]}" "$pid" "$(comm_of "$pid")"
  done
}

# comm_of PID: the process's name, which its owner sets (prctl) to anything but
# NUL: only name characters kept, so a crafted one can't forge a line of ours.
comm_of() {
  local c=""
  IFS= read -r c 2>/dev/null <"/proc/$1/comm" || true
  c="${c:0:16}"
  printf '%s' "${c//[^A-Za-z0-9._@:+-]/_}"
}

# dispatcher_processes: "UID PID COMM" for each process whose command line names
# the dispatch map (the dispatcher reads it to route people to their t3 port).
dispatcher_processes() {
  local dir cmdline
  for dir in /proc/[0-9]*; do
    cmdline="$(head -c 4096 -- "$dir/cmdline" 2>/dev/null | tr '\0' ' ' || true)"
    [[ "$cmdline" == *"$WS_DISPATCH_JSON"* ]] || continue
    printf '%s %s %s\n' "$(stat -c %u -- "$dir" 2>/dev/null || echo '?')" "${dir#/proc/}" "$(comm_of "${dir#/proc/}")"
  done
}

# plan_edge_account "USER T3 PW"...: which account the dispatcher runs as (it holds
# the connections to the t3 ports, or runs the dispatcher), and the stack line
# that says so. People of the roster connecting to a t3 port are not the edge.
plan_edge_account() {
  local -a ports=() people=()
  local entry user t3 pw
  for entry in "$@"; do
    read -r user t3 pw <<<"$entry"
    ports+=("$t3")
    people+=("$user")
  done
  local -A found=()
  local uid pid comm name
  while read -r uid pid comm; do
    name="$(getent passwd "$uid" | cut -d: -f1)"
    [[ -n "$name" && " ${people[*]} " != *" $name "* ]] || continue
    found[$name]=1
    printf 'edge: %s holds a connection to a t3 port (pid %s, %s)\n' "$name" "$pid" "$comm"
  done < <( ((${#ports[@]})) && edge_connections "${ports[@]}" | sort -u)
  while read -r uid pid comm; do
    name="$(getent passwd "$uid" | cut -d: -f1)"
    # Not root: an editor or a root shell may name the map; the dispatcher runs as its own account.
    [[ -n "$name" && "$uid" != 0 && " ${people[*]} " != *" $name "* ]] || continue
    found[$name]=1
    printf 'edge: %s runs a dispatcher (pid %s, %s: its command line names the dispatch map)\n' "$name" "$pid" "$comm"
  done < <(dispatcher_processes)
  case "${#found[@]}" in
    0) ok "edge: no account holds a connection to a t3 port or runs a dispatcher; if nothing routes people to t3, say so: pulumi config set edgeUser none" ;;
    1) ok "edge: the dispatcher runs as ${!found[*]}; set: pulumi config set edgeUser ${!found[*]}" ;;
    *) conflict "edge: several accounts reach t3 ports (${!found[*]}): the firewall admits one edge account; decide which routes people, then: pulumi config set edgeUser NAME" ;;
  esac
}

# Headroom for a proposed budget: memory_high = use x 5/4, memory_max = use x 7/4,
# each rounded up to a whole 256M (so never below it), where use is the larger of
# the slices' peak (else current) and the RSS of all the person's processes.
readonly WS_BUDGET_STEP=$((256 << 20))
propose_size() { # BYTES NUMERATOR DENOMINATOR
  local b=$((($1 * $2 + $3 - 1) / $3))
  b=$(((b + WS_BUDGET_STEP - 1) / WS_BUDGET_STEP * WS_BUDGET_STEP))
  echo $((b > WS_BUDGET_STEP ? b : WS_BUDGET_STEP))
}

# plan_memory USER: what the person uses now (each slice's current and peak where
# cgroup v2 has them; the RSS of their processes) and the budget: lines to set.
plan_memory() {
  local user="$1" uid slice cur peak use=0 rss detail=""
  uid="$(id -u -- "$user")"
  for slice in "workstation-$user.slice" "user-$uid.slice"; do
    cur="$(slice_memory "$slice" memory.current)"
    peak="$(slice_memory "$slice" memory.peak)"
    detail+="$slice: current ${cur:+$(mib "$cur")}${cur:--}, peak ${peak:+$(mib "$peak")}${peak:--}; "
    ((${peak:-${cur:-0}} <= use)) || use="${peak:-$cur}"
  done
  rss="$(rss_of "$uid")"
  ((rss <= use)) || use="$rss"
  printf 'memory: %s uses %s (%sRSS of their processes %s)\n' "$user" "$(mib "$use")" "$detail" "$(mib "$rss")"
  printf 'memory: %s: propose budget: { memory_high: %s, memory_max: %s } (use x1.25 and x1.75, rounded up to 256M); without one an adopted person is observed, never limited\n' \
    "$user" "$(mib "$(propose_size "$use" 5 4)")" "$(mib "$(propose_size "$use" 7 4)")"
}

cmd_adopt_plan() {
  local arg user t3 pw rest
  local -a roster=()
  for arg in "$@"; do
    [[ "$arg" != -* ]] || die_usage "unknown option $(describe "$arg")"
    IFS=: read -r user t3 pw rest <<<"$arg"
    [[ "${arg//[^:]/}" == "::" && -z "$rest" ]] || die_usage "$(describe "$arg"): expected USER:T3_PORT:PLAYWRIGHT_PORT"
    valid_os_user "$user" "USER in $(describe "$arg")"
    valid_port "$t3" "$WS_T3_PORT_KEY in $(describe "$arg")"
    valid_port "$pw" "$WS_PLAYWRIGHT_PORT_KEY in $(describe "$arg")"
    roster+=("$user $t3 $pw")
  done
  require_root
  local conflicts=0
  # conflict counts in this run's $conflicts (the steps below are called from here).
  conflict() { printf 'conflict: %s\n' "$*"; conflicts=$((conflicts + 1)); }
  ok() { printf 'ok: %s\n' "$*"; }

  plan_shared_files
  plan_hand_made
  plan_people "${roster[@]}"
  uid_pins "${roster[@]}"
  plan_edge_account "${roster[@]}"
  printf 'adopt plan: %d conflict(s); nothing was changed\n' "$conflicts"
}

# plan_shared_files: each shared file Workstation writes, and the dispatcher's format.
plan_shared_files() {
  local path kind src state
  while read -r path kind src; do
    state="$(shared_file_state "$path" "$kind" "$src")"
    case "$state" in
      foreign)
        conflict "$path holds content Workstation did not write; first: workstation adopt record $path (or list it in the stack's takeOver)"
        case "$kind" in
          unit) show_shared_diff "$path" "$src" 2>&1 ;;
          base) show_shared_diff "$path" <(printf '%s\n' "$(base_shared_content "${src#"$WS_BASE/"}")") 2>&1 ;;
        esac
        ;;
      absent) ok "$path: absent; the first apply creates it" ;;
      same) ok "$path: already what Workstation writes" ;;
      ours) ok "$path: Workstation's; the next apply may rewrite it" ;;
    esac
  done < <(shared_files)
  if [[ -f "$WS_DISPATCH_JSON" && "$(dispatch_format)" == other ]]; then
    conflict "$WS_DISPATCH_JSON is not in Workstation's format ({AUTHENTIK_USER: {os_user, port}}): the live dispatcher reads another; docs/host.md says what maps apply writes"
  fi
}

# plan_hand_made: the hand-made setup's per-user units, and a reconcile that rewrites maps and units.
plan_hand_made() {
  local f state
  for f in /home/*/.config/systemd/user/*; do
    [[ -f "$f" ]] || continue
    case "$(basename -- "$f")" in *playwright* | *t3*) ;; *) continue ;; esac
    if compgen -G "$(dirname -- "$f")/*.wants/$(basename -- "$f")" >/dev/null; then state=enabled; else state=disabled; fi
    conflict "user unit $f ($state): the system unit would serve the same port; migrate it before the first apply"
  done
  while IFS= read -r f; do
    conflict "legacy reconcile in $f rewrites maps and units: disable it before the first apply"
  done < <(grep -lsF 't3-provision' /etc/crontab /etc/cron.d/* /etc/cron.hourly/* /var/spool/cron/crontabs/* \
    /etc/systemd/system/*.service /etc/systemd/system/*.timer 2>/dev/null | LC_ALL=C sort -u)
}

# plan_people "USER T3 PW"...: the roster's people: accounts and ports.
plan_people() {
  local listening entry user t3 pw
  listening="$(listeners)"
  local port
  for entry in "$@"; do
    read -r user t3 pw <<<"$entry"
    if ! getent passwd "$user" >/dev/null; then
      ok "$user: no account yet; the first apply creates it"
    elif ! in_group "$user" "$WS_MARKER_GROUP"; then
      conflict "$user: the account exists and Workstation does not manage it: set adopt: true in the roster to take it over"
    else
      ok "$user: managed already"
    fi
    ! getent passwd "$user" >/dev/null || plan_memory "$user"
    # Who listens, with the process and its unit; only the person's own system unit may.
    local own holder
    for port in "$t3:$(user_path "$WS_T3_UNIT" "$user")" "$pw:$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"; do
      own="${port#*:}"
      port="${port%%:*}"
      awk -v p="$port" '$1 == p { found = 1 } END { exit !found }' <<<"$listening" || continue
      while IFS= read -r holder; do
        [[ -n "$holder" ]] || continue
        conflict "port $port (roster: $user) is held by $holder: that service must move or stop before $user's units start"
      done < <(foreign_port_holders "$port" "$user" "$own")
    done
  done
}

# uid_pins "USER T3 PW"...: the roster's `uid:` line for each person whose account exists, so
# the roster pins every live uid (issue 24 §8): a pinned uid is never handed out again.
uid_pins() {
  local entry user _rest
  for entry in "$@"; do
    read -r user _rest <<<"$entry"
    getent passwd "$user" >/dev/null || continue
    printf 'pin: %s: uid: %s\n' "$user" "$(id -u -- "$user")"
  done
}

cmd_adopt_record() {
  (($#)) || die_usage "usage: workstation adopt record PATH..."
  local path known kind src
  for path in "$@"; do
    known="$(shared_files | awk -v p="$path" '$1 == p { print $2 " " $3 }')"
    [[ -n "$known" ]] || die_usage "$(describe "$path") is not a file Workstation writes (see: workstation adopt plan)"
  done
  require_root
  lock adopt
  for path in "$@"; do
    read -r kind src <<<"$(shared_files | awk -v p="$path" '$1 == p { print $2 " " $3 }')"
    if [[ ! -e "$path" && ! -L "$path" ]]; then
      log "notice: $path does not exist; nothing to adopt"
      continue
    fi
    if [[ "$(shared_file_state "$path" "$kind" "$src")" != foreign ]]; then
      log "notice: $path is Workstation's already"
      continue
    fi
    adopt_shared "$path"
  done
  unlock adopt
}
