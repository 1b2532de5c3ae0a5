# shellcheck shell=bash
# status.sh — `user status USER [--json]` and `status [--json]` (docs/host.md): read-only,
# what the host knows of a person, and the probes that show a cut holds, as JSON (the drift
# check compares it with the roster). Sourced by bin/workstation after user.sh.

# --- user status: read-only --------------------------------------------------------

cmd_user_status() {
  local -A args=()
  parse_args "user status" args "$@"
  local user="${args[user]}" json="${args[--json]:-0}"
  require_root
  load_site || true
  local status
  status="$(user_status_json "$user")"
  if ((json)); then
    printf '%s\n' "$status"
  else
    jq -r '"\(.user): \(.state)" + (if .tier then ", tier \(.tier)" else "" end),
      (if .cut then "  cut: " + (if .cut.holds then "holds" else "does not hold" end) else empty end),
      (.restart_pending[] | "  restart pending: \(.) (until its person is idle)"),
      (.drift[] | "  drift: \(.detail)"),
      (.playwright_entry // empty | select(.state != "ours" or .port != .server_port) |
        "  playwright entry: " + (if .state == "missing" then "none in ~/.claude.json (the services step adds it)"
        elif .state == "unreadable" then "~/.claude.json was not read (not a regular file, over the size limit, or not JSON)"
        elif .state == "hand-made" then "made by hand, points at " + (if .port then "port \(.port)" else "no local port" end) +
          ", the server listens on port \(.server_port // "-"): left alone, for its person to repoint"
        else "points at port \(.port // "-"), the server listens on port \(.server_port // "-"): repointed once the server restarts there" end)),
      (if .state == "suspended" then .external_bindings[] |
        "  still to remove by hand in the stack that owns it: \(.kind) \(.name)" + (if .namespace then " in \(.namespace)" else "" end)
      else empty end)' <<<"$status"
  fi
}

# --- status: every managed person, for drift ------------------------------------

# listeners: "PORT UID" for every TCP socket listening on this machine (from
# /proc/net/tcp and tcp6: no ss needed), once each.
listeners() {
  local hex uid
  awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); print a[2], $8 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r hex uid; do printf '%d %s\n' "$((16#$hex))" "$uid"; done | sort -u
}

# person_json USER LISTENERS: user_status_json plus what the drift check compares
# with the roster: the port files, who listens on those ports, and the maps' entries.
# budget_json SLICE: the limits systemd holds for SLICE (what it enforces), as
# systemctl shows them: bytes or "infinity", a number or "[not set]".
budget_json() {
  systemctl show -p MemoryHigh -p MemoryMax -p CPUWeight -p TasksMax -- "$1" 2>/dev/null |
    jq -R -s -c 'split("\n") | map(select(length > 0) | capture("^(?<key>[^=]+)=(?<value>.*)$")) | from_entries |
      {memory_high: .MemoryHigh, memory_max: .MemoryMax, cpu_weight: .CPUWeight, tasks_max: .TasksMax}'
}

person_json() {
  local user="$1" listening="$2" t3="" pw="" f ttyd="" dispatch="null" uidmap budget
  f="$(user_path "$WS_T3_ENV_FILE" "$user")"
  [[ ! -f "$f" ]] || t3="$(sed -n "s/^$WS_T3_PORT_KEY=//p" "$f")"
  f="$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$user")"
  [[ ! -f "$f" ]] || pw="$(sed -n "s/^$WS_PLAYWRIGHT_PORT_KEY=//p" "$f")"
  # Every entry naming the person, not only the first: one beside theirs lets someone else in.
  # ttyd: the names, ", "-joined; dispatch: null, the one entry, or a list of them.
  ttyd="$(awk -v u="$user" '$2 == u { printf "%s%s", (n++ ? ", " : ""), $1 }' "$WS_TTYD_MAP" 2>/dev/null || true)"
  [[ ! -f "$WS_DISPATCH_JSON" ]] ||
    dispatch="$(jq -c --arg u "$user" '[to_entries[] | select(.value.os_user == $u) | {authentik: .key, port: .value.port}] |
      if length == 0 then null elif length == 1 then .[0] else . end' "$WS_DISPATCH_JSON" 2>/dev/null || echo null)"
  # uid -> name for the listeners, so the report says who listens.
  uidmap="$(getent passwd | awk -F: '{ print $3 " " $1 }')"
  budget="$(jq -n -c --argjson s "$(budget_json "workstation-$user.slice")" \
    --argjson l "$(budget_json "user-$(id -u -- "$user").slice")" '{services: $s, logins: $l}')"
  user_status_json "$user" | jq -c --arg t3 "$t3" --arg pw "$pw" --arg ttyd "$ttyd" --argjson dispatch "$dispatch" \
    --arg listening "$listening" --arg uidmap "$uidmap" --argjson budget "$budget" '
    ($uidmap | split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: .[1]}) | from_entries) as $names |
    ($listening | split("\n") | map(select(length > 0) | split(" "))) as $l |
    def owner($p): [$l[] | select(.[0] == $p) | ($names[.[1]] // .[1])] | unique;
    . + {ports: {t3: (if $t3 == "" then null else ($t3 | tonumber) end), playwright: (if $pw == "" then null else ($pw | tonumber) end)},
         listening: {t3: (if $t3 == "" then [] else owner($t3) end), playwright: (if $pw == "" then [] else owner($pw) end)},
         maps: {ttyd: (if $ttyd == "" then null else $ttyd end), dispatch: $dispatch},
         budget: $budget}'
}

# workstation status [--json]: every account carrying the marker group.
cmd_status() {
  local -A args=()
  parse_args status args "$@"
  local json="${args[--json]:-0}"
  require_root
  load_site || true
  local listening user report
  listening="$(listeners)"
  report="$(getent group "$WS_MARKER_GROUP" | cut -d: -f4 | tr ',' '\n' | sed '/^$/d' | LC_ALL=C sort -u |
    while IFS= read -r user; do person_json "$user" "$listening"; done |
    jq -s -c --arg ptrace "$(ptrace_scope)" '{people: ., ptrace_scope: $ptrace}')"
  if ((json)); then
    printf '%s\n' "$report"
  else
    jq -r '.people[] | "\(.user): \(.state), tier \(.tier // "-"), ports \(.ports.t3 // "-")/\(.ports.playwright // "-")"' <<<"$report"
    jq -r '"kernel.yama.ptrace_scope: \(.ptrace_scope)"' <<<"$report"
  fi
}

# cut_json USER: the probes that show a cut holds, as one JSON object:
# password and SSH key login (an expired account is refused by PAM's account
# phase whatever the credential; a locked password refuses a password too),
# processes left (theirs or running as one of their subordinate ids), units (each inactive and disabled), presence in either map,
# and cron or at jobs (which cron and atd also refuse for an expired account).
# holds: all of these say the person is out.
cut_json() {
  local user="$1" expiry today expired=0 password key procs units_off=true unit maps=absent cron=0 at=0 jobs
  expiry="$(expiry_days "$user")"
  today=$(($(date -u +%s) / 86400))
  [[ -n "$expiry" && "$expiry" -le "$today" ]] && expired=1
  if ((expired)) || [[ "$(lock_status "$user")" != P ]]; then password=refused; else password=allowed; fi
  if ((expired)); then key=refused; else key=allowed; fi
  procs="$(person_procs "$user" | wc -l)"
  while IFS= read -r unit; do
    [[ "$(systemctl is-active "$unit" 2>/dev/null || true)" != active &&
      "$(systemctl is-enabled "$unit" 2>/dev/null || true)" != enabled ]] || units_off=false
  done < <(user_units "$user")
  if awk -v u="$user" '$2 == u { found = 1 } END { exit !found }' "$WS_TTYD_MAP" 2>/dev/null ||
    jq -e --arg u "$user" 'any(.[]; .os_user == $u)' "$WS_DISPATCH_JSON" >/dev/null 2>&1; then
    maps=present
  fi
  [[ ! -f "/var/spool/cron/crontabs/$user" ]] || cron="$(grep -cv '^[[:space:]]*\(#\|$\)' "/var/spool/cron/crontabs/$user" || true)"
  if command -v atq >/dev/null; then at="$(atq 2>/dev/null | awk -v u="$user" '$NF == u' | wc -l)"; fi
  if ((expired)); then jobs=refused; else jobs=allowed; fi
  jq -n -c --arg password "$password" --arg key "$key" --argjson procs "$procs" --argjson units_off "$units_off" \
    --arg maps "$maps" --argjson cron "$cron" --argjson at "$at" --arg jobs "$jobs" '
    {password_login: $password, ssh_key_login: $key, processes: $procs, units_off: $units_off, maps: $maps,
     cron_jobs: $cron, at_jobs: $at, jobs_run: $jobs,
     holds: ($password == "refused" and $key == "refused" and $procs == 0 and $units_off and $maps == "absent" and $jobs == "refused")}'
}

# user_status_json USER: what the host knows of USER, as one JSON object.
user_status_json() {
  local user="$1" state tier="" granted="" home="" mode="" uid="" groups="" firewall="n/a" record
  local -a drift=()
  if ! getent passwd "$user" >/dev/null; then
    state=absent
  elif ! has_marker "$user"; then
    state=unmanaged
  else
    uid="$(id -u -- "$user")"
    home="$(getent passwd "$user" | cut -d: -f6)"
    groups="$(id -nG -- "$user" | tr ' ' '\n' | sort | paste -sd,)"
    record="$(user_record_file "$user")"
    tier="$(sed -n 's/^TIER=//p' "$record" 2>/dev/null || true)"
    granted="$(sed -n 's/^GROUPS=//p' "$record" 2>/dev/null || true)"
    if is_suspended "$user"; then state=suspended; else state=active; fi
    [[ ! -d "$home" ]] || mode="$(stat -c '%a' -- "$home")"
    if [[ "$state" == active ]]; then
      if (cmd_firewall_check "$user") >/dev/null 2>&1; then firewall=guarded; else firewall=unguarded; fi
    fi
    # shellcheck disable=SC2086 # the granted groups, one word each
    mapfile -t drift < <(drift_lines "$user" "$home" ${granted//,/ })
  fi
  local units="[]" unit cut="null" pending cut_at=""
  [[ "$state" != active && "$state" != suspended ]] || cut="$(cut_json "$user")"
  # When the cut reached this host: the suspension record is written once, by the cut.
  [[ "$state" != suspended ]] || cut_at="$(date -u -r "$WS_SUSPENDED_DIR/$user" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || true)"
  pending="$(pending_units "$user" | paste -sd,)"
  if [[ "$state" == active || "$state" == suspended ]]; then
    units="$(while IFS= read -r unit; do
      printf '%s %s %s\n' "$unit" "$(systemctl is-enabled "$unit" 2>/dev/null || true)" "$(systemctl is-active "$unit" 2>/dev/null || true)"
    done < <(user_units "$user") | jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ") | {unit: .[0], enabled: .[1], active: .[2]})')"
  fi
  local bindings entry="null"
  bindings="$(bindings_json "$user")"
  [[ "$state" != active ]] || entry="$(playwright_entry_status_json "$user" "$home")"
  printf '%s\n' "${drift[@]}" | jq -R -s -c --argjson entry "$entry" \
    --argjson bindings "$bindings" --arg user "$user" --arg state "$state" --arg tier "$tier" --arg uid "$uid" --arg home "$home" \
    --arg mode "$mode" --arg groups "$groups" --arg firewall "$firewall" --argjson units "$units" --argjson cut "$cut" --arg cut_at "$cut_at" --arg pending "$pending" '
    {user: $user, state: $state,
     tier: (if $tier == "" then null else $tier end),
     uid: (if $uid == "" then null else ($uid | tonumber) end),
     home: (if $home == "" then null else $home end),
     home_mode: (if $mode == "" then null else $mode end),
     groups: ($groups | split(",") | map(select(length > 0))),
     firewall: $firewall, units: $units, cut: $cut,
     cut_at: (if $cut_at == "" then null else $cut_at end),
     restart_pending: ($pending | split(",") | map(select(length > 0))),
     drift: (split("\n") | map(select(length > 0) | capture("^(?<kind>\\S+) (?<value>\\S+) (?<detail>.*)$"))),
     external_bindings: $bindings,
     playwright_entry: $entry}'
}
