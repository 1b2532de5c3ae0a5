#!/usr/bin/env bash
# install.sh — run from an unpacked copy of host/: copies the tree to
# /usr/local/lib/workstation and the unit templates to /etc/systemd/system.
# Only files whose bytes or mode differ are (atomically) rewritten, files that
# left the tree are removed from the install dir, and `systemctl daemon-reload`
# runs only when a unit changed. Prints every change; a re-run with the same
# content prints "nothing changed" and touches nothing.
set -euo pipefail
SRC="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)"
# shellcheck source=host/lib/common.sh
source "$SRC/lib/common.sh"
ws_init
readonly UNIT_DIR="$WS_UNIT_DIR"

# --take-over PATH (the stack's takeOver): a unit template of ours that a hand-made setup
# wrote is backed up, its diff shown, and replaced, instead of refused.
while (($#)); do
  case "$1" in
    --take-over)
      (($# >= 2)) || die_usage "--take-over: needs a value"
      [[ "$2" == "$WS_UNIT_DIR"/* && -f "$SRC/units/${2#"$WS_UNIT_DIR"/}" && "${2#"$WS_UNIT_DIR"/}" != */* ]] ||
        die_usage "--take-over $(printf "%q" "$2"): not a unit template Workstation installs ($WS_UNIT_DIR/NAME for a file of host/units)"
      WS_TAKE_OVER+=("$2")
      shift 2
      ;;
    *) die_usage "unknown argument $(printf "%q" "$1") (usage: install.sh [--take-over $WS_UNIT_DIR/NAME]...)" ;;
  esac
done

require_root
[[ "$SRC" != "$WS_ROOT" ]] || die "run install.sh from an unpacked copy of host/, not from $WS_ROOT"
lock install

count=0
# install_file SRC DEST MODE: copy when bytes or mode differ.
install_file() {
  local src="$1" dest="$2" mode="$3" dir tmp
  if [[ -d "$(dirname -- "$dest")" ]]; then
    clean_leftovers "$dest"
  fi
  if [[ -f "$dest" && ! -L "$dest" ]] && cmp -s -- "$src" "$dest" &&
    [[ "$(stat -c '%a %U:%G' -- "$dest")" == "$(printf '%o' "$((8#$mode))") root:root" ]]; then
    return 1
  fi
  dir="$(dirname -- "$dest")"
  if [[ ! -d "$dir" ]]; then
    mkdir -p -- "$dir"
  fi
  tmp="$(mktemp "$dir/.$(basename -- "$dest").ws-tmp.XXXXXX")"
  cat -- "$src" >"$tmp"
  chmod "$mode" "$tmp"
  chown root:root "$tmp"
  mv -f -T -- "$tmp" "$dest"
  changed "$dest"
  count=$((count + 1))
  return 0
}

mode_of() { if [[ -x "$1" ]]; then echo 755; else echo 644; fi; }

# Unit templates a hand-made setup left (another content, not ours): refused before anything is copied.
shopt -s nullglob
for u in "$SRC"/units/*; do
  guard_shared_file "$UNIT_DIR/$(basename -- "$u")" "$u"
done
shopt -u nullglob

step "tree"
if [[ ! -d "$WS_ROOT" ]]; then
  mkdir -p -- "$WS_ROOT"
  chmod 0755 -- "$WS_ROOT"
fi
declare -A wanted=()
while IFS= read -r -d '' f; do
  rel="${f#"$SRC"/}"
  wanted["$rel"]=1
  install_file "$f" "$WS_ROOT/$rel" "$(mode_of "$f")" || true
done < <(find "$SRC" -type f -print0 | sort -z)

step "stale files"
while IFS= read -r -d '' f; do
  rel="${f#"$WS_ROOT"/}"
  if [[ -z "${wanted[$rel]:-}" ]]; then
    rm -f -- "$f"
    changed "removed $f"
    count=$((count + 1))
  fi
done < <(find "$WS_ROOT" \( -type f -o -type l \) -print0 | sort -z)
find "$WS_ROOT" -mindepth 1 -type d -empty -delete

step "units"
units_changed=0
shopt -s nullglob
for u in "$SRC"/units/*; do
  take_over_file "$UNIT_DIR/$(basename -- "$u")" "$u"
  if install_file "$u" "$UNIT_DIR/$(basename -- "$u")" 644; then
    units_changed=1
  fi
  record_shared "$UNIT_DIR/$(basename -- "$u")"
done
if ((units_changed)); then
  if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    changed "systemctl daemon-reload"
  else
    warn "systemd is not running; skipped daemon-reload"
  fi
fi

if ((count == 0)); then
  log "install: nothing changed"
else
  log "install: $count file(s) changed"
fi
