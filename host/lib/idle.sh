# shellcheck shell=bash
# idle.sh — the idle gate: a person's running service whose config changed is
# restarted only once they have been keystroke-idle long enough (site.env
# RESTART_IDLE_MINUTES, default 20), so no one loses a terminal mid-sentence.
# Until then the restart is pending (/run/workstation/restart-pending/UNIT,
# gone at a reboot, which restarts everything anyway), `user status` shows it
# and workstation-restart-pending.timer retries (`restart pending`). Sourced by
# bin/workstation after common.sh.

readonly WS_RESTART_PENDING_DIR="$WS_RUN_DIR/restart-pending"
readonly WS_DEFAULT_RESTART_IDLE_MINUTES=20

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
  local user="$1" unit idle need restarted=0
  idle="$(idle_seconds "$user")"
  need="$(restart_idle_seconds)"
  while IFS= read -r unit; do
    [[ -n "$unit" ]] || continue
    if ! systemctl is-active --quiet "$unit"; then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
    elif ((idle >= need)); then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
      systemctl restart "$unit"
      changed "restarted $unit with its new config ($user idle ${idle}s)"
      restarted=1
    else
      log "restart pending: $unit ($user typed ${idle}s ago; it waits for ${need}s of idle)"
    fi
  done < <(pending_units "$user")
  # The old ports leave the firewall once nothing listens on them.
  ((!restarted)) || firewall_apply
}

# restart pending: what workstation-restart-pending.timer runs, for everyone.
cmd_restart_pending() {
  (($# == 0)) || die_usage "restart pending takes no arguments"
  require_root
  load_site || true
  local f user
  local -A seen=()
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

ensure_restart_timer() {
  if [[ "$(systemctl is-enabled workstation-restart-pending.timer 2>/dev/null || true)" == enabled ]] &&
    systemctl is-active --quiet workstation-restart-pending.timer; then
    return 0
  fi
  systemctl enable --now --quiet workstation-restart-pending.timer
  changed "enabled and started workstation-restart-pending.timer"
}
