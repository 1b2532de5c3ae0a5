# shellcheck shell=bash
# purge.sh — `user purge` and `user restore` (docs/host.md): the explicit,
# never-automatic end of a cut person's home, and its way back. A purge
# archives the whole home (a gzip'd POSIX tar: owners, modes, symlinks and
# sub-second mtimes) with a manifest of sha256 sums, reads the archive back
# and checks it against the manifest, and only then deletes the account and
# its home. What it did is recorded in /etc/workstation/purged/USER (uid, gid,
# archive, date), which `user restore` reads to bring the home back under the
# same uid. Sourced by bin/workstation.

readonly WS_PURGED_DIR="$WS_ETC/purged"
readonly WS_VERIFY_DIR=/var/lib/workstation/verify

purged_record() { printf '%s/%s' "$WS_PURGED_DIR" "$1"; }

# ensure_archive_dir DIR: root's, 0700, a real directory (never through a link).
ensure_archive_dir() {
  local dir="$1" problem
  problem="$(root_path_problem "$dir")"
  [[ -z "$problem" ]] || die_refused "--archive-dir $dir: $problem; a home is archived only below folders no one else can change"
  ensure_dir "$dir" 0700
  [[ -d "$dir" && ! -L "$dir" && "$(stat -c '%u %a' -- "$dir")" == "0 700" ]] ||
    die_refused "$dir must be a directory of root's with mode 0700 (it holds whole homes)"
}

# How long a purge may spend reading a home (the manifest, then the archive) and the
# check reading the archive back: the person shaped what is in it (huge or sparse files,
# millions of names), so it is bounded; past it the purge fails and nothing is deleted.
WS_PURGE_READ_TIMEOUT="${WS_PURGE_READ_TIMEOUT:-14400}"

# home_manifest HOME: sha256sum lines of every regular file below HOME, paths
# relative to it, streamed as find meets them (no list of every name held in memory;
# sha256sum -c needs no order; a name with a newline is escaped onto one line). The
# person is cut (no process of theirs runs), so nothing in the home changes while it
# is read; still, at most WS_PURGE_READ_TIMEOUT seconds.
home_manifest() {
  (cd -- "$1" && timeout "$WS_PURGE_READ_TIMEOUT" find . -xdev -type f -print0 |
    timeout "$WS_PURGE_READ_TIMEOUT" xargs -0 -r sha256sum --)
}

# file_count DIR: the regular files below DIR (names with newlines count once).
file_count() {
  (cd -- "$1" && find . -type f -printf . | wc -c)
}

# verify_archive USER ARCHIVE MANIFEST: the archive reads back, holds only
# USER/..., and every file in it matches the manifest (no more, no fewer).
verify_archive() {
  local user="$1" archive="$2" manifest="$3" scratch bad have want
  bad="$(tar -tzf "$archive" | grep -v -e "^$user/" -e "^$user\$" | head -n 3 || true)"
  [[ -z "$bad" ]] || die "$archive holds entries outside $user/: $bad"
  # Root's own scratch (never the world-writable /var/tmp): the archive is unpacked there.
  ensure_root_dir "$WS_VERIFY_DIR"
  scratch="$(mktemp -d "$WS_VERIFY_DIR/verify.XXXXXX")"
  if ! timeout "$WS_PURGE_READ_TIMEOUT" tar -xzf "$archive" --numeric-owner -C "$scratch" ||
    ! (cd -- "$scratch/$user" && timeout "$WS_PURGE_READ_TIMEOUT" sha256sum --quiet --strict -c -- "$manifest" >/dev/null); then
    rm -rf -- "$scratch"
    die "$archive does not match its manifest $manifest"
  fi
  have="$(file_count "$scratch/$user")"
  want="$(wc -l <"$manifest")"
  rm -rf -- "$scratch"
  [[ "$have" == "$want" ]] || die "$archive holds $have files, its manifest $want"
}

cmd_user_purge() {
  local -A args=()
  parse_args "user purge" args "$@"
  local user="${args[user]}" dir="${args[--archive-dir]:-}" uid_arg="${args[--uid]:-}"
  [[ "$dir" =~ $WS_RE_HOST_PATH ]] || die_usage "--archive-dir $(describe "$dir"): an absolute path, no component starting with a dot"
  [[ -z "$uid_arg" ]] || valid_uid "$uid_arg"
  require_root_site

  local record
  record="$(purged_record "$user")"
  if ! getent passwd "$user" >/dev/null; then
    local -A purged=()
    if read_kv "$record" purged; then
      log "notice: $user is purged already: archive ${purged[ARCHIVE]:-} (${purged[DATE]:-})"
    else
      log "notice: no account $user; nothing to purge"
    fi
    return 0
  fi
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  [[ "$user" != "$(site_get ADMIN_USER)" ]] || die_refused "$user is the admin: a purge never acts on the admin"
  is_suspended "$user" ||
    die_refused "$user is not cut: retire them first (move the entry to retired: and run pulumi up), then set purge: true"
  local uid gid home
  uid="$(id -u -- "$user")"
  gid="$(id -g -- "$user")"
  [[ -z "$uid_arg" || "$uid" == "$uid_arg" ]] || die_refused "account $user has uid $uid, the roster pins $uid_arg"
  home="$(getent passwd "$user" | cut -d: -f6)"
  [[ "$home" == "$(user_path "$WS_HOME" "$user")" && -d "$home" && ! -L "$home" ]] ||
    die_refused "account $user's home is $home, not $(user_path "$WS_HOME" "$user"): purge it by hand"

  lock "user-$user"
  step "processes"
  stop_as_user_leftovers "$user"
  ensure_units_stopped "$user"
  end_processes "$user" || die "processes of $user survive SIGKILL: $(live_pids "$uid")"
  local -A made=()
  archive_home "$user" "$uid" "$home" "$dir" made
  local archive="${made[archive]}" manifest="${made[manifest]}" stamp="${made[stamp]}" sum files

  step "verify"
  verify_archive "$user" "$archive" "$manifest"
  sum="$(sha256sum -- "$archive" | cut -d' ' -f1)"
  files="$(wc -l <"$manifest")"

  step "record"
  ensure_dir "$WS_PURGED_DIR" 0700
  write_if_changed "$record" 0600 root:root "$(printf '%s\n' "UID=$uid" "GID=$gid" "ARCHIVE=$archive" \
    "MANIFEST=$manifest" "SHA256=$sum" "FILES=$files" "DATE=$stamp")"$'\n'
  delete_account "$user" "$uid" "$home" "$archive"
  changed "purged $user (uid $uid): archive $archive, $files files, sha256 $sum, $stamp"
  log "user purge $user: done; to bring the home back: workstation user restore $user --from $archive"
}

# archive_home USER UID HOME DIR MADE: HOME archived into DIR, with its manifest; their
# paths and the time stamp in the associative array MADE (archive, manifest, stamp).
archive_home() {
  local user="$1" uid="$2" home="$3" dir="$4"
  local -n _made="$5"
  step "archive"
  ensure_archive_dir "$dir"
  local stamp base archive manifest f
  # An interrupted purge's temp files (ours: this user's, this uid's) go first.
  for f in "$dir/$user-$uid-"*.ws-tmp; do
    [[ -e "$f" ]] || continue
    rm -f -- "$f"
    changed "removed leftover $f"
  done
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  base="$dir/$user-$uid-$stamp"
  archive="$base.tar.gz"
  manifest="$base.sha256"
  if ! home_manifest "$home" >"$manifest.ws-tmp" ||
    ! timeout "$WS_PURGE_READ_TIMEOUT" tar --create --gzip --format=posix --numeric-owner --sparse --one-file-system \
      --file "$archive.ws-tmp" -C "$(dirname -- "$home")" -- "$user"; then
    rm -f -- "$manifest.ws-tmp" "$archive.ws-tmp"
    die "could not archive $home within ${WS_PURGE_READ_TIMEOUT}s (or at all); nothing was deleted"
  fi
  sync -f "$archive.ws-tmp"
  mv -f -T -- "$manifest.ws-tmp" "$manifest"
  mv -f -T -- "$archive.ws-tmp" "$archive"
  chmod 0600 "$archive" "$manifest"

  _made=([archive]="$archive" [manifest]="$manifest" [stamp]="$stamp")
}

# delete_account USER UID HOME ARCHIVE: the account, its home and every record of it go
# (the archive, checked, is named in the error of a failure).
delete_account() {
  local user="$1" uid="$2" home="$3" archive="$4"
  step "account"
  lock accounts
  # userdel warns (exit 0) about a missing mail spool; what counts is that both are gone.
  userdel -r -- "$user" >/dev/null 2>&1 || true
  unlock accounts
  if getent passwd "$user" >/dev/null || [[ -e "$home" ]]; then
    die "userdel -r $user left the account or $home behind; the archive $archive is complete and checked"
  fi
  remove_file "$WS_SUSPENDED_DIR/$user"
  remove_file "$(user_record_file "$user")"
  remove_file "$(secrets_record_file "$user")"
  remove_file "$(bindings_file "$user")"
  remove_file "$(playwright_entry_record "$user")"
  # A later account with this uid must not inherit the budget.
  remove_budget "$user" "$uid"
  systemctl daemon-reload
}

cmd_user_restore() {
  local -A args=()
  parse_args "user restore" args "$@"
  local user="${args[user]}" archive="${args[--from]:-}"
  [[ "$archive" =~ $WS_RE_HOST_PATH && "$archive" == *.tar.gz ]] ||
    die_usage "--from $(describe "$archive"): the absolute path of a purge's .tar.gz"
  require_root

  local record home manifest uid gid
  record="$(purged_record "$user")"
  home="$(user_path "$WS_HOME" "$user")"
  manifest="${archive%.tar.gz}.sha256"
  ! getent passwd "$user" >/dev/null || die_refused "account $user exists: restore brings back a purged person only"
  [[ ! -e "$home" && ! -L "$home" ]] || die_refused "$home exists"
  [[ -f "$record" ]] || die_refused "no purge of $user is recorded ($record): the uid to restore under is unknown"
  [[ -f "$archive" && ! -L "$archive" && -f "$manifest" && ! -L "$manifest" ]] ||
    die_refused "$archive and its manifest $manifest must both exist"
  # Checked, then unpacked again: no one else may swap the archive in between.
  local problem
  problem="$(root_path_problem "$(dirname -- "$archive")")"
  [[ -z "$problem" ]] || die_refused "--from $archive: $problem; an archive is restored only from folders no one else can change"
  local -A purged=()
  read_kv "$record" purged
  uid="${purged[UID]:-}"
  gid="${purged[GID]:-}"
  [[ "$uid" =~ ^[0-9]+$ && "$gid" =~ ^[0-9]+$ ]] || die "$record: bad UID or GID"
  ! getent passwd "$uid" >/dev/null || die_refused "uid $uid is used by $(getent passwd "$uid" | cut -d: -f1) now"
  ! getent group "$user" >/dev/null || die_refused "a group named $user exists"
  ! getent group "$gid" >/dev/null || die_refused "gid $gid is used by the group $(getent group "$gid" | cut -d: -f1) now"

  lock "user-$user"
  step "verify"
  (verify_archive "$user" "$archive" "$manifest") || die_refused "$archive is not the archive its manifest describes: nothing restored"

  # Back cut, as the purge found them: the roster's next account step resumes them.
  step "account"
  lock accounts
  ensure_group "$WS_MARKER_GROUP"
  groupadd -g "$gid" -- "$user"
  useradd -M -d "$home" -s /bin/zsh -u "$uid" -g "$gid" -G "$WS_MARKER_GROUP" -- "$user"
  write_suspension_record "$user" L ""
  ensure_locked "$user"
  unlock accounts
  changed "account $user (uid $uid), cut"

  step "home"
  tar -xzf "$archive" --numeric-owner --same-owner --same-permissions -C "$(dirname -- "$home")"
  changed "$home restored from $archive"
  log "user restore $user: done; the account stays cut until the roster brings $user back"
}
