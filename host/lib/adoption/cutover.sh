# shellcheck shell=bash
# cutover.sh — `user cutover USER` and `user cutover rollback USER` (the seed's
# Phase 5; docs/adopting-a-live-devvm.md): a person who works in the admin's
# tree (~/code a symlink into it, code-shared, a launcher that cd's there, and
# ~/.claude links into the admin's home) moves to their own locked clone. Both
# are explicit, idle-gated and never run by a routine apply. The cutover first
# records everything it will change in /var/lib/workstation/cutover/USER/
# (root's), and the rollback puts back exactly that; nothing the person wrote
# is deleted: a clone the rollback replaces is moved aside. Sourced by
# bin/workstation after home.sh, idle.sh and configbase.sh.
#
# One of the one-time adoption verbs (host/lib/adoption/: adopt, cutover, migrate), kept
# apart from the routine steps. When they can be retired: docs/adopting-a-live-devvm.md
# ("Retiring the adoption verbs").

readonly WS_CUTOVER_DIR=/var/lib/workstation/cutover

cutover_dir() { printf '%s/%s' "$WS_CUTOVER_DIR" "$1"; }

# require_idle USER WHAT: refuse (exit 3) unless USER has been idle long enough
# and has no session open on their servers (idle.sh).
require_idle() {
  local idle need
  idle="$(idle_seconds "$1")"
  need="$(restart_idle_seconds)"
  ((idle >= need)) ||
    die_refused "$1 typed ${idle}s ago: $2 waits for ${need}s of idle (site.env RESTART_IDLE_MINUTES); nothing was changed, try again later"
  local sessions
  sessions="$(sessions_in_use "$1")"
  ((sessions == 0)) ||
    die_refused "$1 has $sessions open session(s) on their t3 or playwright port: $2 waits for them to end; nothing was changed, try again later"
}

# The cutover's records (state, links) are lines of values the person chose (a link's
# target, a skill's name): one with a control character (a newline would add a line, or
# a key, of its own; a tab would split a field) is refused before anything is recorded.
plain_value() { [[ "$1" != *[[:cntrl:]]* ]]; }

# record_get FILE KEY: the value of the first KEY=... line of one of our records.
record_get() {
  awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1"
}

# admin_links USER HOME ADMIN_HOME: "PATH<TAB>TARGET" for each link in ~/.claude
# (rules, agents, skills and each skill) that points into the admin's home. Read as
# the person, NUL-separated, so any name arrives whole; one with a control character
# is refused (exit 3).
admin_links() {
  local user="$1" home="$2" admin_home="$3" path target
  while IFS= read -r -d '' path && IFS= read -r -d '' target; do
    if ! plain_value "$path" || ! plain_value "$target"; then
      die_refused "$(quoted "$path") links to $(quoted "$target"): a name with a control character can't be recorded; rename it, then cut over; nothing was changed"
    fi
    printf '%s\t%s\n' "$path" "$target"
  done < <(
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    as_user "$user" "$home" sh -c 'for p in "$1/.claude/rules" "$1/.claude/agents" "$1/.claude/skills" "$1"/.claude/skills/*; do
      [ -L "$p" ] || continue
      t=$(readlink -- "$p"; echo x); t=${t%??}
      case "$t" in "$2"/*) printf "%s\0%s\0" "$p" "$t" ;; esac
    done' sh "$home" "$admin_home"
  )
}

cmd_user_cutover() {
  local -A args=()
  parse_args "user cutover" args "$@"
  local user="${args[user]}" home admin admin_home snap code_target
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  admin="$(site_get ADMIN_USER)"
  [[ -n "$admin" ]] || die_refused "$WS_SITE_ENV names no admin: the cutover moves a person out of the admin's tree"
  [[ "$user" != "$admin" ]] || die_refused "$user is the admin: their tree is what others are cut over from"
  lock "user-$user"
  require_ready "$user" home
  admin_home="$(getent passwd "$admin" | cut -d: -f6 || true)"
  [[ -n "$admin_home" ]] || admin_home="$(user_path "$WS_HOME" "$admin")"
  snap="$(cutover_dir "$user")"
  if [[ -e "$snap/state" ]]; then
    log "$user is already cut over (rollback state in $snap); nothing to do"
    return 0
  fi
  # shellcheck disable=SC2016 # $1 is the inner shell's
  code_target="$(as_user "$user" "$home" sh -c '[ -L "$1" ] && { readlink -- "$1"; echo x; } || true' sh "$home/code")" ||
    as_user_failed "$?" "$user" "could not read the link $home/code"
  if [[ -z "$code_target" ]]; then
    log "$user's ~/code is not a link: nothing to cut over"
    return 0
  fi
  code_target="${code_target%??}" # readlink's newline and the x that kept a trailing newline of the target
  plain_value "$code_target" ||
    die_refused "$home/code links to $(quoted "$code_target"): a target with a control character can't be recorded; point it elsewhere, then cut over; nothing was changed"
  require_idle "$user" "the cutover"
  cutover_record "$user" "$home" "$admin_home" "$snap" "$code_target"
  cutover_clone "$user" "$home" "$snap" "$code_target"
  cutover_launcher "$user" "$home" "$snap" "$admin_home"
  cutover_admin_links "$user" "$home" "$snap" "$admin_home"
  cutover_shared_group "$user"
  log "user cutover $user: done; to undo: workstation user cutover rollback $user"
}

# cutover_record USER HOME ADMIN_HOME SNAP CODE_TARGET
cutover_record() {
  local user="$1" home="$2" admin_home="$3" snap="$4" code_target="$5" links groups
  # 1. The rollback state, before anything changes (root's, 0700).
  step "record"
  # (A refusal in the subshell is the run's: its exit code, its message already shown.)
  links="$(admin_links "$user" "$home" "$admin_home")" || { WS_RC=$?; exit "$WS_RC"; }
  groups="$(id -nG -- "$user" | tr ' ' '\n' | sort | paste -sd,)"
  # The launcher is read as the person, and only a plain file of theirs: a link
  # (to anything) is theirs to sort out, refused before anything changes.
  local content="" has_launcher=0 launcher="$home/$WS_LAUNCHER_NAME" kind
  if as_user "$user" "$home" test -L "$launcher"; then
    die_refused "$launcher is a link: point it at a file of your own, or remove it, then cut over; nothing was changed"
  fi
  kind="$(path_kind "$user" "$home" "$launcher")" || as_user_failed "$?" "$user" "could not tell what $launcher is"
  if [[ "$kind" == regular ]]; then
    content="$(as_user "$user" "$home" cat -- "$launcher" && printf x)" ||
      die_refused "$launcher can't be read as $user; nothing was changed"
    content="${content%x}"
    has_launcher=1
  fi
  ensure_dir "$WS_CUTOVER_DIR" 0700
  ensure_dir "$snap" 0700
  ((!has_launcher)) || write_if_changed "$snap/launcher" 0600 root:root "$content"
  write_if_changed "$snap/links" 0600 root:root "$links"$'\n'
  # Written last: it is what says "cut over".
  write_if_changed "$snap/state" 0600 root:root "CODE_TARGET=$code_target"$'\n'"GROUPS=$groups"$'\n'
}

# cutover_clone USER HOME SNAP CODE_TARGET
cutover_clone() {
  local user="$1" home="$2" snap="$3" code_target="$4"
  # 2. Their own locked clone where the link was (the link comes back if the clone fails).
  step "clone"
  as_user "$user" "$home" rm -- "$home/code"
  if ! (ensure_code_clone "$user" "$home"); then
    as_user "$user" "$home" ln -s -T -- "$code_target" "$home/code"
    rm -rf -- "$snap"
    die "the clone failed; $home/code links to $(quoted "$code_target") again and nothing else changed"
  fi
  as_user "$user" "$home" test -d "$home/code" -a ! -L "$home/code" ||
    { as_user "$user" "$home" ln -s -T -- "$code_target" "$home/code"; rm -rf -- "$snap"; die "no clone at $home/code (is REPO_URL set in $WS_SITE_ENV?); the link is back"; }
  changed "$home/code: $user's own clone (was a link to $(quoted "$code_target"))"
}

# cutover_launcher USER HOME SNAP ADMIN_HOME
cutover_launcher() {
  local user="$1" home="$2" snap="$3" admin_home="$4"
  # 3. The launcher cd's into their own clone.
  step "launcher"
  if [[ -f "$snap/launcher" ]]; then
    sed -E "s#cd[[:space:]]+\"?${admin_home//#/\\#}/code\"?#cd \"\$HOME/code\"#g" "$snap/launcher" |
      as_user_data "$user" "$home" "$WS_AS_USER" write-if-changed "$home/$WS_LAUNCHER_NAME" "$(stat -c '%a' -- "$home/$WS_LAUNCHER_NAME")"
  fi
}

# cutover_admin_links USER HOME SNAP ADMIN_HOME (the links recorded in SNAP)
cutover_admin_links() {
  local user="$1" home="$2" snap="$3" admin_home="$4"
  # 4. The ~/.claude links into the admin's home go; the shared base's come instead.
  step "claude links"
  local path _target
  while IFS=$'\t' read -r path _target; do
    [[ -n "$path" ]] || continue
    as_user "$user" "$home" rm -- "$path"
    changed "removed $(quoted "$path") (a link into $admin_home)"
  done <"$snap/links"
  [[ ! -e "$WS_CONFIG_BASE" ]] || ensure_claude_links "$user" "$home"
}

# cutover_shared_group USER
cutover_shared_group() {
  local user="$1"
  # 5. Out of the shared-code group.
  step "groups"
  if in_group "$user" "$WS_SHARED_CODE_GROUP"; then
    lock accounts
    gpasswd -d "$user" "$WS_SHARED_CODE_GROUP" >/dev/null
    unlock accounts
    changed "$user left $WS_SHARED_CODE_GROUP"
  fi
}

cmd_user_cutover_rollback() {
  local -A args=()
  parse_args "user cutover rollback" args "$@"
  local user="${args[user]}" home snap
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  snap="$(cutover_dir "$user")"
  if [[ ! -f "$snap/state" ]]; then
    log "no cutover of $user is recorded ($snap): nothing to roll back"
    return 0
  fi
  lock "user-$user"
  require_ready "$user" home
  require_idle "$user" "the rollback"
  rollback_code "$user" "$home" "$(record_get "$snap/state" CODE_TARGET)"
  rollback_launcher "$user" "$home" "$snap"
  rollback_admin_links "$user" "$home" "$snap"
  rollback_shared_group "$user" "$(record_get "$snap/state" GROUPS)"
  rm -rf -- "$snap"
  log "user cutover rollback $user: done"
}

# rollback_code USER HOME CODE_TARGET
rollback_code() {
  local user="$1" home="$2" code_target="$3" aside now
  # ~/code: the link again; their clone is moved aside, never deleted.
  step "code"
  # shellcheck disable=SC2016 # $1 is the inner shell's
  now="$(as_user "$user" "$home" sh -c 'readlink -- "$1" || true' sh "$home/code")" ||
    as_user_failed "$?" "$user" "could not read the link $home/code"
  if [[ "$now" != "$code_target" ]]; then
    if person_fact "$user" "$home" "whether anything is at $home/code" there "$home/code"; then
      aside="$home/code.cutover-$(date -u +%Y%m%dT%H%M%SZ)"
      as_user "$user" "$home" mv -n -T -- "$home/code" "$aside"
      changed "moved $user's clone aside to $aside"
    fi
    as_user "$user" "$home" ln -s -T -- "$code_target" "$home/code"
    changed "$home/code -> $(quoted "$code_target")"
  fi
}

# rollback_launcher USER HOME SNAP
rollback_launcher() {
  local user="$1" home="$2" snap="$3"
  step "launcher"
  if [[ -f "$snap/launcher" ]]; then
    as_user_data "$user" "$home" "$WS_AS_USER" write-if-changed "$home/$WS_LAUNCHER_NAME" "$(stat -c '%a' -- "$home/$WS_LAUNCHER_NAME" 2>/dev/null || echo 755)" <"$snap/launcher"
  fi
}

# rollback_admin_links USER HOME SNAP
rollback_admin_links() {
  local user="$1" home="$2" snap="$3"
  step "claude links"
  local path target line
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    # PATH<TAB>TARGET; a record of an older cutover: PATH TARGET.
    if [[ "$line" == *$'\t'* ]]; then
      path="${line%%$'\t'*}" target="${line#*$'\t'}"
    else
      path="${line%% *}" target="${line#* }"
    fi
    # A link the shared base made since is replaced; anything else of theirs is left.
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    if as_user "$user" "$home" sh -c '[ -e "$1" ] && [ ! -L "$1" ]' sh "$path"; then
      warn "$(quoted "$path") is no longer a link (the person made it): left as it is, not linked to $(quoted "$target")"
      continue
    fi
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    as_user "$user" "$home" sh -c 'mkdir -p -- "$(dirname -- "$1")" && ln -s -f -n -T -- "$2" "$1"' sh "$path" "$target"
    changed "$(quoted "$path") -> $(quoted "$target")"
  done <"$snap/links"
}

# rollback_shared_group USER GROUPS
rollback_shared_group() {
  local user="$1" groups="$2"
  step "groups"
  if [[ ",$groups," == *",$WS_SHARED_CODE_GROUP,"* ]] && ! in_group "$user" "$WS_SHARED_CODE_GROUP"; then
    lock accounts
    gpasswd -a "$user" "$WS_SHARED_CODE_GROUP" >/dev/null
    unlock accounts
    changed "$user is in $WS_SHARED_CODE_GROUP again"
  fi
}
