# shellcheck shell=bash
# move.sh — `user move-out` and `user move-in` (docs/host.md, docs/runbooks/move-person.md):
# a person's home carried from one devvm to another through a restic repository both reach.
# move-out on host A is the offboarding cut (`user suspend`) and then a final snapshot of
# the home, recorded in /etc/workstation/moved/USER; move-in on host B creates the account
# with the same uid (the account step's own code, and left cut), restores the snapshot into
# a root-only folder beside the homes, maps the owners, and only then renames it into place.
# The repository password arrives on stdin and reaches restic as a root 0600 file
# (RESTIC_PASSWORD_FILE), as in backup.sh; a repository URL with credentials is refused.
# Root reads and writes a person's files here, so every restic run is bounded in time
# (WS_MOVE_TIMEOUT) and every walk of the restored tree is -xdev and never follows a link.
# Sourced by bin/workstation after account.sh, user.sh and backup.sh.

readonly WS_MOVED_DIR="$WS_ETC/moved"
readonly WS_MOVED_IN_DIR="$WS_ETC/moved-in"
readonly WS_MOVE_PASSWORD="$WS_ETC/move.password"
# Where move-in restores: beside the homes (the same file system, so the last step is a
# rename), root's and 0700, so no one can reach the tree while root maps its owners.
readonly WS_MOVE_SCRATCH="${WS_HOME%/%s}/.ws-move-in"
readonly WS_MOVE_TAG=workstation-move
# How long one restic run of a move may take (the home is the person's: its size is theirs).
WS_MOVE_TIMEOUT="${WS_MOVE_TIMEOUT:-14400}"

# move_restic REPO ARGS...: restic on REPO with the move's password file, bounded. No local
# cache: a retry after the repository was mended must read the repository, not the damaged
# blobs a failed restore cached (restic 0.14 trusts its cache).
move_restic() {
  local repo="$1"
  shift
  RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD_FILE="$WS_MOVE_PASSWORD" \
    timeout --kill-after=10 "$WS_MOVE_TIMEOUT" restic --quiet --no-cache "$@"
}

# move_args VERB RESULT ARGS...: the verb's options, checked before anything is touched:
# the repository (no credentials), the switch --password-stdin, and the password itself
# (one non-empty line), which lands in RESULT[password].
move_args() {
  local verb="$1"
  local -n _move="$2"
  shift 2
  parse_args "$verb" _move "$@"
  local repo="${_move[--repo]:-}" password
  [[ -n "$repo" ]] || die_usage "--repo is required (usage: $(verb_usage "$verb"))"
  no_credentials "$repo" --repo
  [[ "$repo" =~ $WS_RE_RESTIC_REPO ]] || die_usage "--repo $(describe "$repo"): an absolute path or a restic URL (sftp:, rest:, s3:, …)"
  ((${_move[--password-stdin]:-0})) || die_usage "--password-stdin is required: the repository password comes on stdin, never as an argument"
  if [[ "$verb" == "user move-in" ]]; then
    [[ -n "${_move[--uid]:-}" ]] || die_usage "--uid is required: the account keeps the uid it has on the host it leaves"
    valid_uid "${_move[--uid]}"
    [[ "${_move[--snapshot]:-}" =~ ^[0-9a-f]{8,64}$ ]] || die_usage "--snapshot $(describe "${_move[--snapshot]:-}"): the snapshot id move-out printed"
  fi
  password="$(head -c 4096)"
  password="${password%$'\n'}"
  [[ -n "$password" && "$password" != *$'\n'* ]] || die_usage "--password-stdin: one non-empty line on stdin"
  _move[password]="$password"
}

# ensure_move_password PASSWORD: the password in its root 0600 file (never shown).
ensure_move_password() {
  ensure_dir "$WS_ETC" 0755
  file_equals "$WS_MOVE_PASSWORD" "$1"$'\n' && return 0
  write_if_changed "$WS_MOVE_PASSWORD" 0600 root:root "$1"$'\n' >/dev/null
  changed "$WS_MOVE_PASSWORD (the move repository's password; not shown)"
}

# home_fingerprint HOME: one hash of every name below HOME with its type, mode, owners,
# size, mtime, ctime and link target: equal only when nothing in the home changed.
home_fingerprint() {
  (cd -- "$1" && timeout "$WS_MOVE_TIMEOUT" find . -xdev -printf '%p\0%y %m %U %G %s %T@ %C@\0%l\0' | sha256sum | cut -d' ' -f1)
}

# --- user move-out USER --repo URL --password-stdin -----------------------------------

cmd_user_move-out() {
  local -A args=()
  move_args "user move-out" args "$@"
  local user="${args[user]}" repo="${args[--repo]}" record
  record="$WS_MOVED_DIR/$user"
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  [[ "$user" != "$(site_get ADMIN_USER)" ]] || die_refused "$user is the admin: automation never cuts or moves the admin"
  if ! getent passwd "$user" >/dev/null; then
    local -A moved=()
    read_kv "$record" moved 2>/dev/null || die_refused "no account $user, and no move-out of $user is recorded ($record)"
    log "notice: no account $user; moved out already: snapshot ${moved[SNAPSHOT]:-?}"
    printf 'snapshot %s\n' "${moved[SNAPSHOT]:-}"
    return 0
  fi
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  local home
  home="$(getent passwd "$user" | cut -d: -f6)"
  [[ "$home" == "$(user_path "$WS_HOME" "$user")" && -d "$home" && ! -L "$home" ]] ||
    die_refused "account $user's home is $home, not $(user_path "$WS_HOME" "$user"): move it by hand"
  command -v restic >/dev/null || die "restic is not installed: run the base step (workstation base apply) first"

  # (a) the offboarding's own cut; it ends holding the person's lock.
  cmd_user_suspend "$user"
  step "move password"
  ensure_move_password "${args[password]}"
  step "move snapshot"
  move_snapshot "$user" "$home" "$repo" "$record"
  log "user move-out $user: done; $user stays cut here until a purge (docs/runbooks/move-person.md)"
}

# move_snapshot USER HOME REPO RECORD: the final snapshot of HOME in REPO, recorded; one
# already recorded for this repository, of a home unchanged since, is reused.
move_snapshot() {
  local user="$1" home="$2" repo="$3" record="$4" print id uid gid
  local -A moved=()
  print="$(home_fingerprint "$home")" || die "could not read $home within ${WS_MOVE_TIMEOUT}s; $user stays cut here, the home untouched"
  if read_kv "$record" moved 2>/dev/null && [[ "${moved[REPOSITORY]:-}" == "$repo" && "${moved[FINGERPRINT]:-}" == "$print" ]] &&
    [[ "${moved[SNAPSHOT]:-}" =~ ^[0-9a-f]{64}$ ]] && move_restic "$repo" cat snapshot "${moved[SNAPSHOT]}" >/dev/null 2>&1; then
    log "the home is as snapshot ${moved[SNAPSHOT]:0:8} holds it: reused"
    printf 'snapshot %s\n' "${moved[SNAPSHOT]}"
    return 0
  fi
  if ! move_restic "$repo" cat config >/dev/null 2>&1; then
    move_restic "$repo" init >/dev/null || die "could not open or initialise the restic repository $repo; $user stays cut here, the home untouched"
    changed "restic repository $repo initialised"
  fi
  # Everything in the home, on its own file system: no size cut-off (a move leaves nothing behind).
  id="$(move_restic "$repo" backup --json --one-file-system --tag "$WS_MOVE_TAG" --tag "user=$user" -- "$home" |
    jq -r 'select(.message_type == "summary") | .snapshot_id')" ||
    die "the final snapshot of $home failed (or took over ${WS_MOVE_TIMEOUT}s); $user stays cut here, the home untouched"
  # restic 0.14's summary names the snapshot by its short id: the record keeps the full one.
  [[ "$id" =~ ^[0-9a-f]{8,64}$ ]] || die "restic printed no snapshot id for $home; $user stays cut here, the home untouched"
  id="$(move_restic "$repo" snapshots --json "$id" | jq -r '.[0].id // empty')"
  [[ "$id" =~ ^[0-9a-f]{64}$ ]] || die "restic lists no snapshot of $home just taken; $user stays cut here, the home untouched"
  uid="$(stat -c %u -- "$home")"
  gid="$(stat -c %g -- "$home")"
  ensure_dir "$WS_MOVED_DIR" 0700
  write_if_changed "$record" 0600 root:root "$(printf '%s\n' "# Written by workstation user move-out; parsed, never sourced." \
    "SNAPSHOT=$id" "REPOSITORY=$repo" "UID=$uid" "GID=$gid" "FINGERPRINT=$print" "DATE=$(date -u +%Y%m%dT%H%M%SZ)")" >/dev/null
  changed "snapshot $id of $home in $repo (recorded in $record)"
  printf 'snapshot %s\n' "$id"
}

# --- user move-in USER --uid N --snapshot ID --repo URL --password-stdin --------------

cmd_user_move-in() {
  local -A args=()
  move_args "user move-in" args "$@"
  local user="${args[user]}" uid="${args[--uid]}" snapshot="${args[--snapshot]}" repo="${args[--repo]}" home record
  record="$WS_MOVED_IN_DIR/$user"
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  [[ "$user" != "$(site_get ADMIN_USER)" ]] || die_refused "$user is the admin: the admin is never moved by automation"
  command -v restic >/dev/null || die "restic is not installed: run the base step (workstation base apply) first"
  lock "user-$user"
  step "guards"
  local -A done_in=()
  if read_kv "$record" done_in 2>/dev/null && [[ "${done_in[SNAPSHOT]:-}" == "$snapshot"* ]] && getent passwd "$user" >/dev/null; then
    log "notice: $user was moved in from snapshot ${done_in[SNAPSHOT]:0:8} already; nothing to do"
    return 0
  fi
  move_in_guards "$user" "$uid" home
  step "move password"
  ensure_move_password "${args[password]}"
  step "snapshot"
  local full
  move_snapshot_id "$repo" "$snapshot" "$user" full
  step "account"
  move_in_account "$user" "$uid" "$home"
  step "restore"
  move_restore "$user" "$uid" "$home" "$repo" "$full"
  ensure_dir "$WS_MOVED_IN_DIR" 0700
  write_if_changed "$record" 0600 root:root "$(printf '%s\n' "# Written by workstation user move-in; parsed, never sourced." \
    "SNAPSHOT=$full" "REPOSITORY=$repo" "DATE=$(date -u +%Y%m%dT%H%M%SZ)")" >/dev/null
  log "user move-in $user: done; $user is cut here until the account step resumes them (docs/runbooks/move-person.md)"
}

# move_in_guards USER UID HOME: what refuses a move-in, decided before anything is touched.
# An account USER may exist only if it is managed, has UID, and its home holds nothing but
# what /etc/skel gave it (an earlier move-in that failed left it so); otherwise the account
# step's own guards (uid taken by someone else, a group or a home of that name, a purged uid).
move_in_guards() {
  local user="$1" uid="$2" entry
  local -n _mi_home="$3"
  if entry="$(getent passwd "$user")"; then
    has_marker "$user" || die_refused "account $user exists here and is not managed (no '$WS_MARKER_GROUP' group)"
    [[ "$(cut -d: -f3 <<<"$entry")" == "$uid" ]] || die_refused "account $user exists here with uid $(cut -d: -f3 <<<"$entry"), not $uid"
    _mi_home="$(cut -d: -f6 <<<"$entry")"
    [[ "$_mi_home" == "$(user_path "$WS_HOME" "$user")" && -d "$_mi_home" && ! -L "$_mi_home" ]] ||
      die_refused "account $user exists here with the home $_mi_home: move-in restores only into $(user_path "$WS_HOME" "$user")"
    local other
    other="$(home_beyond_skel "$_mi_home" 3 | while IFS= read -r -d '' f; do printf ' %s' "$(quoted "$f")"; done)"
    [[ -z "$other" ]] || die_refused "account $user exists here and its home holds files of its own (${other# }…): a move-in never overwrites a home"
  else
    account_guards "$user" "$uid" 0 _mi_home
    ensure_uid_not_purged "$user" "$uid"
  fi
}

# home_beyond_skel HOME MAX: up to MAX NUL-ended names below HOME that are not /etc/skel's
# own, alike (the same type, and a regular file with the same bytes). Read as root, only
# compared, and bounded (60 s for the walk, 5 s a comparison: a file swapped for a FIFO after
# the type check can't hold it; a comparison that times out counts as a difference).
home_beyond_skel() {
  local f n=0
  while IFS= read -r -d '' f; do
    if [[ -L "$1/$f" || -L "/etc/skel/$f" ]]; then
      [[ -L "$1/$f" && -L "/etc/skel/$f" && "$(readlink -- "$1/$f")" == "$(readlink -- "/etc/skel/$f")" ]] && continue
    elif [[ -d "$1/$f" ]]; then
      [[ -d "/etc/skel/$f" ]] && continue
    elif [[ -f "$1/$f" && -f "/etc/skel/$f" ]] && timeout 5 cmp -s -- "$1/$f" "/etc/skel/$f"; then
      continue
    fi
    printf '%s\0' "${f#./}"
    n=$((n + 1))
    ((n < $2)) || break
  done < <(cd -- "$1" && timeout 60 find . -xdev -mindepth 1 -print0)
}

# move_snapshot_id REPO ID USER FULL: the snapshot's full id into the variable FULL names, when
# REPO has it and it holds USER's home; otherwise the move-in is refused before anything is touched.
move_snapshot_id() {
  local repo="$1" id="$2" user="$3" json
  local -n _full="$4"
  json="$(move_restic "$repo" snapshots --json "$id" 2>/dev/null)" ||
    die_refused "the repository $repo can't be read (nothing was touched)"
  _full="$(jq -r --arg p "$(user_path "$WS_HOME" "$user")" '[.[] | select(.paths == [$p])] | .[0].id // empty' <<<"$json")"
  [[ "$_full" =~ ^[0-9a-f]{64}$ ]] ||
    die_refused "$repo has no snapshot $id of $(user_path "$WS_HOME" "$user") (move-out prints it; nothing was touched)"
}

# move_in_account USER UID HOME: the account as the account step makes it (marker group,
# the pinned uid, subordinate ids, a locked password, a home from /etc/skel), and cut at
# once: the person is never active here before the program's account step resumes them.
move_in_account() {
  local user="$1" uid="$2" home="$3"
  getent passwd "$user" >/dev/null || ensure_account_entry "$user" "$uid" "$home" --
  lock accounts
  record_suspension "$user"
  ensure_locked "$user"
  unlock accounts
}

# move_restore USER UID HOME REPO ID: the snapshot into the scratch folder, its owners mapped
# to the account's ids here, then renamed into place: the home /etc/skel gave goes aside only
# once the restored one is whole, and on any failure the scratch goes and the home stays.
move_restore() {
  local user="$1" uid="$2" home="$3" repo="$4" id="$5" scratch tree gid
  scratch="$WS_MOVE_SCRATCH/$user"
  ensure_root_dir "$WS_MOVE_SCRATCH"
  if [[ -e "$scratch" || -L "$scratch" ]]; then
    rm -rf --one-file-system -- "$scratch"
    changed "removed the leftover $scratch of an interrupted move-in"
  fi
  mkdir -m 0700 -- "$scratch"
  tree="$scratch/${home#/}"
  if ! move_restic "$repo" restore "$id" --target "$scratch" --include "$home" >/dev/null ||
    [[ ! -d "$tree" || -L "$tree" ]]; then
    rm -rf --one-file-system -- "$scratch"
    die "the restore of snapshot ${id:0:8} failed (or took over ${WS_MOVE_TIMEOUT}s); nothing was put in $home"
  fi
  gid="$(id -g -- "$user")"
  map_owners "$tree" "$uid" "$gid" || { rm -rf --one-file-system -- "$scratch"; die "could not map the owners in $tree; nothing was put in $home"; }
  swap_home "$tree" "$home" "$scratch"
  rm -rf --one-file-system -- "$scratch"
  changed "$home restored from snapshot ${id:0:8} (uid $uid, gid $gid)"
}

# map_owners TREE UID GID: what the home's owner and group were on the other host (the
# restored TREE's own) become UID and GID here; every other owner (a subordinate id's, root's)
# stays. Never through a link (-h, find -P) and never onto another file system (-xdev): the
# person made every name in TREE, a link to /etc/shadow included.
map_owners() {
  local tree="$1" uid="$2" gid="$3" old_uid old_gid
  read -r old_uid old_gid < <(stat -c '%u %g' -- "$tree")
  if [[ "$old_uid" != "$uid" ]]; then
    timeout "$WS_MOVE_TIMEOUT" find -P "$tree" -xdev -uid "$old_uid" -exec chown -h -- "$uid" {} + || return 1
  fi
  if [[ "$old_gid" != "$gid" ]]; then
    timeout "$WS_MOVE_TIMEOUT" find -P "$tree" -xdev -gid "$old_gid" -exec chgrp -h -- "$gid" {} + || return 1
  fi
}

# swap_home TREE HOME SCRATCH: TREE becomes HOME by rename; the home that was there (what
# /etc/skel gave, checked by the guards) goes to SCRATCH first and is deleted with it.
swap_home() {
  local tree="$1" home="$2" scratch="$3"
  if [[ -e "$home" ]]; then
    mv -T -- "$home" "$scratch/skel-home"
  fi
  mv -T -- "$tree" "$home"
}
