#!/usr/bin/env bash
# as-user.sh — file operations inside a user's home, run AS that user (by
# as_user, in a clean context), so a symlink the user planted can never make
# root write or read somewhere else. Content always arrives on stdin (it may be
# a secret).
#
#   as-user.sh kind PATH                    print what PATH is, following links: absent,
#                                           regular, directory, or other (a FIFO, socket or
#                                           device: never to be read)
#   as-user.sh mkdir DIR MODE               create DIR (and parents) when missing
#   as-user.sh private-dir DIR              DIR exists with mode 0700 (created, or narrowed)
#   as-user.sh remove PATH                  remove the file PATH (never a directory)
#   as-user.sh create-if-absent PATH MODE   write stdin to PATH only when nothing is there
#   as-user.sh write-if-changed PATH MODE   write stdin to PATH when the bytes differ
#   as-user.sh backup-once PATH             copy PATH to PATH.bak-<utc> unless an identical backup exists,
#                                           or PATH holds exactly stdin (what workstation itself wrote)
#   as-user.sh rm-glob DIR PREFIX           remove DIR/PREFIX* (leftovers of interrupted work)
#   as-user.sh drop-mcp-copies SERVER       remove the copies of ~/.claude.json that hold SERVER (ours and
#                                           the CLI's backups) and the CLI's logs of SERVER
#   as-user.sh mcp-entry PATH SERVER MAX    print the user-scope SERVER entry of the JSON file PATH: "entry JSON"
#                                           (keys sorted; null when there is none), or absent, other (not a
#                                           regular file), large (over MAX bytes) or invalid (not JSON, or an
#                                           entry over 4 KiB)
#   as-user.sh add-mcp PATH SERVER MAX HOME first what the services step needs to know of PATH: other (a
#                                           FIFO, socket or device: never read), large (over MAX bytes) or present
#                                           (a SERVER entry, user or HOME-project scope); else sets the user-scope
#                                           entry to stdin's JSON as `claude mcp add` writes it (keys in order, two
#                                           spaces, no final newline), with a backup first, and prints added; or
#                                           "cli WHY" when that is not sure to be what the CLI writes (the CLI's to
#                                           do then): project (a .mcp.json in HOME or above), link, layout (not the
#                                           CLI's), raced, or mcp-entry's other, large or invalid
#   as-user.sh repoint-mcp PATH SERVER OLD MAX
#                                           set that entry to stdin's JSON only while it is exactly OLD, with a
#                                           backup first; prints repointed, or why not: link (PATH is a symlink),
#                                           absent, other, large, invalid or changed (the entry is not OLD)
#   as-user.sh in-place FACT...             exit 0 when every FACT holds; else exit 1 and print the number
#                                           (from 1) of the first that does not. What a step's own operations
#                                           above would find with nothing to do:
#     dir DIR                               DIR is a directory (mkdir DIR does nothing)
#     there PATH                            something, or a link, is at PATH
#     regular PATH                          kind PATH is regular
#     none DIR PREFIX                       no DIR/PREFIX* (rm-glob DIR PREFIX does nothing)
#     file PATH MODE BYTES:SHA256           write-if-changed PATH MODE of those bytes does nothing
#     kept PATH BYTES:SHA256                something, or a link, is at PATH, not a FIFO, socket or device,
#                                           and backup-once PATH of those bytes does nothing
#                                           (BYTES:SHA256: the bytes' count and sha256; a file of another
#                                           size is not read)
set -euo pipefail
AS_USER_SELF="$(readlink -f -- "${BASH_SOURCE[0]}")"
# shellcheck source=host/lib/common.sh
source "${AS_USER_SELF%/*}/common.sh"
ws_init
umask 077

read_stdin() { # prints nothing; sets CONTENT to stdin's exact bytes
  CONTENT="$(cat && printf x)"
  CONTENT="${CONTENT%x}"
}

# Writes CONTENT to a new temp file beside PATH with MODE; prints the temp file's name.
stage() { # PATH MODE
  local tmp
  tmp="$(mktemp "$(dirname -- "$1")/.$(basename -- "$1").ws-tmp.XXXXXX")"
  printf '%s' "$CONTENT" >"$tmp"
  chmod "$2" "$tmp"
  printf '%s' "$tmp"
}

# mcp_entry PATH SERVER MAX: see mcp-entry above. A FIFO swapped in after the check
# blocks the read: as_user's timeout ends it.
mcp_entry() {
  local path="$1" server="$2" max="$3" size entry
  [[ -e "$path" ]] || {
    echo absent
    return 0
  }
  [[ -f "$path" ]] || {
    echo other
    return 0
  }
  size="$(stat -L -c %s -- "$path")"
  ((size <= max)) || {
    echo large
    return 0
  }
  # shellcheck disable=SC2016 # jq's variable
  if entry="$(head -c "$max" -- "$path" | jq -S -c --arg s "$server" '.mcpServers[$s]' 2>/dev/null)" &&
    [[ "$entry" != *$'\n'* && ${#entry} -le 4096 ]]; then
    echo "entry $entry"
  else
    echo invalid
  fi
}

# same_bytes PATH BYTES:SHA256: PATH, a regular file, holds exactly those bytes (its size is
# compared first: a file of another size is not read).
same_bytes() {
  local sha
  [[ "$(stat -L -c %s -- "$1")" == "${2%%:*}" ]] || return 1
  read -r sha _ < <(sha256sum -- "$1")
  [[ "$sha" == "${2#*:}" ]]
}

# in_place FACT...: see in-place above.
in_place() {
  local n=0 arity
  shopt -s nullglob
  while (($#)); do
    n=$((n + 1))
    case "$1" in
      dir | there | regular) arity=2 ;;
      none | kept) arity=3 ;;
      file) arity=4 ;;
      *) die_usage "as-user.sh in-place: unknown fact $(printf '%q' "$1")" ;;
    esac
    (($# >= arity)) || die_usage "as-user.sh in-place: $1 takes $((arity - 1)) words"
    fact_holds "${@:1:arity}" || {
      echo "$n"
      return 1
    }
    shift "$arity"
  done
}

# fact_holds KIND WORD...: one fact of in-place; each check is the one its operation makes.
fact_holds() {
  local -a found
  case "$1" in
    dir) [[ -d "$2" ]] ;;
    there) [[ -e "$2" || -L "$2" ]] ;;
    regular) [[ -f "$2" ]] ;;
    none)
      found=("$2/$3"*)
      ((${#found[@]} == 0))
      ;;
    file)
      found=("$(dirname -- "$2")/.$(basename -- "$2").ws-tmp."*)
      ((${#found[@]} == 0)) && [[ -f "$2" && ! -L "$2" ]] &&
        [[ "$(stat -c '%a' -- "$2")" == "$(printf '%o' "$((8#$3))")" ]] && same_bytes "$2" "$4"
      ;;
    kept)
      [[ (-e "$2" || -L "$2") && (! -e "$2" || -f "$2" || -d "$2") ]] && { [[ ! -f "$2" ]] || kept_already "$2" "$3"; }
      ;;
  esac
}

# kept_already PATH BYTES:SHA256: backup-once PATH of those bytes would do nothing.
kept_already() {
  local b
  # backup-once never counts an empty content as PATH's own.
  if [[ "${2%%:*}" != 0 && ! -L "$1" ]] && same_bytes "$1" "$2"; then
    return 0
  fi
  for b in "$1".bak-*; do
    if [[ -f "$b" && ! -L "$b" ]] && cmp -s -- "$1" "$b"; then return 0; fi
  done
  return 1
}

cmd="${1:-}"
shift || true
case "$cmd" in
  kind)
    path="$1"
    if [[ ! -e "$path" ]]; then
      echo absent
    elif [[ -f "$path" ]]; then
      echo regular
    elif [[ -d "$path" ]]; then
      echo directory
    else
      echo other
    fi
    ;;
  mkdir)
    dir="$1" mode="$2"
    if [[ ! -d "$dir" ]]; then
      mkdir -p -- "$(dirname -- "$dir")"
      mkdir -m "$mode" -- "$dir"
      changed "$dir/"
    fi
    ;;
  private-dir)
    dir="$1"
    [[ ! -L "$dir" ]] || die "$dir is a symlink: refusing to keep secrets behind it"
    if [[ ! -d "$dir" ]]; then
      mkdir -p -- "$(dirname -- "$dir")"
      mkdir -m 0700 -- "$dir"
      changed "$dir/"
    elif [[ "$(stat -c '%a' -- "$dir")" != 700 ]]; then
      chmod 0700 -- "$dir"
      changed "$dir/ (mode 0700: it holds a credential)"
    fi
    ;;
  remove)
    path="$1"
    if [[ -L "$path" || -f "$path" ]]; then
      rm -f -- "$path"
      changed "removed $path"
    elif [[ -e "$path" ]]; then
      die "$path is not a file: left in place"
    fi
    ;;
  create-if-absent)
    path="$1" mode="$2"
    read_stdin
    clean_leftovers "$path"
    if [[ -e "$path" || -L "$path" ]]; then
      exit 0
    fi
    tmp="$(stage "$path" "$mode")"
    # link(2) never replaces an existing name: atomic create-if-absent.
    created=0
    if ln -T -- "$tmp" "$path" 2>/dev/null; then
      created=1
    fi
    rm -f -- "$tmp"
    ((created == 0)) || changed "$path"
    ;;
  write-if-changed)
    path="$1" mode="$2"
    read_stdin
    clean_leftovers "$path"
    if file_equals "$path" "$CONTENT" && [[ "$(stat -c '%a' -- "$path")" == "$(printf '%o' "$((8#$mode))")" ]]; then
      exit 0
    fi
    tmp="$(stage "$path" "$mode")"
    mv -f -T -- "$tmp" "$path"
    changed "$path"
    ;;
  backup-once)
    path="$1"
    read_stdin
    [[ -f "$path" ]] || exit 0
    if [[ -n "$CONTENT" ]] && file_equals "$path" "$CONTENT"; then
      exit 0
    fi
    shopt -s nullglob
    for b in "$path".bak-*; do
      if [[ -f "$b" && ! -L "$b" ]] && cmp -s -- "$path" "$b"; then
        exit 0
      fi
    done
    backup="$path.bak-$(date -u +%Y%m%dT%H%M%SZ)"
    [[ ! -e "$backup" ]] || backup="$backup-$$"
    cp -p -- "$path" "$backup"
    changed "$backup (backup of $path)"
    ;;
  rm-glob)
    dir="$1" prefix="$2"
    shopt -s nullglob
    for p in "$dir/$prefix"*; do
      rm -rf -- "$p"
      changed "removed leftover $(quoted "$p")"
    done
    ;;
  drop-mcp-copies)
    server="$1"
    shopt -s nullglob
    for f in "$HOME"/.claude.json.bak-* "$HOME"/.claude/backups/.claude.json.backup.*; do
      [[ -f "$f" && ! -L "$f" ]] || continue
      # shellcheck disable=SC2016 # $s is jq's variable
      if jq -e --arg s "$server" '(.mcpServers[$s] // empty) != null' "$f" >/dev/null 2>&1; then
        rm -f -- "$f"
        changed "removed $(quoted "$f") (a copy holding the $server server)"
      fi
    done
    for d in "$HOME"/.cache/claude-cli-nodejs/*/mcp-logs-"$server"; do
      [[ -d "$d" && ! -L "$d" ]] || continue
      rm -rf -- "$d"
      changed "removed $(quoted "$d")"
    done
    ;;
  mcp-entry)
    mcp_entry "$1" "$2" "$3"
    ;;
  in-place)
    # A fact that does not hold is an answer (exit 1, its number printed), not a failure:
    # no "failed" line from ws_on_exit for the step's output.
    in_place "$@" || {
      WS_RC=1
      exit 1
    }
    ;;
  add-mcp)
    path="$1" server="$2" max="$3" home="$4" dir="$4"
    read_stdin
    # The first look, following links as the person does (a sparse 64 GiB file costs its
    # person nothing and held the step for over 35 s, read whole: its size is asked first).
    # shellcheck disable=SC2016 # jq's variables
    if [[ -e "$path" && ! -f "$path" && ! -d "$path" ]]; then
      echo other
      exit 0
    elif [[ -f "$path" ]] && (($(stat -L -c %s -- "$path") > max)); then
      echo large
      exit 0
    elif jq -e --arg s "$server" --arg h "$home" '(.mcpServers[$s] // .projects[$h].mcpServers[$s]) != null' "$path" >/dev/null 2>&1; then
      echo present
      exit 0
    fi
    # A project-scope .mcp.json (in the home or a folder above it) is the CLI's to read: only asked whether it exists.
    while :; do
      [[ ! -e "$dir/.mcp.json" && ! -L "$dir/.mcp.json" ]] || {
        echo cli project
        exit 0
      }
      [[ -n "$dir" ]] || break
      dir="${dir%/*}"
    done
    [[ ! -L "$path" ]] || {
      echo cli link
      exit 0
    }
    jq -e 'type == "object"' >/dev/null 2>&1 <<<"$CONTENT" || die "add-mcp: stdin is not one JSON object"
    clean_leftovers "$path"
    # The CLI writes JSON.stringify(config, null, 2): jq's layout without its final newline (-j).
    # shellcheck disable=SC2016 # jq's variables
    if [[ ! -e "$path" ]]; then
      CONTENT="$(jq -n -j --arg s "$server" --argjson e "$CONTENT" '{mcpServers: {($s): $e}}')"
      tmp="$(stage "$path" 0600)"
      # link(2) never replaces a file made meanwhile (by the CLI, say): then it is theirs.
      if ln -T -- "$tmp" "$path" 2>/dev/null; then echo added; else echo cli raced; fi
      rm -f -- "$tmp"
      exit 0
    fi
    have="$(mcp_entry "$path" "$server" "$max")"
    [[ "$have" == "entry null" ]] || {
      echo "cli ${have%% *}"
      exit 0
    }
    # Only a file in the CLI's own layout, which jq renders back byte for byte: then adding one key
    # gives exactly what the CLI writes. Anything else (a hand-made file, numbers jq spells
    # otherwise) is left to the CLI.
    cmp -s -- <(head -c "$max" -- "$path" | jq -j . 2>/dev/null) "$path" || {
      echo cli layout
      exit 0
    }
    bash "$0" backup-once "$path" </dev/null
    tmp="$(mktemp "$(dirname -- "$path")/.$(basename -- "$path").ws-tmp.XXXXXX")"
    # shellcheck disable=SC2016 # jq's variables
    if head -c "$max" -- "$path" | jq -j --arg s "$server" --argjson e "$CONTENT" '.mcpServers[$s] = $e' >"$tmp" &&
      chmod --reference="$path" -- "$tmp" && mv -f -T -- "$tmp" "$path"; then
      echo added
    else
      rm -f -- "$tmp"
      die "add-mcp: could not rewrite $path"
    fi
    ;;
  repoint-mcp)
    path="$1" server="$2" old="$3" max="$4"
    read_stdin
    jq -e 'type == "object"' >/dev/null 2>&1 <<<"$CONTENT" || die "repoint-mcp: stdin is not one JSON object"
    [[ ! -L "$path" ]] || {
      echo link
      exit 0
    }
    clean_leftovers "$path"
    have="$(mcp_entry "$path" "$server" "$max")"
    [[ "$have" == entry* ]] || {
      echo "$have"
      exit 0
    }
    [[ "$have" == "entry $old" ]] || {
      echo changed
      exit 0
    }
    bash "$0" backup-once "$path" </dev/null
    tmp="$(mktemp "$(dirname -- "$path")/.$(basename -- "$path").ws-tmp.XXXXXX")"
    # One key changes; jq keeps every other key and value (and, for a file the CLI wrote, its layout).
    # shellcheck disable=SC2016 # jq's variables
    if head -c "$max" -- "$path" | jq --arg s "$server" --argjson e "$CONTENT" '.mcpServers[$s] = $e' >"$tmp" &&
      chmod --reference="$path" -- "$tmp" && mv -f -T -- "$tmp" "$path"; then
      echo repointed
    else
      rm -f -- "$tmp"
      die "repoint-mcp: could not rewrite $path"
    fi
    ;;
  *)
    die_usage "as-user.sh: unknown operation $(printf '%q' "$cmd")"
    ;;
esac
