# shellcheck shell=bash
# common.sh — logging, exit codes, locks and atomic writes shared by every
# workstation command. Sourced, never executed.
#
# Exit codes (docs/host.md): 0 ok, 2 bad arguments (nothing touched),
# 3 refused by a safety guard (nothing touched), 1 anything else.

export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 022

# shellcheck disable=SC2034 # used by the files that source this one
readonly WS_ROOT=/usr/local/lib/workstation
readonly WS_ETC=/etc/workstation
readonly WS_LOCK_DIR=/run/lock/workstation
# shellcheck disable=SC2034
readonly WS_MARKER_GROUP=workstation

# The exit code chosen on purpose (2 or 3); any other failure becomes 1.
WS_RC=""

ws_on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -z "$WS_RC" ]]; then
    echo "workstation: error: failed (exit $rc) at ${WS_STEP:-start}" >&2 || true
    exit 1
  fi
  exit "$rc"
}
trap ws_on_exit EXIT

# What the command is doing now; named in the error message of a failure.
WS_STEP=""
step() { WS_STEP="$*"; }

# A caller that went away (an interrupted SSH session) must not stop a run
# half-way: output errors are ignored and the run goes on to the end.
trap '' PIPE
log() { printf 'workstation: %s\n' "$*" 2>/dev/null || true; }
# A change to the host; a run that prints none of these changed nothing.
changed() { printf 'workstation: changed: %s\n' "$*" 2>/dev/null || true; }
warn() { printf 'workstation: warning: %s\n' "$*" >&2 2>/dev/null || true; }

die() { WS_RC=1; printf 'workstation: error: %s\n' "$*" >&2 || true; exit 1; }
die_usage() { WS_RC=2; printf 'workstation: bad argument: %s\n' "$*" >&2 || true; exit 2; }
die_refused() { WS_RC=3; printf 'workstation: refused: %s\n' "$*" >&2 || true; exit 3; }

require_root() {
  [[ "$(id -u)" -eq 0 ]] || die "must run as root"
}

# lock NAME: hold an exclusive flock on $WS_LOCK_DIR/NAME.lock until unlock
# NAME or the end of the process. Take locks in one order: user-*, then
# accounts, then shared files.
declare -A WS_LOCK_FDS=()
lock() {
  local name="$1" fd
  # Parallel runs (Pulumi applies users at once) may all find it missing
  # after a reboot: losing the mkdir race is fine.
  if [[ ! -d "$WS_LOCK_DIR" ]]; then
    mkdir -m 0700 -- "$WS_LOCK_DIR" 2>/dev/null || [[ -d "$WS_LOCK_DIR" ]] ||
      die "cannot create the lock directory $WS_LOCK_DIR"
  fi
  exec {fd}>"$WS_LOCK_DIR/$name.lock"
  flock "$fd"
  WS_LOCK_FDS["$name"]="$fd"
}

unlock() {
  local fd="${WS_LOCK_FDS[$1]:-}"
  [[ -n "$fd" ]] || return 0
  exec {fd}>&-
  unset 'WS_LOCK_FDS[$1]'
}

# file_equals PATH CONTENT: true when PATH is a regular file (not a symlink)
# whose bytes are exactly CONTENT. Creates nothing.
file_equals() {
  local path="$1" want="$2" have
  [[ -f "$path" && ! -L "$path" ]] || return 1
  have="$(cat -- "$path" && printf x)" || return 1
  [[ "${have%x}" == "$want" ]]
}

# clean_leftovers PATH: remove the temp files an interrupted write of PATH
# left next to it (.NAME.ws-tmp.*). Nothing there: nothing is touched.
clean_leftovers() {
  local dir base f
  dir="$(dirname -- "$1")"
  base="$(basename -- "$1")"
  for f in "$dir/.$base.ws-tmp."*; do
    [[ -e "$f" || -L "$f" ]] || continue
    rm -f -- "$f"
    changed "removed leftover $f"
  done
}

# write_if_changed PATH MODE OWNER:GROUP CONTENT
# Writes CONTENT to PATH atomically (temp file in the same directory, then
# rename) only when the bytes, mode or owner differ. Unchanged: nothing is
# created, so neither the file's nor the directory's mtime moves.
write_if_changed() {
  local path="$1" mode="$2" owner="$3" content="$4" dir base tmp
  dir="$(dirname -- "$path")"
  base="$(basename -- "$path")"
  clean_leftovers "$path"
  if file_equals "$path" "$content" &&
    [[ "$(stat -c '%a %U:%G' -- "$path")" == "$(printf '%o' "$((8#$mode))") $owner" ]]; then
    return 0
  fi
  tmp="$(mktemp "$dir/.$base.ws-tmp.XXXXXX")"
  printf '%s' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f -T -- "$tmp" "$path"
  changed "$path"
}

# ensure_dir PATH MODE: create a root-owned directory when missing. Safe
# against a parallel run creating it at the same moment (two users suspended
# at once both create /etc/workstation/suspended).
ensure_dir() {
  [[ ! -d "$1" ]] || return 0
  mkdir -p -- "$(dirname -- "$1")"
  if mkdir -m "$2" -- "$1" 2>/dev/null; then
    changed "$1/"
  elif [[ ! -d "$1" ]]; then
    die "cannot create the directory $1"
  fi
}

# --- site.env: KEY=VALUE lines, raw values, parsed (never sourced) ----------
readonly WS_SITE_ENV="$WS_ETC/site.env"
# Keys: REPO_URL OIDC_ISSUER OIDC_CLIENT_ID CLUSTER_NAME CLUSTER_SERVER VAULT_ADDR
# T3_COMMAND SNAPSHOT_URL. T3_COMMAND's ${T3_PORT} is expanded when t3 starts.
# shellcheck disable=SC2034,SC2016
readonly WS_DEFAULT_T3_COMMAND='t3 serve --host 127.0.0.1 --port ${T3_PORT}'
declare -A SITE=()

# load_site [FILE]: fills SITE[...] from site.env; fails when it is missing.
load_site() {
  local file="${1:-$WS_SITE_ENV}" line key
  [[ -r "$file" ]] || return 1
  SITE=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" == *=* && "$line" != \#* ]] || continue
    key="${line%%=*}"
    SITE["$key"]="${line#*=}"
  done <"$file"
}

site_get() { printf '%s' "${SITE[$1]:-}"; }

# --- running things as a managed user ----------------------------------------
# as_user USER HOME CMD...: run CMD as USER with a clean, minimal environment
# and the home as working directory (env vars never carry secrets here).
as_user() {
  local user="$1" home="$2"
  shift 2
  runuser -u "$user" -- env -i -C "$home" \
    HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/sh LANG=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin "$@"
}
