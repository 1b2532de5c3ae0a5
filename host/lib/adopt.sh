# shellcheck shell=bash
# adopt.sh — `adopt plan` (read-only) and `adopt record PATH...`: day one on a
# devvm that was set up by hand (docs/host.md). The plan inventories the live
# host against the roster and prints every conflict and what the first
# `pulumi up` would change; it writes nothing. `adopt record` backs up a shared
# file that Workstation did not write and hands it over, so the next apply may
# replace it. Sourced by bin/workstation after common.sh, base.sh and maps.sh.

# shared_files: "PATH KIND SOURCE" for every shared file Workstation writes outside
# the homes (KIND: unit, base or map; SOURCE: what it would write, or - for a map).
shared_files() {
  local u entry path name _mode
  for u in "$WS_ROOT"/units/*; do
    [[ -f "$u" ]] || continue
    printf '%s unit %s\n' "/etc/systemd/system/$(basename -- "$u")" "$u"
  done
  for entry in "${WS_BASE_SHARED[@]}"; do
    read -r path name _mode <<<"$entry"
    printf '%s base %s\n' "$path" "$WS_BASE/$name"
  done
  printf '%s map -\n' "$WS_TTYD_MAP" "$WS_DISPATCH_JSON"
}

# shared_file_state PATH KIND SOURCE: absent | same | ours | foreign.
shared_file_state() {
  local path="$1" kind="$2" src="$3"
  case "$kind" in
    unit) shared_state "$path" cmp -s -- "$src" "$path" ;;
    base) shared_state "$path" file_equals "$path" "$(base_shared_content "${src#"$WS_BASE/"}")"$'\n' ;;
    map) shared_state "$path" false ;; # a map depends on the roster: only "ours" lets it be rewritten
  esac
}

# dispatch_format: ours when dispatch.json maps authentik users to {os_user, port}.
dispatch_format() {
  jq -e 'type == "object" and all(.[]; type == "object" and (keys == ["os_user", "port"]))' "$WS_DISPATCH_JSON" >/dev/null 2>&1 &&
    echo ours || echo other
}

cmd_adopt_plan() {
  local arg user t3 pw rest
  local -a roster=()
  for arg in "$@"; do
    [[ "$arg" != -* ]] || die_usage "unknown option $(describe "$arg")"
    IFS=: read -r user t3 pw rest <<<"$arg"
    [[ "${arg//[^:]/}" == "::" && -z "$rest" ]] || die_usage "$(describe "$arg"): expected USER:T3_PORT:PLAYWRIGHT_PORT"
    valid_os_user "$user" "USER in $(describe "$arg")"
    valid_port "$t3" "T3_PORT in $(describe "$arg")"
    valid_port "$pw" "PLAYWRIGHT_PORT in $(describe "$arg")"
    roster+=("$user $t3 $pw")
  done
  require_root
  local conflicts=0 path kind src state f listening
  conflict() { printf 'conflict: %s\n' "$*"; conflicts=$((conflicts + 1)); }
  ok() { printf 'ok: %s\n' "$*"; }

  while read -r path kind src; do
    state="$(shared_file_state "$path" "$kind" "$src")"
    case "$state" in
      foreign)
        conflict "$path holds content Workstation did not write; first: workstation adopt record $path (or list it in the stack's takeOver)"
        case "$kind" in
          unit) show_shared_diff "$path" "$src" 2>&1 ;;
          base) show_shared_diff "$path" <(printf '%s\n' "$(base_shared_content "${src#"$WS_BASE/"}")") 2>&1 ;;
        esac
        ;;
      absent) ok "$path: absent; the first apply creates it" ;;
      same) ok "$path: already what Workstation writes" ;;
      ours) ok "$path: Workstation's; the next apply may rewrite it" ;;
    esac
  done < <(shared_files)
  if [[ -f "$WS_DISPATCH_JSON" && "$(dispatch_format)" == other ]]; then
    conflict "$WS_DISPATCH_JSON is not in Workstation's format ({AUTHENTIK_USER: {os_user, port}}): the live dispatcher reads another; docs/host.md says what maps apply writes"
  fi

  # The hand-made setup: per-user units, and the reconcile that rewrites maps and units.
  for f in /home/*/.config/systemd/user/*; do
    [[ -f "$f" ]] || continue
    case "$(basename -- "$f")" in *playwright* | *t3*) ;; *) continue ;; esac
    if compgen -G "$(dirname -- "$f")/*.wants/$(basename -- "$f")" >/dev/null; then state=enabled; else state=disabled; fi
    conflict "user unit $f ($state): the system unit would serve the same port; migrate it before the first apply"
  done
  while IFS= read -r f; do
    conflict "legacy reconcile in $f rewrites maps and units: disable it before the first apply"
  done < <(grep -lsF 't3-provision' /etc/crontab /etc/cron.d/* /etc/cron.hourly/* /var/spool/cron/crontabs/* \
    /etc/systemd/system/*.service /etc/systemd/system/*.timer 2>/dev/null | LC_ALL=C sort -u)

  # The roster's people: accounts and ports.
  listening="$(listeners)"
  local entry port
  for entry in "${roster[@]}"; do
    read -r user t3 pw <<<"$entry"
    if ! getent passwd "$user" >/dev/null; then
      ok "$user: no account yet; the first apply creates it"
    elif ! in_group "$user" "$WS_MARKER_GROUP"; then
      conflict "$user: the account exists and Workstation does not manage it: set adopt: true in the roster to take it over"
    else
      ok "$user: managed already"
    fi
    # Who listens, with the process and its unit; only the person's own system unit may.
    local own holder
    for port in "$t3:t3-serve@$user.service" "$pw:playwright-mcp@$user.service"; do
      own="${port#*:}"
      port="${port%%:*}"
      awk -v p="$port" '$1 == p { found = 1 } END { exit !found }' <<<"$listening" || continue
      while IFS= read -r holder; do
        [[ -n "$holder" ]] || continue
        conflict "port $port (roster: $user) is held by $holder: that service must move or stop before $user's units start"
      done < <(foreign_port_holders "$port" "$user" "$own")
    done
  done
  uid_pins "${roster[@]}"
  printf 'adopt plan: %d conflict(s); nothing was changed\n' "$conflicts"
}

# uid_pins "USER T3 PW"...: the roster's `uid:` line for each person whose account exists, so
# the roster pins every live uid (issue 24 §8): a pinned uid is never handed out again.
uid_pins() {
  local entry user _rest
  for entry in "$@"; do
    read -r user _rest <<<"$entry"
    getent passwd "$user" >/dev/null || continue
    printf 'pin: %s: uid: %s\n' "$user" "$(id -u -- "$user")"
  done
}

cmd_adopt_record() {
  (($#)) || die_usage "usage: workstation adopt record PATH..."
  local path known kind src
  for path in "$@"; do
    known="$(shared_files | awk -v p="$path" '$1 == p { print $2 " " $3 }')"
    [[ -n "$known" ]] || die_usage "$(describe "$path") is not a file Workstation writes (see: workstation adopt plan)"
  done
  require_root
  lock adopt
  for path in "$@"; do
    read -r kind src <<<"$(shared_files | awk -v p="$path" '$1 == p { print $2 " " $3 }')"
    if [[ ! -e "$path" && ! -L "$path" ]]; then
      log "notice: $path does not exist; nothing to adopt"
      continue
    fi
    if [[ "$(shared_file_state "$path" "$kind" "$src")" != foreign ]]; then
      log "notice: $path is Workstation's already"
      continue
    fi
    adopt_shared "$path"
  done
  unlock adopt
}
