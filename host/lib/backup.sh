# shellcheck shell=bash
# backup.sh — `backup apply | run | restore` (docs/host.md, docs/runbooks/restore-home.md):
# restic backups of /home on a systemd timer. The repository and retention are
# site values in /etc/workstation/backup.env (parsed, never sourced); the
# repository password arrives on stdin and lives only in a root 0600 file,
# handed to restic by path (RESTIC_PASSWORD_FILE), never in an argument; a
# repository URL with credentials (user:password@) is refused. Root reads
# everyone's files here, so the run is bounded: files larger than MAX_FILE_SIZE
# (--max-file-size, default $WS_DEFAULT_BACKUP_MAX_FILE_SIZE) are skipped and
# listed, no other file system (a person's FUSE mount) is entered, and the
# service has a TimeoutStartSec.
# Sourced by bin/workstation.

readonly WS_BACKUP_ENV="$WS_ETC/backup.env"
readonly WS_BACKUP_PASSWORD="$WS_ETC/backup.password"
readonly WS_BACKUP_TIMER=workstation-backup.timer
readonly WS_BACKUP_DROPIN="$WS_UNIT_DIR/$WS_BACKUP_TIMER.d/50-schedule.conf"


# restic_run ARGS...: restic with the repository of backup.env and the password file.
restic_run() {
  local repo
  local -A backup=()
  read_kv "$WS_BACKUP_ENV" backup || die "$WS_BACKUP_ENV is missing: run 'workstation backup apply' first"
  repo="${backup[REPOSITORY]:-}"
  [[ -f "$WS_BACKUP_PASSWORD" ]] || die "$WS_BACKUP_PASSWORD is missing: run 'workstation backup apply --password-stdin' first"
  RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD_FILE="$WS_BACKUP_PASSWORD" RESTIC_CACHE_DIR=/var/cache/workstation-restic \
    restic --quiet "$@"
}

cmd_backup_apply() {
  local -A args=()
  parse_args "backup apply" args "$@"
  local repo="${args[--repository]:-}" daily="${args[--keep-daily]:-}" weekly="${args[--keep-weekly]:-}"
  local monthly="${args[--keep-monthly]:-}" calendar="${args[--on-calendar]-daily}" password_stdin="${args[--password-stdin]:-0}"
  local password="" max_size="${args[--max-file-size]-$WS_DEFAULT_BACKUP_MAX_FILE_SIZE}"
  no_credentials "$repo" --repository
  [[ "$repo" =~ $WS_RE_RESTIC_REPO ]] || die_usage "--repository $(describe "$repo"): an absolute path or a restic URL (sftp:, rest:, s3:, …)"
  local n
  for n in "$daily" "$weekly" "$monthly"; do
    [[ "$n" =~ ^[0-9]{1,4}$ ]] || die_usage "--keep-daily, --keep-weekly and --keep-monthly take a count (0-9999), not $(describe "$n")"
  done
  ((daily + weekly + monthly > 0)) || die_usage "a retention that keeps nothing: give --keep-daily, --keep-weekly or --keep-monthly a count above 0"
  [[ "$calendar" =~ $WS_RE_ON_CALENDAR ]] || die_usage "--on-calendar $(describe "$calendar"): a systemd calendar expression"
  [[ "$max_size" =~ $WS_RE_MEMORY_SIZE ]] || die_usage "--max-file-size $(describe "$max_size"): a size like 4G or 512M"
  ((password_stdin)) || die_usage "--password-stdin is required: the repository password comes on stdin, never as an argument"
  password="$(cat)"
  password="${password%$'\n'}"
  [[ -n "$password" && "$password" != *$'\n'* ]] || die_usage "--password-stdin: one non-empty line on stdin"
  require_root
  command -v restic >/dev/null || die "restic is not installed: run the base step (workstation base apply) first"
  systemd-analyze calendar -- "$calendar" >/dev/null 2>&1 || die_usage "--on-calendar $(describe "$calendar"): systemd does not read it as a calendar"
  lock backup

  step "settings"
  ensure_dir "$WS_ETC" 0755
  # 0600: the repository's address is more than a name (a bucket, a host and path).
  write_if_changed "$WS_BACKUP_ENV" 0600 root:root "$(printf '%s\n' "# Written by workstation backup apply; parsed, never sourced." \
    "REPOSITORY=$repo" "KEEP_DAILY=$daily" "KEEP_WEEKLY=$weekly" "KEEP_MONTHLY=$monthly" "MAX_FILE_SIZE=$max_size")"$'\n'
  if ! file_equals "$WS_BACKUP_PASSWORD" "$password"$'\n'; then
    write_if_changed "$WS_BACKUP_PASSWORD" 0600 root:root "$password"$'\n' >/dev/null
    changed "$WS_BACKUP_PASSWORD (the repository password; not shown)"
  fi

  step "repository"
  if ! restic_run cat config >/dev/null 2>&1; then
    restic_run init >/dev/null
    changed "restic repository $repo initialised"
  fi

  step "timer"
  ensure_dir "$(dirname -- "$WS_BACKUP_DROPIN")" 0755
  local before after
  before="$(cat -- "$WS_BACKUP_DROPIN" 2>/dev/null || true)"
  write_if_changed "$WS_BACKUP_DROPIN" 0644 root:root "$(printf '%s\n' "[Timer]" "OnCalendar=" "OnCalendar=$calendar")"$'\n'
  after="$(cat -- "$WS_BACKUP_DROPIN")"
  [[ "$before" == "$after" ]] || systemctl daemon-reload
  if [[ "$(systemctl is-enabled "$WS_BACKUP_TIMER" 2>/dev/null || true)" != enabled ]] ||
    ! systemctl is-active --quiet "$WS_BACKUP_TIMER"; then
    systemctl enable --now --quiet "$WS_BACKUP_TIMER"
    changed "enabled and started $WS_BACKUP_TIMER"
  elif [[ "$before" != "$after" ]]; then
    systemctl restart "$WS_BACKUP_TIMER"
    changed "restarted $WS_BACKUP_TIMER on the new schedule"
  fi
  unlock backup
  log "backup apply: done"
}

# backup run: what workstation-backup.service runs. One snapshot of /home,
# then the retention (forget and prune).
cmd_backup_run() {
  (($# == 0)) || die_usage "usage: workstation backup run"
  require_root
  lock backup
  local -A backup=()
  read_kv "$WS_BACKUP_ENV" backup || die "$WS_BACKUP_ENV is missing: run 'workstation backup apply' first"
  local daily="${backup[KEEP_DAILY]:-}" weekly="${backup[KEEP_WEEKLY]:-}" monthly="${backup[KEEP_MONTHLY]:-}"
  local max_size="${backup[MAX_FILE_SIZE]:-}"
  [[ "$max_size" =~ $WS_RE_MEMORY_SIZE ]] || max_size="$WS_DEFAULT_BACKUP_MAX_FILE_SIZE"
  step "skipped files"
  report_large_files /home "$max_size"
  step "backup"
  restic_run backup --one-file-system --exclude-caches --exclude-larger-than "$max_size" --tag workstation /home
  step "retention"
  restic_run forget --prune --tag workstation --keep-daily "$daily" --keep-weekly "$weekly" --keep-monthly "$monthly"
  unlock backup
  log "backup run: done"
}

# How many skipped files a run names (the count is always given).
readonly WS_BACKUP_SKIPPED_SHOWN=50

# report_large_files DIR SIZE: warn, naming them (quoted: a person chose the name), about
# the regular files under DIR, on DIR's file system only, larger than SIZE (apparent size,
# what restic compares: a sparse file counts at its full length). They are not backed up.
report_large_files() {
  local k bytes n=0 f
  k="$(numfmt --from=iec -- "$2")" || return 0
  bytes=$((k))
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    ((n > WS_BACKUP_SKIPPED_SHOWN)) || warn "not backed up (larger than $2): $(quoted "$f")"
  done < <(find "$1" -xdev -type f -size +"$((bytes / 1024))k" -print0 2>/dev/null)
  ((n <= WS_BACKUP_SKIPPED_SHOWN)) || warn "not backed up (larger than $2): $((n - WS_BACKUP_SKIPPED_SHOWN)) more files"
  ((n == 0)) || log "backup: $n files larger than $2 skipped"
}

# backup snapshots: the repository's snapshots (read-only), for picking one to restore.
cmd_backup_snapshots() {
  (($# == 0)) || die_usage "usage: workstation backup snapshots"
  require_root
  restic_run snapshots --tag workstation
}

# backup restore USER --target DIR [--snapshot ID]: the user's home from a
# snapshot into DIR (new or empty), as root; nothing in the live home changes.
# The runbook (docs/runbooks/restore-home.md) says how to put files back.
cmd_backup_restore() {
  local -A args=()
  parse_args "backup restore" args "$@"
  local user="${args[user]}" target="${args[--target]:-}" snapshot="${args[--snapshot]:-latest}"
  [[ "$target" =~ $WS_RE_HOST_PATH ]] || die_usage "--target $(describe "$target"): an absolute path, no component starting with a dot"
  [[ "$snapshot" == latest || "$snapshot" =~ ^[0-9a-f]{8,64}$ ]] || die_usage "--snapshot $(describe "$snapshot"): latest or a snapshot id"
  case "$target" in /home | /home/*) die_usage "--target $target: restore beside the live homes, never into /home" ;; esac
  require_root
  ensure_fresh_root_dir "$target" --target
  step "restore"
  restic_run restore "$snapshot" --target "$target" --include "/home/$user"
  [[ -d "$target/home/$user" ]] || die "snapshot $snapshot has no /home/$user"
  # The person may reach their own files (to copy them back as themselves); the home's own mode keeps everyone else out.
  chmod 0711 -- "$target" "$target/home"
  changed "$target/home/$user restored from snapshot $snapshot"
  log "backup restore $user: done; the files are in $target/home/$user"
}
