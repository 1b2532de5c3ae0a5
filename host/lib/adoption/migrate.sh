# shellcheck shell=bash
# migrate.sh — `user migrate USER …` and `user migrate rollback USER`
# (docs/adopting-a-live-devvm.md): a person's hand-made per-user (`--user`)
# playwright unit gives way to the system instance on the same port. Explicit,
# idle-gated and never run by a routine apply. The migration records the
# per-user units it stops (their files and states) in
# /var/lib/workstation/migrate/USER/ (root's), then runs the services step and
# checks that the system instance answers MCP; if it doesn't, it rolls back by
# itself. The rollback stops the system instance and brings back exactly the
# recorded units. Sourced by bin/workstation after user.sh, idle.sh and cutover.sh.
#
# One of the one-time adoption verbs (host/lib/adoption/: adopt, cutover, migrate), kept
# apart from the routine steps. When they can be retired: docs/adopting-a-live-devvm.md
# ("Retiring the adoption verbs").

readonly WS_MIGRATE_DIR=/var/lib/workstation/migrate

migrate_dir() { printf '%s/%s' "$WS_MIGRATE_DIR" "$1"; }

# user_playwright_units HOME: the hand-made per-user playwright units' names.
user_playwright_units() {
  local f
  for f in "$1"/.config/systemd/user/*playwright*.service; do
    [[ -f "$f" ]] && basename -- "$f"
  done
  return 0
}

# user_manager_up USER: their systemd --user manager runs (a session or lingering).
user_manager_up() { systemctl is-active --quiet "user@$(id -u -- "$1").service"; }

# user_systemctl USER ARGS...: systemctl --user in the person's own manager,
# run as the person (as_user: a clean context, bounded), over its private socket.
user_systemctl() {
  local user="$1" uid home
  shift
  uid="$(id -u -- "$user")"
  home="$(getent passwd "$user" | cut -d: -f6)"
  WS_TIMEOUT=30 as_user "$user" "$home" env "XDG_RUNTIME_DIR=/run/user/$uid" systemctl --user "$@"
}

# mcp_answers USER PORT: an MCP initialize on PORT answers, asked as the person (up to 30 s).
mcp_answers() {
  local i
  for i in $(seq 1 60); do
    if as_user "$1" "$(getent passwd "$1" | cut -d: -f6)" curl -fsS -m 3 -o /dev/null -X POST "http://127.0.0.1:$2/mcp" \
      -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"workstation-migrate","version":"1"}}}' 2>/dev/null; then
      return 0
    fi
    ((i == 60)) || sleep 0.5
  done
  return 1
}

cmd_user_migrate() {
  local -A args=()
  parse_user_args "user migrate" args "$@"
  local user="${args[user]}" home snap units
  begin_user_step "$user"
  require_ready "$user" home
  snap="$(migrate_dir "$user")"
  if [[ -f "$snap/units" ]]; then
    log "$user is migrated already (rollback state in $snap); nothing to do"
    return 0
  fi
  units="$(user_playwright_units "$home")"
  if [[ -z "$units" ]]; then
    log "$user has no per-user playwright unit: nothing to migrate (the services step runs the system instance)"
    return 0
  fi
  require_idle "$user" "the migration"
  migrate_record "$user" "$home" "$snap" "$units"
  migrate_stop_user_units "$user" "$home" "$snap"
  migrate_to_system_instance args "$home"
}

# migrate_record USER HOME SNAP UNITS: 1. what exists, before anything changes.
# Each unit file is read as the person, and only a plain file of theirs: a
# link (to anything) is refused before anything changes.
migrate_record() {
  local user="$1" home="$2" snap="$3" units="$4" unit enabled active
  step "record"
  local record="" file content
  local -A contents=()
  while IFS= read -r unit; do
    file="$home/.config/systemd/user/$unit"
    ! as_user "$user" "$home" test -L "$file" ||
      die_refused "$file is a link: make it a file of your own, or remove it, then migrate; nothing was changed"
    content="$(as_user "$user" "$home" cat -- "$file" && printf x)" || die_refused "$file can't be read as $user; nothing was changed"
    contents[$unit]="${content%x}"
    enabled=no active=no
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    if as_user "$user" "$home" sh -c 'ls "$1"/.config/systemd/user/*.wants/"$2" >/dev/null 2>&1' sh "$home" "$unit"; then enabled=yes; fi
    if user_manager_up "$user" && user_systemctl "$user" is-active --quiet "$unit"; then active=yes; fi
    record+="$unit $enabled $active"$'\n'
  done <<<"$units"
  ensure_dir "$WS_MIGRATE_DIR" 0700
  ensure_dir "$snap" 0700
  for unit in "${!contents[@]}"; do
    write_if_changed "$snap/$unit" 0600 root:root "${contents[$unit]}"
  done
  write_if_changed "$snap/units" 0600 root:root "$record"
}

# migrate_stop_user_units USER HOME SNAP: 2. the per-user units off, as the person's own manager does it.
migrate_stop_user_units() {
  local user="$1" home="$2" snap="$3" unit enabled active
  step "per-user units"
  while read -r unit enabled active; do
    if user_manager_up "$user"; then
      user_systemctl "$user" disable --now --quiet "$unit" || die "could not stop $user's $unit; roll back with: workstation user migrate rollback $user"
    else
      # No manager: nothing runs; disabling is removing the wants links.
      # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
      as_user "$user" "$home" sh -c 'rm -f -- "$1"/.config/systemd/user/*.wants/"$2"' sh "$home" "$unit"
    fi
    changed "stopped and disabled $user's per-user $unit"
  done <"$snap/units"
}

# migrate_to_system_instance ARGS HOME: 3. the system instance on the roster's port, and
# proof it answers; if the step fails or nothing answers, everything goes back as it was.
migrate_to_system_instance() {
  local -n _mig_args="$1"
  local user="${_mig_args[user]}" pw="${_mig_args[pw]}" home="$2" rc=0 pw_unit
  pw_unit="$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"
  set +e
  (
    set -e
    services_step "$1" "$home"
  )
  rc=$?
  set -e
  if ((rc != 0)); then
    warn "the services step failed for $user: rolling back"
    migrate_rollback "$user" "$home"
    die "the migration of $user was rolled back: the services step failed (its error is above)"
  fi
  if ! mcp_answers "$user" "$pw"; then
    warn "${pw_unit%.*} does not answer MCP on $pw: rolling back"
    migrate_rollback "$user" "$home"
    die "the migration of $user was rolled back: the system instance did not answer on port $pw"
  fi
  log "user migrate $user: done; ${pw_unit%.*} answers on $pw; to undo: workstation user migrate rollback $user"
}

cmd_user_migrate_rollback() {
  local -A args=()
  parse_args "user migrate rollback" args "$@"
  local user="${args[user]}"
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  if [[ ! -f "$(migrate_dir "$user")/units" ]]; then
    log "no migration of $user is recorded: nothing to roll back"
    return 0
  fi
  lock "user-$user"
  local home
  require_ready "$user" home
  require_idle "$user" "the rollback"
  migrate_rollback "$user" "$home"
  log "user migrate rollback $user: done"
}

# migrate_rollback USER HOME: the system instance off, the recorded units back as they were.
migrate_rollback() {
  local user="$1" home="$2" snap unit enabled active pw_unit
  snap="$(migrate_dir "$user")"
  pw_unit="$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"
  if systemctl is-enabled --quiet "$pw_unit" 2>/dev/null || systemctl is-active --quiet "$pw_unit"; then
    systemctl disable --now --quiet "$pw_unit"
    changed "stopped and disabled $pw_unit"
  fi
  while read -r unit enabled active; do
    [[ -n "$unit" ]] || continue
    # The file as it was (the person may have changed it since; theirs is kept beside it).
    if ! as_user "$user" "$home" cmp -s -- "$snap/$unit" "$home/.config/systemd/user/$unit" 2>/dev/null; then
      # shellcheck disable=SC2016 # $1 is the inner shell's
      as_user "$user" "$home" sh -c '[ ! -e "$1" ] || mv -f -- "$1" "$1.migrate-kept"' sh "$home/.config/systemd/user/$unit"
      as_user_data "$user" "$home" "$WS_AS_USER" write-if-changed "$home/.config/systemd/user/$unit" 644 <"$snap/$unit"
    fi
    if user_manager_up "$user"; then
      user_systemctl "$user" daemon-reload
      [[ "$enabled" != yes ]] || user_systemctl "$user" enable --quiet "$unit"
      [[ "$active" != yes ]] || user_systemctl "$user" start "$unit"
    elif [[ "$enabled" == yes ]]; then
      # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
      as_user "$user" "$home" sh -c 'mkdir -p "$1/.config/systemd/user/default.target.wants" && ln -sfn "../$2" "$1/.config/systemd/user/default.target.wants/$2"' sh "$home" "$unit"
    fi
    changed "$user's per-user $unit is back (enabled: $enabled, running: $active)"
  done <"$snap/units"
  rm -rf -- "$snap"
}
