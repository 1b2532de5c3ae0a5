# shellcheck shell=bash
# idle.sh — the idle gate: a person's running service whose config changed is
# restarted only once they have been keystroke-idle long enough (site.env
# RESTART_IDLE_MINUTES, default 20), so no one loses a terminal mid-sentence,
# and no connection is open to their t3 or playwright port, so no agent turn
# (which types nothing) loses its server either.
# Until then the restart is pending (/run/workstation/restart-pending/UNIT,
# gone at a reboot, which restarts everything anyway), `user status` shows it
# and workstation-restart-pending.timer retries (`restart pending`). Sourced by
# bin/workstation after common.sh.

readonly WS_RESTART_PENDING_DIR="$WS_RUN_DIR/restart-pending"

# idle_seconds USER: seconds since the person's last keystroke in any of their
# terminals (SSH logins, and the t3/ttyd sessions their servers run: every pty
# they own). The kernel stamps a pty's access time on input; a time in the future
# is clamped to now. No terminal: idle for as long as the clock can say.
idle_seconds() {
  local uid now idle=-1 pts owner atime
  uid="$(id -u -- "$1")"
  now="$(date +%s)"
  for pts in /dev/pts/[0-9]*; do
    [[ -c "$pts" ]] || continue
    read -r owner atime < <(stat -c '%u %X' -- "$pts" 2>/dev/null) || continue
    [[ "$owner" == "$uid" && "$atime" =~ ^[0-9]+$ ]] || continue
    # The person owns the pty and may set its access time to anything: one in the
    # future counts as a keystroke now (never as "idle since the epoch").
    ((atime <= now)) || atime="$now"
    if ((idle < 0 || now - atime < idle)); then idle=$((now - atime)); fi
  done
  ((idle >= 0)) || idle="$now"
  printf '%s\n' "$idle"
}

# person_ports USER: the ports the person's servers listen on: t3's and
# playwright's from the port files, and the old port of a pending restart (the
# unit still serves there until it restarts).
person_ports() {
  local f
  port_in "$(user_path "$WS_T3_ENV_FILE" "$1")" "$WS_T3_PORT_KEY" && echo
  port_in "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")" "$WS_PLAYWRIGHT_PORT_KEY" && echo
  for f in "$WS_RESTART_PENDING_DIR"/*@"$1".service; do
    [[ -f "$f" ]] || continue
    port_in "$f" OLD_PORT && echo
  done
  return 0
}

# sessions_in_use USER: how many established TCP connections are open to the
# person's t3 or playwright port (an agent turn or a browser session that is
# running with no keystroke). One read of /proc/net/tcp and tcp6: the accepted
# sockets, whose local port is the server's, in state 01 (ESTABLISHED).
sessions_in_use() {
  local ports
  ports="$(person_ports "$1" | awk '/^[0-9]+$/ { printf "%s%04X", (n++ ? "," : ""), $1 }')"
  [[ -n "$ports" ]] || {
    echo 0
    return 0
  }
  awk -v ports="$ports" '
    BEGIN { n = split(ports, p, ","); for (i = 1; i <= n; i++) want[p[i]] = 1 }
    FNR > 1 && $4 == "01" { k = split($2, a, ":"); if (a[k] in want) c++ }
    END { print c + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null || echo 0
}

restart_idle_seconds() {
  local minutes
  minutes="$(site_get RESTART_IDLE_MINUTES)"
  [[ "$minutes" =~ ^[0-9]{1,4}$ ]] || minutes="$WS_DEFAULT_RESTART_IDLE_MINUTES"
  printf '%s\n' "$((10#$minutes * 60))"
}

# mark_restart_pending UNIT OLD_PORT WHY: UNIT runs with an old config; restart
# it when idle. Its old port stays in the firewall until then (firewall.sh).
# A second change before the restart keeps the first old port: the one it listens on.
mark_restart_pending() {
  local file="$WS_RESTART_PENDING_DIR/$1" old="$2"
  ensure_dir "$WS_RESTART_PENDING_DIR" 0755
  if [[ -f "$file" ]]; then old="$(port_in "$file" OLD_PORT || printf '%s' "$2")"; fi
  write_if_changed "$file" 0644 root:root "OLD_PORT=$old"$'\n'"WHY=$3"$'\n'
  log "restart pending: $1 ($3)"
}

# pending_units USER: the person's units with a pending restart.
pending_units() {
  local f
  for f in "$WS_RESTART_PENDING_DIR"/*@"$1".service; do
    [[ -f "$f" ]] && basename -- "$f"
  done
  return 0
}

# drop_pending USER: the person's pending restarts are moot (their units stopped).
drop_pending() {
  local unit
  while IFS= read -r unit; do
    [[ -z "$unit" ]] || remove_file "$WS_RESTART_PENDING_DIR/$unit"
  done < <(pending_units "$1")
}

# restart_if_idle USER: each pending unit of USER is restarted if they are idle
# enough (or the unit no longer runs: then it starts with the new config anyway).
restart_if_idle() {
  local user="$1" unit idle need restarted=0 sessions
  local -a pending=()
  mapfile -t pending < <(pending_units "$user")
  # Nothing pending (every no-op): no idle time or sessions to read (their reads grow with the box).
  ((${#pending[@]})) || return 0
  idle="$(idle_seconds "$user")"
  need="$(restart_idle_seconds)"
  sessions="$(sessions_in_use "$user")"
  for unit in "${pending[@]}"; do
    [[ -n "$unit" ]] || continue
    if ! systemctl is-active --quiet "$unit"; then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
    elif ((idle >= need && sessions > 0)); then
      log "restart pending: $unit ($user has $sessions open session(s) on their t3 or playwright port; it waits for them to end)"
    elif ((idle >= need)); then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
      systemctl restart "$unit"
      record_unit_start "$unit"
      changed "restarted $unit with its new config ($user idle ${idle}s)"
      restarted=1
      # Listening on its new port now: the entry the program wrote follows it.
      [[ "$unit" != "$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")" ]] || ensure_playwright_entry "$user"
    else
      log "restart pending: $unit ($user typed ${idle}s ago; it waits for ${need}s of idle)"
    fi
  done
  # The old ports leave the firewall once nothing listens on them.
  ((!restarted)) || firewall_apply
}

# restart pending: what workstation-restart-pending.timer runs, for everyone.
cmd_restart_pending() {
  (($# == 0)) || die_usage "restart pending takes no arguments"
  require_root_site
  local f user
  local -A seen=()
  running_changed_units
  for f in "$WS_RESTART_PENDING_DIR"/*@*.service; do
    [[ -f "$f" ]] || continue
    user="${f##*@}"
    user="${user%.service}"
    [[ -z "${seen[$user]:-}" ]] || continue
    seen[$user]=1
    if ! [[ "$user" =~ $WS_RE_OS_USER ]] || ! getent passwd "$user" >/dev/null; then
      remove_file "$f"
      continue
    fi
    # The person's own steps may be running; they settle their own restarts.
    if lock_try "user-$user" 5; then
      restart_if_idle "$user"
      unlock "user-$user"
    else
      log "restart pending: $user's lock is held; next round"
    fi
  done
  log "restart pending: done"
}

# running_changed_units: every running server whose command or environment
# changed since it started gets a pending restart (services.sh), whoever
# changed it: a site step (T3_COMMAND), a base step (a new pin), an install (a
# new template) reach people whose services step does not run again.
running_changed_units() {
  local unit user t3 pw
  local -A seen=()
  t3="$(user_path "$WS_T3_UNIT" '*')"
  pw="$(user_path "$WS_PLAYWRIGHT_UNIT" '*')"
  while read -r unit _; do
    pattern_user "$WS_T3_UNIT" "$unit" user || pattern_user "$WS_PLAYWRIGHT_UNIT" "$unit" user || continue
    [[ -z "${seen[$user]:-}" ]] || continue
    seen[$user]=1
    if lock_try "user-$user" 5; then
      ensure_restart_on_change "$user"
      unlock "user-$user"
    fi
  done < <(timeout 30 systemctl list-units --state=active --plain --no-legend "$t3" "$pw" 2>/dev/null || true)
}

ensure_restart_timer() { # [FACTS]: unit_facts' of the timer, when the caller has them
  local timer=workstation-restart-pending.timer
  if (($#)); then
    local -n _rt="$1"
    [[ "${_rt[$timer/UnitFileState]:-}" != enabled ]] || ! unit_up "${_rt[$timer/ActiveState]:-}" || return 0
  elif [[ "$(systemctl is-enabled "$timer" 2>/dev/null || true)" == enabled ]] &&
    systemctl is-active --quiet "$timer"; then
    return 0
  fi
  systemctl enable --now --quiet workstation-restart-pending.timer
  changed "enabled and started workstation-restart-pending.timer"
}
