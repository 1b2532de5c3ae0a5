# shellcheck shell=bash
# services.sh — a user's services: the root-owned files that describe them
# (ports, the applied tier), the tier's unit drop-ins, and the units
# themselves. Sourced by bin/workstation after common.sh.

# t3 for the admin: their terminals run under it, and an admin's terminal may
# `sudo apt` or edit /etc, so none of the template's filesystem protection.
readonly WS_ADMIN_T3_DROPIN='# Written by workstation user apply for the admin tier: their terminals run
# under t3 and may sudo (apt, editing /etc), so the system is not read-only here.
[Service]
ProtectSystem=no
ProtectKernelModules=no
'

# user_record_file USER: what the last account apply granted (TIER, GROUPS), read by `user status`.
user_record_file() { printf '%s/user-%s.env' "$WS_ETC" "$1"; }

ensure_user_record() { # USER TIER GROUPS(comma list)
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$(user_record_file "$1")" 0644 root:root "TIER=$2"$'\n'"GROUPS=$3"$'\n'
}

# The port files: the units' EnvironmentFile, and what the firewall guards. A
# running instance whose port changes gets a pending restart (idle.sh).
ensure_port_files() { # USER T3_PORT PLAYWRIGHT_PORT
  ensure_dir "$WS_ETC" 0755
  ensure_port_file "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")" "$WS_PLAYWRIGHT_PORT_KEY" "$3" "$(user_path "$WS_PLAYWRIGHT_UNIT" "$1")"
  ensure_port_file "$(user_path "$WS_T3_ENV_FILE" "$1")" "$WS_T3_PORT_KEY" "$2" "$(user_path "$WS_T3_UNIT" "$1")"
}

ensure_port_file() { # FILE KEY PORT UNIT
  local old
  file_equals "$1" "$2=$3"$'\n' && return 0
  old="$(port_in "$1" "$2" || true)"
  write_if_changed "$1" 0644 root:root "$2=$3"$'\n'
  if [[ -n "$old" ]] && systemctl is-active --quiet "$4"; then
    mark_restart_pending "$4" "$old" "its port moves from $old to $3"
  fi
}

remove_port_files() { # USER
  remove_file "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")"
  remove_file "$(user_path "$WS_T3_ENV_FILE" "$1")"
}

# ensure_tier_dropins USER TIER: the admin's t3 drop-in exists exactly for the
# admin tier; a unit whose drop-in changed is restarted only if it runs.
ensure_tier_dropins() {
  local user="$1" tier="$2" unit dir file
  unit="$(user_path "$WS_T3_UNIT" "$user")"
  dir="$WS_UNIT_DIR/$unit.d"
  file="$dir/50-workstation-tier.conf"
  local before after
  before="$(cat -- "$file" 2>/dev/null || true)"
  if [[ "$tier" == "$WS_ADMIN_TIER" ]]; then
    ensure_dir "$dir" 0755
    write_if_changed "$file" 0644 root:root "$WS_ADMIN_T3_DROPIN"
  else
    remove_file "$file"
    [[ ! -d "$dir" ]] || rmdir --ignore-fail-on-non-empty -- "$dir"
  fi
  after="$(cat -- "$file" 2>/dev/null || true)"
  [[ "$before" != "$after" ]] || return 0
  systemctl daemon-reload
  systemctl is-active --quiet "$unit" || return 0
  if [[ -n "$before" && -z "$after" ]]; then
    # A demotion out of the admin tier: a lost privilege does not wait for the
    # idle gate (the admin's writable system must not outlive it in a terminal).
    timeout 30 systemctl restart -- "$unit"
    record_unit_start "$unit"
    changed "restarted $unit at once: $user left the admin tier"
    if [[ -f "$WS_RESTART_PENDING_DIR/$unit" ]]; then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
      firewall_apply
    fi
    return 0
  fi
  # A running t3 keeps the sandbox it started with until its person is idle.
  mark_restart_pending "$unit" "$(port_in "$(user_path "$WS_T3_ENV_FILE" "$user")" "$WS_T3_PORT_KEY" || true)" "its tier settings changed"
}

# The budget's drop-in, on both slices a person's processes run in: their
# services' (workstation-USER.slice, also where the host runs things as them)
# and their login sessions' (user-UID.slice). Each is capped on its own.
budget_dropins() { # USER UID
  printf '%s\n' "$WS_UNIT_DIR/workstation-$1.slice.d/50-workstation-budget.conf" \
    "$WS_UNIT_DIR/user-$2.slice.d/50-workstation-budget.conf"
}

# slice_memory SLICE FILE: the slice's memory.current or memory.peak in bytes,
# from cgroup v2 (or v1's usage_in_bytes, max_usage_in_bytes); nothing when the
# slice has no memory cgroup (not running, accounting off). Kernel files, not
# the person's: a bounded read.
slice_memory() {
  local cg path value
  cg="$(systemctl show -p ControlGroup --value -- "$1" 2>/dev/null || true)"
  [[ -n "$cg" ]] || return 0
  path="/sys/fs/cgroup$cg/$2"
  if [[ ! -r "$path" ]]; then
    case "$2" in
      memory.current) path="/sys/fs/cgroup/memory$cg/memory.usage_in_bytes" ;;
      memory.peak) path="/sys/fs/cgroup/memory$cg/memory.max_usage_in_bytes" ;;
    esac
  fi
  [[ -r "$path" ]] || return 0
  value="$(head -c 32 -- "$path" 2>/dev/null || true)"
  [[ "$value" =~ ^[0-9]+$ ]] && echo "$value"
  return 0
}

# rss_of UID: the resident memory of every process the uid runs, in bytes (kernel files).
rss_of() {
  # A process that ends between the glob and the read makes cat fail: not an error here.
  { cat /proc/[0-9]*/status 2>/dev/null || true; } | awk -v uid="$1" '
    $1 == "Name:" { if (mine) sum += rss; mine = 0; rss = 0 }
    $1 == "Uid:" { mine = ($2 == uid) }
    $1 == "VmRSS:" { rss = $2 }
    END { if (mine) sum += rss; printf "%d\n", sum * 1024 }'
}

# mib BYTES: rounded up to whole MiB, as people read it (e.g. 301M).
mib() { printf '%dM' $((($1 + 1048575) / 1048576)); }

# budget_content USER HIGH MAX CPU_WEIGHT TASKS_MAX: the drop-in's text. HIGH and
# MAX empty: the person is observed (adopted, no memory budget in the roster):
# accounting on, no memory limit.
budget_content() {
  if [[ -n "$2" ]]; then
    printf '# Written by workstation user services apply: %s'"'"'s budget (roster.yaml).\n' "$1"
  else
    printf '# Written by workstation user services apply: %s is observed (adopted; roster.yaml sets no memory budget yet): no memory limit.\n' "$1"
  fi
  printf '[Slice]\nMemoryAccounting=yes\n'
  [[ -z "$2" ]] || printf 'MemoryHigh=%s\nMemoryMax=%s\n' "$2" "$3"
  printf 'CPUWeight=%s\nTasksMax=%s\n' "$4" "$5"
}

# budget_changes USER ARGS...: true when a drop-in would change.
budget_changes() {
  local file content
  content="$(budget_content "$@")"$'\n'
  while IFS= read -r file; do
    file_equals "$file" "$content" || return 0
  done < <(budget_dropins "$1" "$(id -u -- "$1")")
  return 1
}

# ensure_budget_fits USER HIGH MAX CPU_WEIGHT TASKS_MAX: a new MemoryHigh below
# what a live slice of the person uses now is refused (exit 3), before the step
# changes anything: applied, it would throttle (or kill) work that runs. An
# unchanged budget is not re-checked (use may grow past it; that is the budget).
ensure_budget_fits() {
  [[ -n "$2" ]] && budget_changes "$@" || return 0
  local slice used uid measured=0
  uid="$(id -u -- "$1")"
  for slice in "workstation-$1.slice" "user-$uid.slice"; do
    used="$(slice_memory "$slice" memory.current)"
    [[ -n "$used" ]] || continue
    measured=1
    too_small_for "$1" "$2" "$slice" "$used"
  done
  # Without memory accounting on their slices yet: what all their processes hold.
  ((measured)) || too_small_for "$1" "$2" "their processes" "$(rss_of "$uid")"
}

too_small_for() { # USER HIGH WHERE BYTES
  (($4 <= $(size_bytes "$2"))) ||
    die_refused "$1's budget memory_high $2 is below what $3 uses now, $(mib "$4"): applied, it would throttle (or kill) work that runs." \
      "Raise budget: in roster.yaml ('workstation adopt plan' proposes one) or free the memory first; nothing was changed"
}

# ensure_budget USER HIGH MAX CPU_WEIGHT TASKS_MAX: the drop-ins say exactly this;
# a change reaches the running slices in place (the same values at runtime for the
# live cgroups; observed: no memory limit), never a restart. systemd reads a slice's
# drop-ins when it loads it, so one it has not loaded needs nothing more; a running
# one takes the values at runtime; only one loaded but not running (rare: the slices
# of people without processes are unloaded) gets a daemon-reload, which re-reads
# every unit on the box (its cost grows with the people: 0.4 s of systemd's CPU at
# 100). Until some reload, systemd marks a running slice NeedDaemonReload: the
# values in force are the drop-in's all the same.
ensure_budget() {
  local user="$1" uid file content slice _load active reload=0
  local -a live=()
  budget_changes "$@" || return 0
  uid="$(id -u -- "$user")"
  content="$(budget_content "$@")"$'\n'
  while IFS= read -r file; do
    ensure_dir "${file%/*}" 0755
    write_if_changed "$file" 0644 root:root "$content"
  done < <(budget_dropins "$user" "$uid")
  # The two slices as systemd has them now (list-units loads none).
  while read -r slice _load active _; do
    [[ -n "$slice" ]] || continue
    if [[ "$active" == active ]]; then live+=("$slice"); else reload=1; fi
  done < <(timeout 30 systemctl list-units --all --plain --no-legend -- "workstation-$user.slice" "user-$uid.slice" 2>/dev/null || true)
  ((!reload)) || systemctl daemon-reload
  for slice in "${live[@]}"; do
    systemctl set-property --runtime -- "$slice" MemoryAccounting=yes "MemoryHigh=${2:-infinity}" "MemoryMax=${3:-infinity}" "CPUWeight=$4" "TasksMax=$5"
  done
}

remove_budget() { # USER UID
  local file
  while IFS= read -r file; do
    remove_file "$file"
    [[ ! -d "${file%/*}" ]] || rmdir --ignore-fail-on-non-empty -- "${file%/*}"
  done < <(budget_dropins "$1" "$2")
}

# port_sockets PORT: "INODE UID" for each TCP socket listening on PORT (IPv4 or IPv6),
# one a line: the kernel's tables, for that port only (UID: the socket's, its creator's).
port_sockets() {
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p && $10 ~ /^[0-9]+$/ && $8 ~ /^[0-9]+$/) print $10, $8 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u
}

# socket_links INODES FD_DIR...: "PID INODE" for each descriptor link in FD_DIR...
# (/proc/PID/fd) that is one of the sockets INODES lists (a space-separated list).
# One find reads the links itself (not a readlink process per descriptor); what a
# person shapes there (how many descriptors and processes, one that ends meanwhile)
# is bounded: 10 s, 64 KiB of lines.
socket_links() {
  local inodes="$1" inode
  shift
  local -a match=()
  for inode in $inodes; do
    ((${#match[@]} == 0)) || match+=(-o)
    match+=(-lname "socket:\\[$inode\\]")
  done
  ((${#match[@]} && $#)) || return 0
  # Line by line (stdbuf): what find found before its deadline is not lost in its buffer.
  { timeout 10 stdbuf -oL find "$@" -mindepth 1 -maxdepth 1 \( "${match[@]}" \) -printf '%h %l\n' 2>/dev/null || true; } |
    head -c 65536 | sed -n 's|^/proc/\([0-9][0-9]*\)/fd socket:\[\([0-9][0-9]*\)\]$|\1 \2|p' | sort -u
}

# unit_fact UNIT PROPERTY [FACTS]: one systemd property of UNIT: from FACTS (unit_facts')
# when given, else asked of systemd (bounded).
unit_fact() {
  if (($# > 2)); then
    local -n _fact_of="$3"
    printf '%s' "${_fact_of[$1/$2]:-}"
  else
    timeout 10 systemctl show -p "$2" --value -- "$1" 2>/dev/null || true
  fi
}

# unit_procs UNIT [FACTS]: the pids the kernel lists in UNIT's own cgroup (systemd's
# ControlGroup for it, in whichever hierarchy this host has), one a line; bounded
# (64 KiB: a person decides how many processes their t3 runs).
unit_procs() {
  local cg dir
  cg="$(unit_fact "$1" ControlGroup "${@:2}")"
  [[ "$cg" == /* ]] || return 0
  for dir in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
    [[ -f "$dir$cg/cgroup.procs" ]] || continue
    head -c 65536 -- "$dir$cg/cgroup.procs" 2>/dev/null | grep -E '^[0-9]+$' || true
    return 0
  done
}

# unit_holds INODES UID MAIN PID...: those of INODES (sockets, space-separated) that MAIN
# (the unit's main process, the usual listener; "" for none) or one of PID... (the rest of
# the unit's processes) holds, running as UID, one a line. The person decides how many
# processes and descriptors their unit has (their terminals run under t3), so the walk
# stops at each socket's first holder, and looks at MAIN alone first (a re-run's usual
# answer: nothing else is read), then at the smallest descriptor tables (the kernel's
# FDSize) first. Bounded: 10 s in all.
unit_holds() {
  local inodes="$1" uid="$2" main="$3" inode found="" rest="" deadline=$((SECONDS + 10))
  local -a dirs=()
  shift 3
  if [[ -n "$main" ]]; then
    found="$(first_holders "$deadline" "$uid" "$inodes" "/proc/$main/fd")"
    [[ -z "$found" ]] || printf '%s\n' "$found"
  fi
  for inode in $inodes; do [[ $'\n'"$found"$'\n' == *$'\n'"$inode"$'\n'* ]] || rest+="$inode "; done
  [[ -n "$rest" ]] && (($#)) || return 0
  # A process that ends meanwhile is left out (grep -s).
  mapfile -t dirs < <(cd /proc && { timeout 5 grep -s -m 1 '^FDSize:' -- "${@/%//status}" || true; } |
    sed -n 's|^\([0-9][0-9]*\)/status:FDSize:[[:space:]]*\([0-9][0-9]*\)$|\2 /proc/\1/fd|p' | sort -n -k1,1 -k2,2 | cut -d' ' -f2)
  ((${#dirs[@]} == 0)) || first_holders "$deadline" "$uid" "$rest" "${dirs[@]}"
}

# first_holders DEADLINE UID INODES FD_DIR...: each of INODES that a descriptor link in
# FD_DIR... (of a process running as UID) is, one a line; each socket's walk stops at its
# first holder, and none starts after DEADLINE (bash's SECONDS).
first_holders() {
  local deadline="$1" uid="$2" inodes="$3" inode left
  shift 3
  for inode in $inodes; do
    left=$((deadline - SECONDS))
    ((left > 0)) || return 0
    { timeout "$left" find "$@" -mindepth 1 -maxdepth 1 -uid "$uid" -lname "socket:\\[$inode\\]" -printf '%l\n' -quit 2>/dev/null || true; } |
      sed -n 's|^socket:\[\([0-9][0-9]*\)\]$|\1|p'
  done
}

# WS_HOLDERS_NAMED: how many of a port's other holders a refusal names (the rest: a count).
readonly WS_HOLDERS_NAMED=4

# foreign_port_holders PORT USER UNIT [FACTS]: "pid N (COMM, user OWNER, unit HOLDER)" for each
# process listening on PORT that is not USER's own system unit UNIT ("a socket of user OWNER
# (...)" for a socket of PORT no process was found holding). Only the kernel's
# facts count as "its own": a listening socket of PORT that a process of UNIT's cgroup
# holds, and that process runs as USER's uid. Names never do: a person can name a unit
# of their own (or a cgroup, or a process) after anyone's. Cost: PORT's sockets (the
# kernel's tables), then the descriptors of UNIT's processes only, up to each socket's
# holder; every process is looked at only when a socket of PORT is left over (the step
# then fails, naming it). COMM and HOLDER are the person's choice, so they are quoted,
# and at most WS_HOLDERS_NAMED are named: how many processes hold it is theirs too.
foreign_port_holders() {
  local port="$1" user="$2" unit="$3" uid inodes="" inode listening owner pid rest="" main first=""
  local -a pids=()
  local -A own=() seen=()
  while read -r inode _; do inodes+="$inode "; done < <(port_sockets "$port")
  [[ -n "$inodes" ]] || return 0
  uid="$(id -u -- "$user" 2>/dev/null || true)"
  if [[ "$uid" =~ ^[0-9]+$ ]]; then
    main="$(unit_fact "$unit" MainPID "${@:4}")"
    while IFS= read -r pid; do
      if [[ "$pid" == "$main" ]]; then first="$pid"; else pids+=("$pid"); fi
    done < <(unit_procs "$unit" "${@:4}")
    while read -r inode; do own[$inode]=1; done < <(unit_holds "$inodes" "$uid" "$first" "${pids[@]}")
  fi
  for inode in $inodes; do [[ -n "${own[$inode]:-}" ]] || rest+="$inode "; done
  [[ -n "$rest" ]] || return 0
  pids=()
  while read -r pid inode; do pids+=("$pid") seen[$inode]=1; done < <(socket_links "$rest" /proc/[0-9]*/fd)
  ((${#pids[@]} == 0)) || mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
  name_holders "${pids[@]}"
  # A socket no process was found holding (the walk's deadline passed first, or none holds
  # it: sent over a unix socket and never received) and that still listens is held all
  # the same: named by its owner (the kernel's uid of it).
  for inode in $rest; do
    [[ -z "${seen[$inode]:-}" ]] || continue
    while read -r listening owner; do
      [[ "$listening" == "$inode" ]] || continue
      printf 'a socket of user %s (no process holding it found within 10 s)\n' "$(quoted "$(id -nu -- "$owner" 2>/dev/null || echo "$owner")")"
    done < <(port_sockets "$port")
  done
}

# name_holders PID...: "pid N (COMM, user OWNER, unit HOLDER)" for the first
# WS_HOLDERS_NAMED of PID..., then how many more.
name_holders() {
  local pid comm holder n=0
  for pid in "$@"; do
    if ((n++ == WS_HOLDERS_NAMED)); then
      printf '%s more processes\n' $(($# - WS_HOLDERS_NAMED))
      break
    fi
    comm="$(head -c 64 "/proc/$pid/comm" 2>/dev/null || echo '?')"
    comm="${comm%$'\n'}"
    holder="$(awk -F/ '/^(0::|[0-9]+:name=systemd:)/ { print $NF }' "/proc/$pid/cgroup" 2>/dev/null | grep -E '\.(service|scope)$' | head -n 1 || true)"
    printf 'pid %s (%s, user %s, unit %s)\n' "$pid" "$(quoted "$comm")" \
      "$(quoted "$(stat -c %U "/proc/$pid" 2>/dev/null || echo '?')")" "$(quoted "${holder:-none}")"
  done
}

# ensure_ports_free USER T3_PORT PLAYWRIGHT_PORT [FACTS]: each port is free, or held by
# the person's own unit for it. Anything else (a hand-made --user unit on the
# same port, another process) fails this person's step before it changes
# anything, naming the holder: enabled now, the system unit would crash-loop.
ensure_ports_free() {
  local user="$1" port unit holder held=""
  local -a with_facts=() # FACTS' name, passed on (a local named like it would hide it)
  (($# < 4)) || with_facts=("$4")
  for port in "$2:$(user_path "$WS_T3_UNIT" "$user")" "$3:$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"; do
    unit="${port#*:}"
    port="${port%%:*}"
    while IFS= read -r holder; do
      [[ -n "$holder" ]] || continue
      held+=" port $port is held by $holder;"
    done < <(foreign_port_holders "$port" "$user" "$unit" "${with_facts[@]}")
  done
  [[ -z "$held" ]] ||
    die "$user's services can't start:${held%;}. Stop it first (a hand-made per-user unit: migrate it; see docs/adopting-a-live-devvm.md); nothing was changed"
}

# unit_facts FACTS UNIT...: what the services step reads of systemd about UNIT...,
# in one `systemctl show` (each call costs a round trip to systemd, and a no-op step
# made a dozen): FACTS (an associative array) gets FACTS[UNIT/PROPERTY] for each of
# WS_UNIT_FACTS (a repeated property's values one a line) and FACTS[UNIT], the
# unit's lines as systemctl printed them (unit_inputs reads them in that order).
readonly -a WS_UNIT_FACTS=(Id ActiveState UnitFileState InvocationID ActiveEnterTimestamp ControlGroup MainPID
  FragmentPath DropInPaths EnvironmentFiles ExecStart)
unit_facts() {
  local -n _uf="$1"
  shift
  local key value p block=""
  local -a props=()
  local -A one=()
  for p in "${WS_UNIT_FACTS[@]}"; do props+=(-p "$p"); done
  # Blocks of PROPERTY=VALUE lines, one per unit, in the order given, a blank line between.
  while IFS= read -r p; do
    if [[ -n "$p" ]]; then
      block+="$p"$'\n'
      key="${p%%=*}" value="${p#*=}"
      one[$key]="${one[$key]:+${one[$key]}$'\n'}$value"
      continue
    fi
    if [[ -n "${one[Id]:-}" ]]; then
      for key in "${!one[@]}"; do _uf["${one[Id]}/$key"]="${one[$key]}"; done
      _uf["${one[Id]}"]="$block"
    fi
    block="" one=()
  done < <(timeout 30 systemctl show "${props[@]}" -- "$@" 2>/dev/null; echo)
}

# unit_up STATE / unit_enabled STATE: an ActiveState, an UnitFileState that
# `systemctl is-active` / `is-enabled` answer yes to.
unit_up() { [[ "$1" == active || "$1" == reloading || "$1" == refreshing ]]; }
unit_enabled() {
  case "$1" in enabled | enabled-runtime | static | alias | indirect | generated | transient) return 0 ;; esac
  return 1
}

# ensure_units_running USER [FACTS]: every unit enabled and started; a running one is
# not restarted here (a changed one waits for the idle gate, idle.sh). One
# systemctl call reads every unit's state (or FACTS, unit_facts' of them, when
# given, and read again after a start) and one enables and starts those that
# need it, without reloading systemd.
ensure_units_running() {
  local unit
  local -a units=() todo=()
  # shellcheck disable=SC2034 # read through the nameref; named apart: a local named like the caller's FACTS would hide it
  local -A ur_own=()
  mapfile -t units < <(user_units "$1")
  if (($# < 2)); then unit_facts ur_own "${units[@]}"; set -- "$1" ur_own; fi
  local -n _ur="$2"
  for unit in "${units[@]}"; do
    unit_enabled "${_ur[$unit/UnitFileState]:-}" && unit_up "${_ur[$unit/ActiveState]:-}" || todo+=("$unit")
  done
  ((${#todo[@]})) || return 0
  # --no-reload: the units are started here and a boot reads their links; the reload an
  # enable makes (systemd re-reads every unit on the box: its cost grows with the people)
  # would tell the running manager nothing a start needs (its multi-user.target learns
  # of them at the next reload).
  systemctl enable --now --no-reload --quiet -- "${todo[@]}"
  unit_facts "$2" "${units[@]}"
  for unit in "${todo[@]}"; do
    changed "enabled and started $unit"
    [[ "$unit" != *.service ]] || record_unit_start "$unit" "$2"
  done
}

# units_not_off UNIT...: those of UNIT that are neither inactive nor failed.
units_not_off() {
  local unit state
  for unit in "$@"; do
    state="$(systemctl is-active "$unit" 2>/dev/null || true)"
    [[ "$state" == inactive || "$state" == failed ]] || printf '%s\n' "$unit"
  done
}

# wait_units_off SECONDS UNIT...: true once every UNIT is off, false when SECONDS pass first.
wait_units_off() {
  local deadline=$((SECONDS + $1))
  shift
  while [[ -n "$(units_not_off "$@")" ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ensure_units_stopped USER [kill]: every unit disabled and stopped, whatever mix of
# enabled and running it was in: an enabled but crashed unit would start again
# at boot, as the user, and one whose process was just killed is waiting to
# restart ("activating"), which is not "active". Bounded: what has not stopped
# WS_UNIT_STOP_GRACE seconds (rules.sh) after SIGTERM is sent SIGKILL, for a
# person's terminal under t3 may ignore SIGTERM and the unit's own stop timeout
# (90 s by default) would hold up the cut that long; a unit still up after that
# fails the step (it is the cut that did not happen). With kill (the cut), every
# process in a unit's cgroup is SIGKILLed first, so nothing waits on SIGTERM at all.
ensure_units_stopped() {
  local unit state
  local -a stopping=() left=()
  while IFS= read -r unit; do
    state="$(systemctl is-active "$unit" 2>/dev/null || true)"
    if [[ "${2:-}" == kill && "$unit" == *.service && "$state" != inactive && "$state" != failed ]]; then
      timeout 10 systemctl kill --signal=SIGKILL -- "$unit" 2>/dev/null || true
    fi
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || [[ "$state" != inactive && "$state" != failed ]]; then
      timeout 10 systemctl disable --quiet "$unit" || true
      timeout 10 systemctl stop --no-block --quiet "$unit" || true
      stopping+=("$unit")
    fi
  done < <(user_units "$1")
  ((${#stopping[@]})) || return 0
  if ! wait_units_off "$WS_UNIT_STOP_GRACE" "${stopping[@]}"; then
    mapfile -t left < <(units_not_off "${stopping[@]}")
    warn "$1: ${left[*]} did not stop within ${WS_UNIT_STOP_GRACE}s of SIGTERM: killed"
    timeout 10 systemctl kill --kill-whom=all --signal=SIGKILL "${left[@]}" 2>/dev/null || true
    wait_units_off "$WS_UNIT_STOP_GRACE" "${stopping[@]}" ||
      die "$1: $(units_not_off "${stopping[@]}" | paste -sd' ') still running after SIGKILL"
  fi
  for unit in "${stopping[@]}"; do changed "disabled and stopped $unit"; done
}

# --- a unit's effective command and environment ------------------------------------
#
# A running server keeps the command line, unit settings, environment and
# packages it started with. The fingerprint of all of them is recorded when we
# start or restart it (keyed by its invocation id); each services step compares
# it with what a start would read now and marks a pending restart (idle.sh)
# when they differ: a new unit template or drop-in, another T3_COMMAND, a new
# runner, a new pin of t3, @playwright/mcp or Claude Code.

readonly WS_UNIT_STARTED_DIR="$WS_RUN_DIR/unit-started"
readonly WS_NPM_GLOBAL_DIR=/usr/local/lib/node_modules

# unit_inputs UNIT [FACTS]: the files a start of UNIT reads, one a line: its unit file
# and drop-ins, its environment files, the program ExecStart runs, site.env for
# t3 (T3_COMMAND), and the global npm packages' manifests (their versions). In
# systemctl's order of the properties (the fingerprint hashes them in order), from
# FACTS (unit_facts') when given.
unit_inputs() {
  local key value
  local -a paths
  # shellcheck disable=SC2034 # read through the nameref; named apart: a local named like the caller's FACTS would hide it
  local -A ui_own=()
  if (($# < 2)); then unit_facts ui_own "$1"; set -- "$1" ui_own; fi
  local -n _ui="$2"
  while IFS='=' read -r key value; do
    case "$key" in
      FragmentPath) [[ -z "$value" ]] || printf '%s\n' "$value" ;;
      DropInPaths)
        read -ra paths <<<"$value"
        ((${#paths[@]} == 0)) || printf '%s\n' "${paths[@]}"
        ;;
      EnvironmentFiles) printf '%s\n' "${value%% (*}" ;;
      ExecStart) [[ "$value" =~ path=([^ \;]+) ]] && printf '%s\n' "${BASH_REMATCH[1]}" ;;
    esac
  done <<<"${_ui[$1]:-}"
  [[ "$1" != "${WS_T3_UNIT%%@*}"@* ]] || printf '%s\n' "$WS_SITE_ENV"
  find "$WS_NPM_GLOBAL_DIR" -mindepth 2 -maxdepth 3 -name package.json \( -path "$WS_NPM_GLOBAL_DIR/@*/*/package.json" -o -path "$WS_NPM_GLOBAL_DIR/[!@]*/package.json" \) 2>/dev/null | LC_ALL=C sort
}

# unit_fingerprint UNIT [FACTS]: the hash of what a start of UNIT reads now (site.env:
# its T3_COMMAND only; a file not there counts as such). Per input "PATH " then its line of
# sha256sum's (reading stdin), all of them hashed: the regular files are hashed by one
# sha256sum together, whose lines are written back in that shape.
unit_fingerprint() {
  local f i=0 line
  local -a inputs=() files=() sums=()
  mapfile -t inputs < <(unit_inputs "$@")
  for f in "${inputs[@]}"; do [[ -z "$f" || ! -f "$f" || "$f" == "$WS_SITE_ENV" ]] || files+=("$f"); done
  # One line a file, in order; a name sha256sum would escape (a backslash or newline in it),
  # or a file gone meanwhile, and each is hashed on its own as before.
  if ((${#files[@]})) && [[ "${files[*]}" != *[$'\\\n']* ]]; then
    mapfile -t sums < <(sha256sum -- "${files[@]}" 2>/dev/null || true)
  fi
  for f in "${inputs[@]}"; do
    [[ -n "$f" ]] || continue
    printf '%s ' "$f"
    if [[ "$f" == "$WS_SITE_ENV" ]]; then
      site_get T3_COMMAND | sha256sum
    elif [[ -f "$f" ]]; then
      line="${sums[i]:-}"
      if [[ "$line" =~ ^([0-9a-f]{64})\ \ (.*)$ && "${BASH_REMATCH[2]}" == "$f" ]]; then
        printf '%s  -\n' "${BASH_REMATCH[1]}"
      else
        sha256sum <"$f"
      fi
      i=$((i + 1))
    else
      echo absent
    fi
  done | sha256sum | cut -d' ' -f1
}

# record_unit_start UNIT [FACTS]: UNIT just (re)started here: what it started with (its
# invocation id from FACTS, unit_facts' read after the start, when given; the
# fingerprint is kept there too, as FACTS[UNIT/Fingerprint], for this step's later checks).
record_unit_start() {
  local inv tmp fp
  inv="$(unit_fact "$1" InvocationID "${@:2}")"
  [[ "$inv" =~ ^[0-9a-f]{32}$ ]] || return 0
  fp="$(unit_fingerprint "$@")"
  if (($# > 1)); then
    local -n _rs="$2"
    _rs["$1/Fingerprint"]="$fp"
  fi
  ensure_dir "$WS_UNIT_STARTED_DIR" 0755
  tmp="$(mktemp "$WS_UNIT_STARTED_DIR/.$1.XXXXXX")"
  printf '%s %s\n' "$inv" "$fp" >"$tmp"
  mv -f -T -- "$tmp" "$WS_UNIT_STARTED_DIR/$1"
}

# unit_inputs_newer UNIT [FACTS]: true when a file UNIT reads changed (ctime) after it
# started: for a start we did not see (the boot, systemd's own restart).
# site.env is left out: it changes with any site value, not only T3_COMMAND.
unit_inputs_newer() {
  local since f
  since="$(date -d "$(unit_fact "$1" ActiveEnterTimestamp "${@:2}")" +%s 2>/dev/null)" || return 1
  while IFS= read -r f; do
    [[ -e "$f" && "$f" != "$WS_SITE_ENV" ]] || continue
    (($(stat -c %Z -- "$f") > since)) && return 0
  done < <(unit_inputs "$@")
  return 1
}

# ensure_restart_on_change USER [FACTS]: each running server of USER whose command or
# environment changed since it started gets a pending restart (one already
# pending will restart anyway). What systemd says of the servers: FACTS
# (unit_facts') when given, else one `systemctl show` for both.
ensure_restart_on_change() {
  local user="$1" entry unit port_file key inv had_inv had_fp port t3 pw
  # shellcheck disable=SC2034 # read through the nameref; named apart: a local named like the caller's FACTS would hide it
  local -A rc_own=()
  t3="$(user_path "$WS_T3_UNIT" "$user")"
  pw="$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"
  if (($# < 2)); then unit_facts rc_own "$t3" "$pw"; set -- "$1" rc_own; fi
  local -n _rc="$2"
  for entry in "$t3:$WS_T3_ENV_FILE:$WS_T3_PORT_KEY" "$pw:$WS_PLAYWRIGHT_ENV_FILE:$WS_PLAYWRIGHT_PORT_KEY"; do
    IFS=: read -r unit port_file key <<<"$entry"
    unit_up "${_rc[$unit/ActiveState]:-}" || continue
    [[ ! -f "$WS_RESTART_PENDING_DIR/$unit" ]] || continue
    inv="${_rc[$unit/InvocationID]:-}"
    had_inv="" had_fp=""
    [[ ! -f "$WS_UNIT_STARTED_DIR/$unit" ]] || read -r had_inv had_fp <"$WS_UNIT_STARTED_DIR/$unit" || true
    if [[ -z "$inv" || "$had_inv" != "$inv" ]]; then
      # Started without us: if nothing it reads changed since, it runs what a start would read now.
      if ! unit_inputs_newer "$unit" "$2"; then
        record_unit_start "$unit" "$2"
        continue
      fi
    elif [[ "$had_fp" == "${_rc[$unit/Fingerprint]:-$(unit_fingerprint "$unit" "$2")}" ]]; then
      continue
    fi
    port="$(port_in "$(user_path "$port_file" "$user")" "$key" || true)"
    mark_restart_pending "$unit" "$port" "its command or environment changed"
  done
}
