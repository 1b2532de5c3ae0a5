# shellcheck shell=bash
# status.sh — `user status USER [--json]` and `status [--json]` (docs/host.md): read-only,
# what the host knows of a person, and the probes that show a cut holds, as JSON (the drift
# check compares it with the roster). Sourced by bin/workstation after user.sh.

# --- user status: read-only --------------------------------------------------------

cmd_user_status() {
  local -A args=()
  parse_args "user status" args "$@"
  local user="${args[user]}" json="${args[--json]:-0}"
  require_root_site
  local status
  status="$(user_status_json "$user")"
  if ((json)); then
    printf '%s\n' "$status"
  else
    status_table_json "$user" "$status" | status_text
  fi
}

# The text form of a person's status (`user status USER`, `workstation me`): a short table,
# one "  label: value" line per fact, from status_table_json's (or me_json's) object. A fact
# the reader may not read is null there, and says so. The cut probes show only for a person
# who is not active, each worded as what it finds.
# shellcheck disable=SC2016 # a jq program: its $names are jq's
readonly WS_STATUS_TEXT_JQ='
  def size: if type == "string" and test("^[0-9]+$") then tonumber |
      if . >= 9223372036854775807 then "infinity"
      elif . >= 1073741824 then "\(. * 10 / 1073741824 | floor / 10) GiB"
      elif . >= 1048576 then "\(. * 10 / 1048576 | floor / 10) MiB"
      else "\(. / 1024 | floor) KiB" end
    elif . == null or . == "[not set]" or . == "" then "-" else tostring end;
  def unread: "not readable as you (a record only root reads; ask the admin)";
  def listeners: if . == null then "" elif length == 0 then ", nobody listens" else ", listening: \(join(", "))" end;
  def memory($kind): "  memory (\($kind)): " +
    (.memory[$kind]? // null | if . == null or . == "[not set]" then "not counted" else size end) + " in use; high " +
    (.budget[$kind].memory_high | size) + ", max " + (.budget[$kind].memory_max | size);
  def probes: .cut |
    "  cut: password login \(.password_login)", "  cut: SSH key login \(.ssh_key_login)",
    "  cut: " + (if .processes == 0 then "no process left" else "\(.processes) process(es) left" end),
    "  cut: " + (if .units_off then "every unit stopped and disabled" else "a unit still runs or is enabled" end),
    "  cut: " + (if .maps == "absent" then "in neither map" else "still in a map" end),
    "  cut: cron and at jobs \(.jobs_run)" +
      (if .cron_jobs + .at_jobs > 0 then " (\(.cron_jobs) cron and \(.at_jobs) at job(s) left in the spools)" else "" end),
    "  cut: " + (if .holds then "the cut holds" else "the cut does NOT hold on every probe above" end);
  "\(.user): \(.state)" + (if .tier then ", tier \(.tier)" else "" end),
  (select(.state == "active" or .state == "suspended") |
    "  last login: \(.last_login // "none recorded")",
    (if .cut_at then "  cut at: \(.cut_at)" else empty end),
    (select(.ports) | ("t3", "playwright") as $k |
      "  \($k) port: " + (if .ports[$k] == null then "none" else "\(.ports[$k])\(.listening[$k] | listeners)" end)),
    (.units[] | "  unit \(.unit): \(.enabled), \(.active)"),
    (select(.budget) | memory("services"), memory("logins")),
    (select(has("secrets")) | "  secrets: " + (if .secrets == null then unread elif .secrets == [] then "none" else .secrets | join(", ") end)),
    (if .firewall == "guarded" or .firewall == "unguarded" then "  firewall: \(.firewall)" else empty end),
    (if .restart_pending == null then "  restart pending: " + unread elif .restart_pending == [] then "  restart pending: none"
     else .restart_pending[] | "  restart pending: \(.) (until its person is idle)" end),
    (if .drift == null then "  drift: " + unread elif .drift == [] then "  drift: none" else .drift[] | "  drift: \(.detail)" end),
    (if .state == "active" then empty else probes end)),
  (.playwright_entry // empty | select(.state != "ours" or .port != .server_port) |
    "  playwright entry: " + (if .state == "missing" then "none in ~/.claude.json (the services step adds it)"
    elif .state == "unreadable" then "~/.claude.json was not read (not a regular file, over the size limit, or not JSON)"
    elif .state == "hand-made" then "made by hand, points at " + (if .port then "port \(.port)" else "no local port" end) +
      ", the server listens on port \(.server_port // "-"): left alone, for its person to repoint"
    else "points at port \(.port // "-"), the server listens on port \(.server_port // "-"): repointed once the server restarts there" end)),
  (if .state == "suspended" then .external_bindings[] |
    "  still to remove by hand in the stack that owns it: \(.kind) \(.name)" + (if .namespace then " in \(.namespace)" else "" end)
  else empty end)'

# status_text: stdin's status object as that table.
status_text() { jq -r "$WS_STATUS_TEXT_JQ"; }

# status_table_json USER STATUS: what the text form shows, root's view: STATUS (user_status_json's)
# with the ports and their listeners and the budget (person_facts), the secrets the program
# staged (its record's names) and the slices' memory in use. Only a managed person has them.
status_table_json() {
  local user="$1" status="$2"
  if [[ "$(jq -r .state <<<"$status")" != active && "$(jq -r .state <<<"$status")" != suspended ]]; then
    printf '%s\n' "$status"
    return 0
  fi
  table_facts "$user" "$(recorded_secrets_json "$user")" <<<"$status"
}

# table_facts USER SECRETS: stdin's status with what the table adds (root's `user status` and
# the person's `me` alike): the ports, their listeners and the budget (person_facts), SECRETS
# (a JSON list of names) and the slices' memory in use.
table_facts() {
  person_facts "$1" "$(listeners)" |
    jq -c --argjson secrets "$2" --argjson memory "$(memory_json "$1")" '. + {secrets: $secrets, memory: $memory}'
}

# recorded_secrets_json USER: the names of the secrets the program staged for USER (its
# record, root's: names only, never a value), as a JSON list.
recorded_secrets_json() {
  local -A held=()
  recorded_serials "$1" held
  printf '%s\n' "${!held[@]}" | LC_ALL=C sort | jq -R -s -c 'split("\n") | map(select(length > 0))'
}

# memory_json USER: the memory in use now by USER's two slices, as systemd counts it (bytes,
# or "[not set]" when it keeps no count): what the text form sets against the budget.
memory_json() {
  local uid
  uid="$(id -u -- "$1")"
  jq -n -c --arg s "$(systemctl show -p MemoryCurrent --value -- "workstation-$1.slice" 2>/dev/null || true)" \
    --arg l "$(systemctl show -p MemoryCurrent --value -- "user-$uid.slice" 2>/dev/null || true)" \
    '{services: (if $s == "" then null else $s end), logins: (if $l == "" then null else $l end)}'
}

# last_login USER: when USER last logged in (ISO-8601, UTC), the later of the host's two
# records: lastlog (the record sshd and login keep per uid, for a session with a terminal:
# one fixed-size record at the uid's offset, which useradd clears for a new account) and the
# journal's PAM line for every SSH session, with or without a terminal. Only sshd's own
# lines count: logged by root (_UID, which the kernel vouches for; anyone can log a line
# that names sshd), and only root reads them: `me` sees lastlog alone. Each read is bounded
# in time. Nothing when neither records a login.
last_login() {
  local user="$1" line best=0 t=""
  line="$(timeout 5 lastlog -u "$user" 2>/dev/null | sed -n 2p)" || line=""
  if [[ -n "$line" && "$line" != *"**Never logged in**"* ]]; then
    # The last six words are the time: "Mon Dec  7 17:56:13 +0000 2026".
    t="$(date -u -d "$(awk '{ print $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF }' <<<"$line")" +%s 2>/dev/null)" || t=""
    [[ ! "$t" =~ ^[0-9]+$ ]] || best="$t"
  fi
  t="$(timeout 10 journalctl -q -r -n 1 -o short-unix --no-pager _UID=0 SYSLOG_IDENTIFIER=sshd \
    --grep "^pam_unix\(sshd:session\): session opened for user $user\(" 2>/dev/null | awk 'NR == 1 { print int($1) }')" || t=""
  if [[ "$t" =~ ^[0-9]+$ ]] && ((t > best)); then best="$t"; fi
  ((best > 0)) || return 0
  date -u -d "@$best" +%Y-%m-%dT%H:%M:%SZ
}

# --- status: every managed person, for drift ------------------------------------

# listeners: "PORT UID" for every TCP socket listening on this machine (from
# /proc/net/tcp and tcp6: no ss needed), once each.
listeners() {
  local hex uid
  awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); print a[2], $8 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r hex uid; do printf '%d %s\n' "$((16#$hex))" "$uid"; done | sort -u
}

# budget_json SLICE: the limits systemd holds for SLICE (what it enforces), as
# systemctl shows them: bytes or "infinity", a number or "[not set]".
budget_json() {
  systemctl show -p MemoryHigh -p MemoryMax -p CPUWeight -p TasksMax -- "$1" 2>/dev/null |
    jq -R -s -c 'split("\n") | map(select(length > 0) | capture("^(?<key>[^=]+)=(?<value>.*)$")) | from_entries |
      {memory_high: .MemoryHigh, memory_max: .MemoryMax, cpu_weight: .CPUWeight, tasks_max: .TasksMax}'
}

# person_json USER LISTENERS: user_status_json plus what the drift check compares
# with the roster: the port files, who listens on those ports, and the maps' entries; and
# memory_current: the bytes the person's two slices use now (what `roster place --report`
# measures, Roster/Placement.cs), null when systemd counts neither.
person_json() {
  local memory='{}'
  ! id -u -- "$1" >/dev/null 2>&1 || memory="$(memory_json "$1")"
  user_status_json "$1" | person_facts "$1" "$2" | jq -c --argjson m "$memory" \
    '. + {memory_current: ([$m.services, $m.logins] | map(select(type == "string" and test("^[0-9]+$")) | tonumber)
      | if length == 0 then null else add end)}'
}

# person_facts USER LISTENERS: the same, the status JSON read from stdin.
person_facts() {
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
  jq -c --arg t3 "$t3" --arg pw "$pw" --arg ttyd "$ttyd" --argjson dispatch "$dispatch" \
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
  require_root_site
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

# units_json USER: each of USER's units with systemd's words for it (any account may ask).
units_json() {
  local unit
  while IFS= read -r unit; do
    printf '%s %s %s\n' "$unit" "$(systemctl is-enabled "$unit" 2>/dev/null || true)" "$(systemctl is-active "$unit" 2>/dev/null || true)"
  done < <(user_units "$1") | jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ") | {unit: .[0], enabled: .[1], active: .[2]})'
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
  local units="[]" cut="null" pending cut_at=""
  [[ "$state" != active && "$state" != suspended ]] || cut="$(cut_json "$user")"
  # When the cut reached this host: the suspension record is written once, by the cut.
  [[ "$state" != suspended ]] || cut_at="$(date -u -r "$WS_SUSPENDED_DIR/$user" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || true)"
  pending="$(pending_units "$user" | paste -sd,)"
  [[ "$state" != active && "$state" != suspended ]] || units="$(units_json "$user")"
  local bindings entry="null"
  bindings="$(bindings_json "$user")"
  [[ "$state" != active ]] || entry="$(playwright_entry_status_json "$user" "$home")"
  local login=""
  [[ "$state" == absent ]] || login="$(last_login "$user")"
  printf '%s\n' "${drift[@]}" | jq -R -s -c --argjson entry "$entry" \
    --argjson bindings "$bindings" --arg user "$user" --arg state "$state" --arg tier "$tier" --arg uid "$uid" --arg home "$home" \
    --arg mode "$mode" --arg groups "$groups" --arg firewall "$firewall" --argjson units "$units" --argjson cut "$cut" --arg cut_at "$cut_at" --arg pending "$pending" \
    --arg login "$login" '
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
     playwright_entry: $entry,
     last_login: (if $login == "" then null else $login end)}'
}
