# shellcheck shell=bash
# common.sh — logging, exit codes, locks, atomic writes and running things as a
# user, shared by every workstation command. Sourced, never executed; sourcing
# defines names only: an entry point calls ws_init for traps, PATH and umask.
#
# Exit codes (docs/host.md): 0 ok, 2 bad arguments (nothing touched),
# 3 refused by a safety guard (nothing touched), 1 anything else.

# shellcheck source=host/lib/rules.sh
source "${BASH_SOURCE[0]%/*}/rules.sh"

# shellcheck disable=SC2034 # used by the files that source this one
readonly WS_ETC=/etc/workstation
# Locks and other run-time state: under /run (root's, 0755), not the world-writable
# /run/lock, so no user can create the directory first or plant links in it.
readonly WS_RUN_DIR=/run/workstation
# How long a command waits for a lock another run holds, at most.
WS_LOCK_WAIT="${WS_LOCK_WAIT:-120}"
# How long one command run as a user may take, unless the call says otherwise.
readonly WS_AS_USER_TIMEOUT=60

# The exit code chosen on purpose (2 or 3); any other failure becomes 1.
WS_RC=""

# ws_init: what an entry point does first. A caller that went away (an
# interrupted SSH session) must not stop a run half-way, so output errors are
# ignored and the run goes on to the end.
ws_init() {
  export LC_ALL=C
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umask 022
  trap ws_on_exit EXIT
  trap '' PIPE
}

ws_on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -z "$WS_RC" ]]; then
    echo "workstation: error: failed (exit $rc) at ${WS_STEP:-start}" >&2 || true
    rc=1
  fi
  journal_step "$rc" || true
  exit "$rc"
}

# The verb of this run (bin/workstation sets it), the person it acts on (cli.sh sets it once
# USER is valid), and whether it changed anything (changed sets it): what the run's one
# journal line says.
WS_VERB="" WS_PERSON="" WS_CHANGED=0

# journal_step RC: a root run of a verb that acts on a person writes one journal line on its
# way out (SYSLOG_IDENTIFIER=workstation; `workstation audit` reads it): the person, the verb,
# the result (ok, changed or failed) and the exit code, and where a failure stopped. Bounded;
# a host without journald (or a run as someone else) writes nothing, and the run's own
# result stands whatever happens here.
journal_step() {
  [[ -n "$WS_PERSON" && "$EUID" -eq 0 ]] || return 0
  journal_step_fields "$1" | timeout 5 logger --journald >/dev/null 2>&1 || true
}

# journal_step_fields RC: that line's fields, one KEY=VALUE a line (logger --journald's input).
journal_step_fields() {
  local result=ok
  ((!WS_CHANGED)) || result=changed
  (($1 == 0)) || result=failed
  printf '%s\n' "MESSAGE=$WS_VERB $WS_PERSON: $result (exit $1)" "SYSLOG_IDENTIFIER=workstation" \
    "PRIORITY=$( (($1 == 0)) && echo 6 || echo 4)" "WORKSTATION_USER=$WS_PERSON" "WORKSTATION_STEP=$WS_VERB" \
    "WORKSTATION_RESULT=$result" "WORKSTATION_EXIT=$1"
  local at="${WS_STEP:-start}"
  (($1 == 0)) || printf 'WORKSTATION_FAILED_AT=%s\n' "${at//[$'\n\r']/ }"
}

# What the command is doing now; named in the error message of a failure.
WS_STEP=""
step() { WS_STEP="$*"; }

log() { printf 'workstation: %s\n' "$*" 2>/dev/null || true; }
# A change to the host; a run that prints none of these changed nothing.
changed() {
  WS_CHANGED=1
  printf 'workstation: changed: %s\n' "$*" 2>/dev/null || true
}
warn() { printf 'workstation: warning: %s\n' "$*" >&2 2>/dev/null || true; }

die() { WS_RC=1; printf 'workstation: error: %s\n' "$*" >&2 || true; exit 1; }
die_usage() { WS_RC=2; printf 'workstation: bad argument: %s\n' "$*" >&2 || true; exit 2; }
die_refused() { WS_RC=3; printf 'workstation: refused: %s\n' "$*" >&2 || true; exit 3; }

# quoted TEXT: TEXT as it may appear in one of our messages when a person chose it (a
# process name, a file or link name): as it is when it holds only plain characters,
# else shell-quoted ($'...'), so a newline or a control character in it can never
# forge a line, or a key, of its own where it is printed.
quoted() {
  if [[ "$1" =~ ^[A-Za-z0-9@%+=:,./_~?-]+$ ]]; then
    printf '%s' "$1"
  else
    printf '%q' "$1"
  fi
}

require_root() {
  ((EUID == 0)) || die "must run as root"
}

# --- locks ------------------------------------------------------------------------

# ensure_run_dir: $WS_RUN_DIR exists and is a directory only root can enter:
# owned by root, mode 0700, not a symlink. Anything else is refused, never used.
# Checked once a run (every lock and run as a user asks): only root can change it
# after that, and no run of ours removes it.
WS_RUN_DIR_CHECKED=0
ensure_run_dir() {
  ((WS_RUN_DIR_CHECKED)) && return 0
  ensure_root_dir "$WS_RUN_DIR"
  WS_RUN_DIR_CHECKED=1
}

# ensure_root_dir DIR: DIR exists and is a directory only root can enter (root's,
# 0700, not a link); anything else is refused, never used. Parallel runs (Pulumi
# applies users at once) may all find it missing after a reboot: losing the mkdir
# race is fine, the check below still runs.
ensure_root_dir() {
  if [[ ! -e "$1" && ! -L "$1" ]]; then
    [[ -d "$(dirname -- "$1")" ]] || mkdir -p -- "$(dirname -- "$1")"
    mkdir -m 0700 -- "$1" 2>/dev/null || true
  fi
  local facts
  facts="$(stat -c '%F %u %a' -- "$1" 2>/dev/null)" || die "cannot create $1"
  [[ "$facts" == "directory 0 700" ]] ||
    die "$1 must be a root-owned 0700 directory, and is: $facts (type, owner uid, mode); refusing to use it"
}

# lock_holders FILE: the pids that have FILE open (for an error message).
lock_holders() {
  local fd pids=()
  for fd in /proc/[0-9]*/fd/*; do
    [[ "$(readlink -- "$fd" 2>/dev/null)" == "$1" ]] || continue
    fd="${fd#/proc/}"
    pids+=("${fd%%/*}")
  done
  printf '%s' "${pids[*]:-none found}"
}

# lock NAME: hold an exclusive flock on $WS_RUN_DIR/NAME.lock until unlock NAME
# or the end of the process; waits at most $WS_LOCK_WAIT seconds. Take locks in
# one order: user-*, then accounts, then shared files.
declare -A WS_LOCK_FDS=()
lock() {
  lock_try "$1" "$WS_LOCK_WAIT" ||
    die "waited ${WS_LOCK_WAIT}s for $WS_RUN_DIR/$1.lock (held by pid $(lock_holders "$WS_RUN_DIR/$1.lock")); try again when that run ends"
}

# lock_try NAME SECONDS: lock, but waiting at most SECONDS and returning 1
# instead of failing (for a periodic job that simply tries again later).
lock_try() {
  local name="$1" file fd
  ensure_run_dir
  file="$WS_RUN_DIR/$name.lock"
  # Only root can create names here, but never open a lock through a link anyway.
  [[ ! -L "$file" ]] || die "$file is a symbolic link; refusing to open it"
  exec {fd}>>"$file"
  if ! flock -w "$2" "$fd"; then
    exec {fd}>&-
    return 1
  fi
  WS_LOCK_FDS["$name"]="$fd"
}

unlock() {
  local fd="${WS_LOCK_FDS[$1]:-}"
  [[ -n "$fd" ]] || return 0
  exec {fd}>&-
  unset 'WS_LOCK_FDS[$1]'
}

# --- files root owns -----------------------------------------------------------------

# file_equals PATH CONTENT: true when PATH is a regular file (not a symlink)
# whose bytes are exactly CONTENT. Creates nothing. cmp, not a read into bash: bash drops
# NUL bytes (a padded copy would pass), and cmp stops at CONTENT's end, so a huge sparse
# file that starts with CONTENT is answered at once.
file_equals() {
  [[ -f "$1" && ! -L "$1" ]] || return 1
  # Under systemd SIGPIPE is ignored: printf's write error, when cmp stops first, is noise.
  { printf '%s' "$2" 2>/dev/null || true; } | cmp -s -- "$1" -
}

# file_parts PATH DIR BASE: what `dirname` and `basename` print for PATH, a file's path (no
# trailing slash), into the variables DIR and BASE, without two processes.
file_parts() {
  local -n _dir="$2" _base="$3"
  _base="${1##*/}"
  if [[ "$1" != */* ]]; then
    _dir=.
  else
    _dir="${1%/*}"
    [[ -n "$_dir" ]] || _dir=/
  fi
}

# clean_leftovers PATH: remove the temp files an interrupted write of PATH
# left next to it (.NAME.ws-tmp.*). Nothing there: nothing is touched.
clean_leftovers() {
  local dir base f
  file_parts "$1" dir base
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
  file_parts "$path" dir base
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

# remove_file PATH: delete a file of ours when it exists (reported as a change).
remove_file() {
  [[ -e "$1" || -L "$1" ]] || return 0
  rm -f -- "$1"
  changed "removed $1"
}

# --- shared files: never overwrite what Workstation did not write ------------------
#
# Files outside any home that a hand-made setup may already have (unit templates,
# the maps, the managed Claude settings, /etc/skel files) are written only when
# absent, already ours, or already holding exactly the new bytes. "Ours" is the
# ledger WS_OWNED: the sha256 of what we last wrote to each path. Anything else is
# refused (exit 3, nothing touched) until `workstation adopt record PATH` has
# backed the file up and handed it over. `workstation adopt plan` lists them.
readonly WS_OWNED="$WS_ETC/owned.sha256"

# owned_sha PATH: the sha256 we last wrote to PATH, or nothing.
owned_sha() {
  [[ -f "$WS_OWNED" ]] || return 0
  awk -v p="$1" '$2 == p { h = $1 } END { if (h != "") print h }' "$WS_OWNED"
}

# shared_state PATH SAME...: absent | same | ours | foreign. SAME is a command
# that succeeds when PATH already holds exactly the bytes we would write.
shared_state() {
  local path="$1" have
  shift
  [[ -e "$path" || -L "$path" ]] || { echo absent; return; }
  [[ -f "$path" && ! -L "$path" ]] || { echo foreign; return; }
  if "$@"; then echo same; return; fi
  have="$(sha256sum -- "$path" | cut -d' ' -f1)"
  if [[ "$have" == "$(owned_sha "$path")" ]]; then echo ours; else echo foreign; fi
}

die_not_ours() {
  die_refused "$1 holds content Workstation did not write (the diff above): 'workstation adopt plan' lists it;" \
    "'workstation adopt record $1', or the stack's takeOver, backs it up and hands it over (or move it away)"
}

# Known secret shapes: "ERE<TAB>what it is". Matched per line, case as written.
readonly WS_SECRET_SHAPES="sk-ant-[A-Za-z0-9_-]{16,}	an Anthropic API key
sk-[A-Za-z0-9]{32,}	an API key (sk-...)
gh[pousr]_[A-Za-z0-9]{30,}	a GitHub token
github_pat_[A-Za-z0-9_]{30,}	a GitHub token
AKIA[0-9A-Z]{16}	an AWS access key id
xox[abprs]-[A-Za-z0-9-]{10,}	a Slack token
ya29\\.[0-9A-Za-z_-]{20,}	a Google OAuth token
-----BEGIN [A-Z ]*PRIVATE KEY-----	a private key
\"(access|refresh|id)_token\"[[:space:]]*:	an OAuth token
[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd][[:space:]]*=	a password="

# redact_secrets: stdin to stdout, every known secret shape masked (a file we did not
# write may hold one, and its diff goes to the step's log).
redact_secrets() {
  local -a sed_args=()
  local regex what
  while IFS=$'\t' read -r regex what; do
    # The rest of the line goes too: "password=" is the shape, what follows is the secret.
    sed_args+=(-e "s/${regex//\//\\/}.*/[redacted: $what]/")
  done <<<"$WS_SECRET_SHAPES"
  sed -E "${sed_args[@]}"
}

# masked_view KIND: stdin as a diff may show it. For KIND json, an object's "env" values are
# masked whatever they look like (a hand-made managed-settings.json keeps tokens there), and
# the object is shown as jq prints it; anything else as it is.
masked_view() {
  local text
  text="$(cat)"
  if [[ "$1" == json ]] && jq -e 'type == "object"' <<<"$text" >/dev/null 2>&1; then
    jq 'if (.env | type) == "object" then .env |= map_values("[masked]") else . end' <<<"$text"
  else
    printf '%s\n' "$text"
  fi
}

# show_shared_diff PATH NEWFILE: on stderr, the unified diff from what PATH holds to what
# Workstation writes there, with env values and known secret shapes masked (it goes to the
# step's log, and so to Pulumi's).
show_shared_diff() {
  [[ -f "$1" && ! -L "$1" ]] || { printf '  %s is not a regular file\n' "$1" >&2; return 0; }
  local old new kind=text
  [[ "$1" != *.json ]] || kind=json
  old="$(masked_view "$kind" <"$1")"
  new="$(masked_view "$kind" <"$2")"
  { diff -u --label "$1 (on this host)" --label "$1 (Workstation's)" <(printf '%s\n' "$old") <(printf '%s\n' "$new") || true; } |
    redact_secrets | sed 's/^/  /' >&2
}

# The paths this run may take over (--take-over; the stack's takeOver): a foreign file there
# is backed up, its diff shown, and recorded as ours, so the write that follows replaces it.
WS_TAKE_OVER=()
readonly WS_ADOPT_BACKUPS=/var/backups/workstation/adopted

# adopt_shared PATH: back PATH up (WS_ADOPT_BACKUPS, root only) and record its bytes as ours.
adopt_shared() {
  local path="$1" backup
  [[ -f "$path" && ! -L "$path" ]] || die_refused "$path is not a regular file; move it away by hand"
  ensure_dir "$WS_ADOPT_BACKUPS" 0700
  backup="$WS_ADOPT_BACKUPS/$(printf '%s' "${path#/}" | tr / _).$(date -u +%Y%m%dT%H%M%SZ)"
  cp -p -- "$path" "$backup"
  chmod go-rwx -- "$backup" # it may hold what the hand-made setup kept there (a key, say)
  record_shared "$path"
  changed "adopted $path (the original is kept in $backup)"
}

# is_taken_over PATH: this run takes PATH over (--take-over).
is_taken_over() {
  local t
  for t in "${WS_TAKE_OVER[@]}"; do [[ "$t" != "$1" ]] || return 0; done
  return 1
}

# guard_shared PATH CONTENT: refuse, before anything is touched, to replace a file we did not
# write (its diff shown), unless this run takes it over: then write_shared adopts it.
guard_shared() {
  [[ "$(shared_state "$1" file_equals "$1" "$2")" == foreign ]] || return 0
  is_taken_over "$1" || { show_shared_diff "$1" <(printf '%s' "$2"); die_not_ours "$1"; }
}

# guard_shared_file PATH SRC: the same, when the new content is the file SRC (unit templates).
guard_shared_file() {
  [[ "$(shared_state "$1" cmp -s -- "$2" "$1")" == foreign ]] || return 0
  is_taken_over "$1" || { show_shared_diff "$1" "$2"; die_not_ours "$1"; }
}

# take_over_file PATH SRC: once every guard has passed, a foreign PATH this run takes over
# is shown as a diff to SRC, backed up and recorded as ours, so the write that follows replaces it.
take_over_file() {
  [[ "$(shared_state "$1" cmp -s -- "$2" "$1")" == foreign ]] || return 0
  is_taken_over "$1" || die_not_ours "$1"
  show_shared_diff "$1" "$2"
  adopt_shared "$1"
}

# take_over_content PATH CONTENT: the same, when the new content is CONTENT.
take_over_content() {
  [[ "$(shared_state "$1" file_equals "$1" "$2")" == foreign ]] || return 0
  is_taken_over "$1" || die_not_ours "$1"
  show_shared_diff "$1" <(printf '%s' "$2")
  adopt_shared "$1"
}

# record_shared PATH: PATH's bytes are ours now. The ledger is rewritten atomically, quietly.
record_shared() {
  local path="$1" sha tmp
  sha="$(sha256sum -- "$path" | cut -d' ' -f1)"
  [[ "$(owned_sha "$path")" != "$sha" ]] || return 0
  ensure_dir "$WS_ETC" 0755
  tmp="$(mktemp "$WS_ETC/.owned.sha256.ws-tmp.XXXXXX")"
  { [[ ! -f "$WS_OWNED" ]] || awk -v p="$path" '$2 != p' "$WS_OWNED"; printf '%s  %s\n' "$sha" "$path"; } >"$tmp"
  chmod 0644 "$tmp"
  mv -f -T -- "$tmp" "$WS_OWNED"
}

# write_shared PATH MODE OWNER:GROUP CONTENT: write_if_changed for a shared file.
write_shared() {
  guard_shared "$1" "$4"
  take_over_content "$1" "$4"
  write_if_changed "$@"
  record_shared "$1"
}

# root_path_problem PATH: nothing when every existing component of PATH, from / down, is a
# directory (never a link) of root's that no one else may write (no group or world write
# bit, so no sticky /tmp either): then no one but root can rename, replace or add anything
# on the way to it. Otherwise one line naming the first component that is not.
root_path_problem() {
  local rest="${1#/}" cur="" part facts
  while [[ -n "$rest" ]]; do
    part="${rest%%/*}"
    if [[ "$rest" == */* ]]; then rest="${rest#*/}"; else rest=""; fi
    [[ -n "$part" ]] || continue
    cur="$cur/$part"
    [[ -e "$cur" || -L "$cur" ]] || return 0 # the rest is missing: root makes it
    if [[ -L "$cur" ]]; then
      printf '%s is a link' "$(quoted "$cur")"
      return 0
    fi
    facts="$(stat -c '%F %u %a' -- "$cur")"
    read -r -a facts <<<"$facts"
    if [[ "${facts[0]}" != directory ]]; then
      printf '%s is not a directory' "$(quoted "$cur")"
      return 0
    fi
    if [[ "${facts[-2]}" != 0 ]] || (((8#${facts[-1]} & 8#022) != 0)); then
      printf '%s is not a directory only root can change (owner uid %s, mode %s)' "$(quoted "$cur")" "${facts[-2]}" "${facts[-1]}"
      return 0
    fi
  done
}

# ensure_fresh_root_dir DIR WHAT: DIR is created now by root (mode 0700) under a path only
# root can change, or is already such an empty directory (an earlier, interrupted run's).
# Anything else refuses the run (exit 3) before anything is written: root writes a person's
# files (a restore, an archive) only where no one else can swap a folder on the way.
ensure_fresh_root_dir() {
  local problem
  problem="$(root_path_problem "$1")"
  [[ -z "$problem" ]] || die_refused "$2 $1: $problem; root writes only below folders no one else can change; nothing was written"
  if [[ -e "$1" ]]; then
    [[ -z "$(ls -A -- "$1")" ]] || die_refused "$2 $1 exists and is not an empty folder"
    return 0
  fi
  mkdir -p -- "$(dirname -- "$1")"
  mkdir -m 0700 -- "$1"
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

# user_path PATTERN USER: a per-user name from rules.sh (a printf pattern).
user_path() {
  # shellcheck disable=SC2059 # the pattern is ours, from rules.sh
  printf "$1" "$2"
}

# pattern_user PATTERN NAME VAR: sets VAR to the os_user whose per-user NAME (a
# rules.sh pattern) NAME is; fails, VAR untouched, when it is no one's.
pattern_user() {
  local pre="${1%%\%s*}" suf="${1#*%s}" u
  [[ "$2" == "$pre"* && "$2" == *"$suf" ]] || return 1
  u="${2#"$pre"}"
  u="${u%"$suf"}"
  [[ "$u" =~ $WS_RE_OS_USER ]] || return 1
  printf -v "$3" '%s' "$u"
}

# user_units USER: the user's units, one per line.
user_units() {
  local u
  for u in $WS_USER_UNITS; do
    user_path "$u" "$1"
    printf '\n'
  done
}

# --- site.env: KEY=VALUE lines, raw values, parsed (never sourced) ----------
readonly WS_SITE_ENV="$WS_ETC/site.env"
# Keys: REPO_URL OIDC_ISSUER OIDC_CLIENT_ID CLUSTER_NAME CLUSTER_SERVER VAULT_ADDR
# T3_COMMAND SNAPSHOT_URL EDGE_USER PRIVILEGED_GROUPS ADMIN_USER. T3_COMMAND's ${T3_PORT}
# is expanded when t3 starts; with no T3_COMMAND, WS_DEFAULT_T3_COMMAND (rules.sh) runs.
declare -A SITE=()

# read_kv FILE ARRAY: the KEY=VALUE lines of one of our files (site.env, backup.env, a purge
# record; raw values, parsed, never sourced) into the associative array ARRAY; fails when
# FILE is missing.
read_kv() {
  local file="$1" line key
  local -n _kv="$2"
  [[ -r "$file" ]] || return 1
  _kv=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" == *=* && "$line" != \#* ]] || continue
    key="${line%%=*}"
    _kv["$key"]="${line#*=}"
  done <"$file"
}

# load_site: fills SITE[...] (read with site_get) from site.env; fails when it is missing.
load_site() { read_kv "$WS_SITE_ENV" SITE; }

# require_root_site: a root command's start, with the site's values when there are any
# (before the first `site apply` there is no site.env: SITE stays empty, the defaults hold).
require_root_site() {
  require_root
  load_site || true
}

site_get() { printf '%s' "${SITE[$1]:-}"; }

# --- running things as a managed user ----------------------------------------

# as_user USER HOME CMD...: run CMD as USER in a clean context, with stdin from
# /dev/null. The command runs as a transient systemd service (not as our
# child): it inherits no descriptor of ours at all (never a held lock, never our
# stdout, a capture pipe or Pulumi's SSH channel), starts its own session in the
# user's slice with a minimal environment and the home as working directory, may
# not gain privileges, and is killed with everything it started when it ends or
# when WS_TIMEOUT seconds (default $WS_AS_USER_TIMEOUT) pass. A timeout exits 124.
as_user() {
  as_user_unit null "$@"
}

# How much of what work run as a user prints root reads back: at most this many
# bytes of stdout, and of stderr WS_AS_USER_MAX_STDERR (more is an error).
readonly WS_AS_USER_MAX_OUTPUT=$((64 * 1024 * 1024))
readonly WS_AS_USER_MAX_STDERR=$((1024 * 1024))
# Where that output lands: root's, 0700, on disk (not /run: a copy of the descriptor
# the person holds on to must not fill a tmpfs root needs).
readonly WS_AS_USER_OUT_DIR=/var/lib/workstation/as-user

# as_user_data USER HOME CMD...: the same, with our stdin as the command's
# (for data meant for it, such as a file's content). The unit's descriptors 0-2
# are files root makes fresh for each call: stdin a copy of ours (in
# $WS_RUN_DIR: it may be a secret), stdout and stderr new files that systemd
# opens for the unit. The person can copy those (pidfd_getfd, or /proc/PID/fd at
# the same uid) and hold them, but root never waits on them: it reads them, size
# bounded, once the unit has ended, and removes them.
as_user_data() {
  as_user_unit data "$@"
}

# as_user_unit null|data USER HOME CMD...: as_user's and as_user_data's one body; with
# null, the unit's stdin is /dev/null (no file made for it).
as_user_unit() {
  local stdin="$1" user="$2" home="$3" t="${WS_TIMEOUT:-$WS_AS_USER_TIMEOUT}" arg in="" out rc=0 size err_size="" out_size=""
  shift 3
  [[ "$t" =~ ^[1-9][0-9]*$ ]] || die "as_user: bad timeout $t"
  # systemd expands $NAME in a service's command line; $$ is a literal $.
  local -a argv=()
  for arg in "$@"; do argv+=("${arg//\$/\$\$}"); done
  ((WS_AS_USER_OUT_CHECKED)) || { ensure_root_dir "$WS_AS_USER_OUT_DIR" && WS_AS_USER_OUT_CHECKED=1; }
  if [[ "$stdin" == data ]]; then
    ensure_run_dir
    in="$(mktemp -d "$WS_RUN_DIR/as-user.XXXXXX")"
    cat >"$in/stdin"
    stdin="file:$in/stdin"
  fi
  out="$(mktemp -d "$WS_AS_USER_OUT_DIR/run.XXXXXX")"
  # Not --quiet: what it says of the run (its result) lands in a file of root's, for as_user_ended.
  systemd-run --wait --collect --service-type=exec \
    --unit="workstation-as_${user}_${BASHPID}_$RANDOM" --slice="workstation-$user.slice" \
    --uid="$user" --working-directory="$home" \
    -p NoNewPrivileges=yes -p KillMode=control-group -p "RuntimeMaxSec=$((t + 10))" \
    -p "StandardInput=$stdin" -p "StandardOutput=file:$out/stdout" -p "StandardError=file:$out/stderr" \
    --setenv=LANG=C.UTF-8 --setenv=PATH=/usr/local/bin:/usr/bin:/bin \
    -- /usr/bin/timeout -k 5 "$t" "${argv[@]}" </dev/null 2>"$out/run" || rc=$?
  [[ -z "$in" ]] || rm -rf -- "$in"
  ((rc == 0)) || as_user_ended "$user" "$out/run" "$@"
  # Both sizes in one stat (a file systemd never made counts as empty); an empty file (what a
  # quiet check leaves) is not read: no head process for it.
  local name
  while read -r name size; do
    case "$name" in */stderr) err_size="$size" ;; */stdout) out_size="$size" ;; esac
  done < <(stat -c '%n %s' -- "$out/stderr" "$out/stdout" 2>/dev/null || true)
  size="${err_size:-0}"
  ((size == 0)) || head -c "$WS_AS_USER_MAX_STDERR" -- "$out/stderr" >&2 2>/dev/null || true
  ((size <= WS_AS_USER_MAX_STDERR)) || warn "as $user: $((size - WS_AS_USER_MAX_STDERR)) more bytes on stderr not shown"
  size="${out_size:-0}"
  if ((size > WS_AS_USER_MAX_OUTPUT)); then
    rm -rf -- "$out"
    die "work run as $user printed over $WS_AS_USER_MAX_OUTPUT bytes: refusing to read it"
  fi
  ((size == 0)) || head -c "$WS_AS_USER_MAX_OUTPUT" -- "$out/stdout" 2>/dev/null || true
  rm -rf -- "$out"
  return "$rc"
}
# Checked once a run, as the run folder is (both are root's, under root's own folders).
WS_AS_USER_OUT_CHECKED=0

readonly WS_SYSTEMD_TRANSIENT_DIR=/run/systemd/transient

# as_user_ended USER RUN CMD...: after a run of CMD as USER that failed, what systemd-run
# said of it (RUN: its stderr, a file of root's): its errors, as they were, and when
# systemd ended the run itself (a result other than the command's own exit: a timeout of
# the unit, a signal, no resources), a warning naming CMD and that result: systemd-run
# then exits 1 and prints nothing more, as a command's own exit 1 does.
as_user_ended() {
  local line result="" word words=""
  while IFS= read -r line; do
    case "$line" in
      "Finished with result: "*) result="${line#Finished with result: }" ;;
      "Running as unit: "* | "Main processes terminated with: "* | "Service runtime: "* | "CPU time consumed: "* | "Memory peak: "* | "IP traffic "* | "IO bytes "*) ;;
      # The command's own non-zero exit (a check that says no) while its start job ran: that is
      # the caller's to read, from the exit code, not a line for the step's output.
      "Job for "*" failed because the control process exited with error code." | "See \"systemctl status "*) ;;
      *) printf '%s\n' "$line" >&2 || true ;;
    esac
  done <"$2"
  [[ -n "$result" && "$result" != success && "$result" != exit-code ]] || return 0
  for word in "${3##*/}" "${@:4}"; do words+=" $(quoted "$word")"; done
  warn "as $1: systemd ended '${words# }' before it finished (result: $(quoted "$result"))"
}

# stop_as_user_leftovers USER: stop what a killed earlier run left running as
# USER (its transient units live on when their caller dies). Callers hold the
# user's lock, so no live run of ours owns them. ('_' separates the user: no
# os_user has one, so one user's pattern never matches another's units.)
stop_as_user_leftovers() {
  local units
  # A transient unit's file stays in systemd's own transient folder (root's) while the unit is
  # loaded, running or failed: with none of USER's there, there is nothing to ask systemd.
  compgen -G "$WS_SYSTEMD_TRANSIENT_DIR/workstation-as_$1_*.service" >/dev/null || return 0
  units="$(systemctl list-units --plain --no-legend --all "workstation-as_$1_*.service" 2>/dev/null | awk '{ print $1 }')"
  [[ -n "$units" ]] || return 0
  # shellcheck disable=SC2086 # one unit name per word, all ours
  systemctl stop $units 2>/dev/null || true
  changed "stopped work left running as $1 by an interrupted run: $(paste -sd' ' <<<"$units")"
}
