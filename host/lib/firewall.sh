# shellcheck shell=bash
# firewall.sh — `firewall apply` and `firewall check USER`: who may connect to
# each user's service ports on loopback. Loopback is shared by every uid, so
# the kernel decides by the socket's owner (meta skuid) on output to lo:
#   - a connection to a user's port is refused unless it comes from that user
#     (or, for a t3 port, from the site's edge account);
#   - a reply from a user's port is refused unless that user's socket sends
#     it, so nobody else can stand in for a stopped service (port squatting).
# The ruleset is one table of our own, `inet workstation`, rendered whole from
# the per-user port files of the active users and loaded atomically with
# `nft -f`; no other table is ever read or touched but our connection record (below, for
# `workstation audit`). Sourced by bin/workstation.

readonly WS_FW_TABLE=workstation
readonly WS_FW_FILE="$WS_ETC/firewall.nft"
# The connection record `workstation audit` reads: a table of its own, so that loading the
# rules again (a roster change) never empties it. The kernel adds one element per new
# connection to a service port that the rules let through, PORT . UID . CLIENT_PORT, kept
# WS_AUDIT_KEEP (nft's time), at most WS_AUDIT_SIZE of them (a full set records no more).
readonly WS_AUDIT_TABLE=workstation_audit WS_AUDIT_KEEP=7d WS_AUDIT_SIZE=65536

# firewall_members: "USER UID T3_PORT PLAYWRIGHT_PORT" per active managed user,
# sorted: a port file for both services, the account with the marker group,
# and not suspended. One pass whatever the number of people: the accounts and
# the marker group are read once (getent), the port files by one awk.
firewall_members() {
  local f user uid t3 pw pw_file name gid rest marker_gid="" marker_members="" key port
  local -a users=() files=()
  local -A uid_of=() gid_of=() t3_file=() pw_file_of=() found=()
  # The names' rule checked by one grep for all of them: bash compiles a regex anew for every
  # =~ (0.1 ms a person).
  while IFS= read -r user; do
    is_suspended "$user" && continue
    users+=("$user")
    # user_path's printf, without its subshell.
    # shellcheck disable=SC2059 # the pattern is ours, from rules.sh
    printf -v f "$WS_T3_ENV_FILE" "$user"
    t3_file[$user]="$f"
    # shellcheck disable=SC2059 # the pattern is ours, from rules.sh
    printf -v pw_file "$WS_PLAYWRIGHT_ENV_FILE" "$user"
    pw_file_of[$user]="$pw_file"
    files+=("$f")
    [[ ! -f "$pw_file" ]] || files+=("$pw_file")
  done < <(port_file_names | grep -E -- "$WS_RE_OS_USER" || true)
  ((${#users[@]})) || return 0
  # One getent for every account (it prints those that exist), one for the marker group.
  while IFS=: read -r name _ uid gid rest; do
    [[ -n "$name" ]] || continue
    uid_of[$name]="$uid" gid_of[$name]="$gid"
  done < <(getent passwd -- "${users[@]}" || true)
  IFS=: read -r _ _ marker_gid marker_members < <(getent group -- "$WS_MARKER_GROUP" || true) || true
  # The group's members as a set: a match against the whole list is a scan of it a person.
  local -a listed=()
  local -A in_marker=()
  IFS=, read -r -a listed <<<"$marker_members"
  for name in "${listed[@]}"; do [[ -z "$name" ]] || in_marker[$name]=1; done
  # "KEY PORT FILE" for the first line of each file that sets a port. A file awk could not
  # read (it went while we looked) is read again below by port_into, as is one it did not list.
  while read -r key port f; do
    found["$key $f"]="$port"
  done < <(awk -v keys=" $WS_T3_PORT_KEY $WS_PLAYWRIGHT_PORT_KEY " '
    /^[A-Z0-9_]+=[0-9]+$/ {
      k = substr($0, 1, index($0, "=") - 1)
      if (index(keys, " " k " ") && !((FILENAME, k) in seen)) { seen[FILENAME, k] = 1; print k, substr($0, length(k) + 2), FILENAME }
    }' "${files[@]}" 2>/dev/null || true)
  for user in "${users[@]}"; do
    uid="${uid_of[$user]:-}"
    [[ -n "$uid" ]] || continue
    # A member of the marker group: listed in it, or it is the account's primary group (as `id -nG` sees it).
    [[ -n "${in_marker[$user]:-}" || (-n "$marker_gid" && "${gid_of[$user]}" == "$marker_gid") ]] || continue
    t3="${found["$WS_T3_PORT_KEY ${t3_file[$user]}"]:-}"
    [[ -n "$t3" ]] || port_into t3 "${t3_file[$user]}" "$WS_T3_PORT_KEY" || continue
    pw="${found["$WS_PLAYWRIGHT_PORT_KEY ${pw_file_of[$user]}"]:-}"
    [[ -n "$pw" ]] || port_into pw "${pw_file_of[$user]}" "$WS_PLAYWRIGHT_PORT_KEY" || continue
    echo "$user $uid $t3 $pw"
  done | sort
}

# port_file_names: the names the t3 port files give, one a line (the glob is PREFIX*SUFFIX;
# a name with a newline is no one's).
port_file_names() {
  local pre="${WS_T3_ENV_FILE%%\%s*}" suf="${WS_T3_ENV_FILE#*%s}" glob f user
  # shellcheck disable=SC2059 # the pattern is ours, from rules.sh
  printf -v glob "$WS_T3_ENV_FILE" '*'
  for f in $glob; do
    [[ -f "$f" ]] || continue
    user="${f#"$pre"}"
    user="${user%"$suf"}"
    [[ "$user" == *$'\n'* ]] || printf '%s\n' "$user"
  done
}

# pending_guards: "USER UID KIND PORT" for each pending restart (idle.sh): the
# port the running instance still listens on, for an active managed user.
pending_guards() {
  local f unit user uid port
  for f in "$WS_RESTART_PENDING_DIR"/*@*.service; do
    [[ -f "$f" ]] || continue
    unit="${f##*/}"
    user="${unit#*@}"
    user="${user%.service}"
    [[ "$user" =~ $WS_RE_OS_USER ]] || continue
    is_suspended "$user" && continue
    uid="$(id -u -- "$user" 2>/dev/null)" || continue
    port="$(port_in "$f" OLD_PORT)" || continue
    case "$unit" in "${WS_T3_UNIT%%@*}"@*) echo "$user $uid t3 $port" ;; *) echo "$user $uid playwright $port" ;; esac
  done | sort
}

# port_in FILE KEY: the port the first KEY=N line of FILE gives (fails when there is none).
port_in() {
  local value
  port_into value "$1" "$2" || return 1
  printf '%s' "$value"
}

# port_into VAR FILE KEY: the same into VAR, read by bash itself (no process, no
# subshell: the firewall reads two per person). Root's own files, of one line.
port_into() {
  local -n _port="$1"
  local line
  [[ -f "$2" ]] || return 1
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^$3=([0-9]+)$ ]]; then
      _port="${BASH_REMATCH[1]}"
      return 0
    fi
  done 2>/dev/null <"$2"
  return 1
}

# edge_uid: the uid of the site's edge account, or nothing (none set, or no such account).
edge_uid() {
  local edge
  edge="$(site_get EDGE_USER)"
  [[ -n "$edge" ]] || return 0
  if ! id -u -- "$edge" 2>/dev/null; then
    warn "the edge account $edge does not exist: t3 ports admit their owners only"
  fi
}

# render_ruleset MEMBERS: the whole ruleset, from firewall_members' lines and the edge uid.
render_ruleset() {
  local members="$1" edge user uid t3 pw
  edge="$(edge_uid)"
  local -a ports=() owners=() clients=()
  while read -r user uid t3 pw; do
    [[ -n "$user" ]] || continue
    ports+=("$t3" "$pw")
    owners+=("$t3 . $uid" "$pw . $uid")
    clients+=("$t3 . $uid" "$pw . $uid")
    [[ -z "$edge" ]] || clients+=("$t3 . $edge")
  done <<<"$members"
  # A running instance whose restart is pending still listens on its old port: guarded as before.
  local kind port
  while read -r user uid kind port; do
    [[ -n "$user" ]] || continue
    ports+=("$port")
    owners+=("$port . $uid")
    clients+=("$port . $uid")
    [[ -z "$edge" || "$kind" != t3 ]] || clients+=("$port . $edge")
  done <<<"$(pending_guards)"
  printf '%s\n' \
    "# Generated by \`workstation firewall apply\` from the users' port files; do not edit." \
    "# Who may connect to each user's service ports on loopback (docs/multi-tenancy.md)." \
    "table inet $WS_FW_TABLE" \
    "delete table inet $WS_FW_TABLE" \
    "table inet $WS_FW_TABLE {" \
    "	set service_ports {" \
    "		type inet_service"
  nft_elements "${ports[@]}"
  printf '%s\n' "	}" \
    "	# PORT . UID: whose socket may answer on each port." \
    "	set owners {" \
    "		typeof tcp sport . meta skuid"
  nft_elements "${owners[@]}"
  printf '%s\n' "	}" \
    "	# PORT . UID: who may connect to each port." \
    "	set clients {" \
    "		typeof tcp dport . meta skuid"
  nft_elements "${clients[@]}"
  printf '%s\n' "	}" \
    "	chain output {" \
    "		type filter hook output priority filter; policy accept;" \
    "		oif != \"lo\" accept" \
    "		tcp dport @service_ports tcp dport . meta skuid != @clients reject with tcp reset" \
    "		tcp sport @service_ports tcp sport . meta skuid != @owners reject with tcp reset" \
    "	}" \
    "}"
}

# nft_elements ELEMENT...: a set's elements line, sorted (none: no line; nft refuses "{ }").
nft_elements() {
  (($#)) || return 0
  local line
  line="$(printf '%s\n' "$@" | sort -t . -k1,1n -k2,2n -u | paste -sd,)"
  printf '\t\telements = { %s }\n' "${line//,/, }"
}

# The loaded table as nft prints it (empty when absent).
live_table() { nft list table inet "$WS_FW_TABLE" 2>/dev/null || true; }

cmd_firewall_apply() {
  (($# == 0)) || die_usage "usage: workstation firewall apply"
  require_root_site
  firewall_apply
  log "firewall apply: done"
}

# firewall_apply: render, write, and load when the file or the live table
# differs from what we last loaded. Called by user apply and suspend too.
firewall_apply() {
  command -v nft >/dev/null || die "nft is not installed (the nftables package; workstation base apply installs it)"
  lock firewall
  local members ruleset live same=0 loaded="$WS_RUN_DIR/firewall.loaded"
  members="$(firewall_members)"
  ruleset="$(render_ruleset "$members")"$'\n'
  file_equals "$WS_FW_FILE" "$ruleset" && same=1
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$WS_FW_FILE" 0644 root:root "$ruleset"
  # Loaded again when the rules changed, or the live table is not what we
  # loaded last (a reboot, a flush, a hand edit).
  live="$(live_table)"
  if ((!same)) || [[ -z "$live" ]] || ! file_equals "$loaded" "$live"$'\n'; then
    nft -f "$WS_FW_FILE" || die "nft could not load $WS_FW_FILE"
    write_if_changed "$loaded" 0600 root:root "$(live_table)"$'\n'
    audit_record_apply "$members" quiet
    changed "firewall: table inet $WS_FW_TABLE loaded ($(grep -c . <<<"$members" || true) user(s) guarded)"
  else
    audit_record_apply "$members"
  fi
  unlock firewall
}

# audit_record_apply MEMBERS [quiet]: the connection record exists and watches the members'
# ports (and the ports of pending restarts: the rules guard those too). Made when missing,
# never emptied: only its set of ports is replaced, in one transaction, when it differs.
# Reported as a change unless quiet (the rules were loaded in the same run: one line says so).
audit_record_apply() {
  local members="$1" user uid t3 pw kind port want have made=0 update
  local -a ports=()
  while read -r user uid t3 pw; do [[ -z "$user" ]] || ports+=("$t3" "$pw"); done <<<"$members"
  while read -r user uid kind port; do [[ -z "$user" ]] || ports+=("$port"); done <<<"$(pending_guards)"
  want="$(printf '%s\n' "${ports[@]}" | grep . | sort -n -u | paste -sd, || true)"
  # Only the ports set is listed: the table's connections set may hold WS_AUDIT_SIZE elements.
  if ! have="$(audit_record_ports)"; then
    if ! nft list tables inet 2>/dev/null | grep -qxF "table inet $WS_AUDIT_TABLE"; then
      audit_record_ruleset | nft -f - || die "nft could not create table inet $WS_AUDIT_TABLE"
      made=1
    fi
    have="$(audit_record_ports)" || have="?"
  fi
  ! same_members "$have" "$want" || want="-"
  if [[ "$want" != "-" ]]; then
    update="flush set inet $WS_AUDIT_TABLE ports"
    [[ -z "$want" ]] || update+=$'\n'"add element inet $WS_AUDIT_TABLE ports { ${want//,/, } }"
    nft -f - <<<"$update" || die "nft could not update the ports of table inet $WS_AUDIT_TABLE"
  fi
  [[ -z "${2:-}" ]] || return 0
  if ((made)); then
    changed "firewall: table inet $WS_AUDIT_TABLE made (the connection record of workstation audit)"
  elif [[ "$want" != "-" ]]; then
    changed "firewall: the connection record watches ports ${want:-none}"
  fi
}

# audit_record_ports: the ports the connection record watches, comma-separated, as nft's JSON
# lists them (an empty set has no "elem"); fails when the set is not there or not readable.
audit_record_ports() {
  local json
  json="$(nft -j list set inet "$WS_AUDIT_TABLE" ports 2>/dev/null)" || return 1
  if [[ "$json" =~ \"elem\":\ \[([0-9,\ ]*)\] ]]; then
    printf '%s' "${BASH_REMATCH[1]// /}"
  else
    [[ "$json" == *'"set": {'* && "$json" != *'"elem"'* ]]
  fi
}

# same_members A B: the comma-separated lists A and B hold the same members, in any order.
same_members() {
  local x
  local -a a=() b=()
  local -A in_a=() in_b=()
  IFS=, read -r -a a <<<"$1"
  IFS=, read -r -a b <<<"$2"
  for x in "${a[@]}"; do [[ -z "$x" ]] || in_a[$x]=1; done
  for x in "${b[@]}"; do [[ -z "$x" ]] || in_b[$x]=1; done
  ((${#in_a[@]} == ${#in_b[@]})) || return 1
  for x in "${!in_a[@]}"; do [[ -n "${in_b[$x]:-}" ]] || return 1; done
}

# audit_record_ruleset: table inet workstation_audit, ports empty. Its chain runs after the
# rules' (priority filter + 10): a connection they refuse is dropped before it is recorded.
# Only a SYN without ACK is a new connection.
audit_record_ruleset() {
  printf '%s\n' \
    "table inet $WS_AUDIT_TABLE {" \
    "	set ports {" \
    "		type inet_service" \
    "	}" \
    "	set connections {" \
    "		typeof tcp dport . meta skuid . tcp sport" \
    "		size $WS_AUDIT_SIZE" \
    "		flags dynamic,timeout" \
    "		timeout $WS_AUDIT_KEEP" \
    "	}" \
    "	chain output {" \
    "		type filter hook output priority filter + 10; policy accept;" \
    "		oif \"lo\" tcp flags & (fin | syn | rst | ack) == syn tcp dport @ports add @connections { tcp dport . meta skuid . tcp sport }" \
    "	}" \
    "}"
}

# ensure_firewall_unit: the boot-time loader is enabled (user services want it
# anyway; enabled, it also runs at boot when nobody has services).
ensure_firewall_unit() { # [FACTS]: unit_facts' of it, when the caller has them
  if (($#)); then
    local -n _fu="$1"
    ! unit_enabled "${_fu[workstation-firewall.service/UnitFileState]:-}" || return 0
  else
    systemctl is-enabled --quiet workstation-firewall.service 2>/dev/null && return 0
  fi
  systemctl enable --quiet workstation-firewall.service
  changed "enabled workstation-firewall.service"
}

# firewall check USER: exits 0 when the live table protects USER's ports (the
# units run it before they start: a port nobody guards never opens).
cmd_firewall_check() {
  (($# == 1)) || die_usage "usage: workstation firewall check USER"
  valid_os_user "$1" USER
  local uid t3 pw
  uid="$(id -u -- "$1" 2>/dev/null)" || die "no account $1"
  t3="$(port_in "$(user_path "$WS_T3_ENV_FILE" "$1")" "$WS_T3_PORT_KEY")" || die "no t3 port for $1"
  pw="$(port_in "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")" "$WS_PLAYWRIGHT_PORT_KEY")" || die "no playwright port for $1"
  local set e
  for set in owners clients; do
    for e in "$t3 . $uid" "$pw . $uid"; do
      nft get element inet "$WS_FW_TABLE" "$set" "{ $e }" >/dev/null 2>&1 ||
        die "the firewall does not guard $1's ports (no '$e' in set $set of table inet $WS_FW_TABLE); run: workstation firewall apply"
    done
  done
}
