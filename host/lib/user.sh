# shellcheck shell=bash
# user.sh — `user account|code|services …`, `user apply | suspend | status` (docs/host.md): the
# arguments, and the order of the steps in account.sh, home.sh, services.sh
# and firewall.sh. Sourced by bin/workstation after common.sh and validate.sh.
#
# Every step first checks whether there is anything to do, so a re-run with
# nothing to do changes nothing, and a re-run after an interruption picks up
# where the last one stopped.

# What each verb accepts. `user apply` runs the three steps in
# one go, for a person by hand; the Pulumi program runs them as three Commands.
readonly WS_ACCOUNT_OPTS=" --tier --uid --groups --revoke-groups --private-home --adopt --kube-auth --external-binding --cluster-binding "
readonly WS_SERVICES_OPTS=" --t3-port --playwright-port --memory-high --memory-max --observe-memory --cpu-weight --tasks-max "

# The arguments, validated (exit 2 before anything is touched).
declare -A ARG=()
declare -a ARG_GROUPS=() ARG_REVOKE=() ARG_BINDINGS=()

# parse_user_args USAGE ALLOWED ARGS...: USER and the options ALLOWED lists.
parse_user_args() {
  local usage="$1" allowed="$2" groups="" revoke="" opt
  shift 2
  ARG_BINDINGS=()
  local -A bound=()
  ARG=([user]="" [tier]="" [t3]="" [pw]="" [uid]="" [adopt]=0 [private_home]=0 [repo_token]=0
    [memory_high]="" [memory_max]="" [observe_memory]=0 [cpu_weight]="" [tasks_max]="" [kube_auth]=oidc)
  while (($#)); do
    opt="$1"
    if [[ "$opt" == -* && "$opt" != -- && "$allowed" != *" $opt "* ]]; then
      die_usage "unknown option $(describe "$opt") (usage: $usage)"
    fi
    case "$opt" in
      --tier) need_value "$@"; ARG[tier]="$2"; shift 2 ;;
      --t3-port) need_value "$@"; ARG[t3]="$2"; shift 2 ;;
      --playwright-port) need_value "$@"; ARG[pw]="$2"; shift 2 ;;
      --uid) need_value "$@"; ARG[uid]="$2"; shift 2 ;;
      --groups) need_value "$@"; groups="$2"; shift 2 ;;
      --revoke-groups) need_value "$@"; revoke="$2"; shift 2 ;;
      --private-home) ARG[private_home]=1; shift ;;
      --external-binding)
        need_value "$@"
        valid_external_binding "$2"
        [[ -z "${bound[ns:${2%%/*}]:-}" ]] || die_usage "--external-binding $(describe "$2"): namespace ${2%%/*} is named twice"
        bound["ns:${2%%/*}"]=1
        ARG_BINDINGS+=("RoleBinding ${2%%/*} ${2#*/}")
        shift 2
        ;;
      --cluster-binding)
        need_value "$@"
        valid_binding_name "$2" --cluster-binding ClusterRoleBinding
        [[ -z "${bound[crb:$2]:-}" ]] || die_usage "--cluster-binding $(describe "$2"): listed twice"
        bound["crb:$2"]=1
        ARG_BINDINGS+=("ClusterRoleBinding $2")
        shift 2
        ;;
      --adopt) ARG[adopt]=1; shift ;;
      --repo-token) ARG[repo_token]=1; shift ;;
      --kube-auth) need_value "$@"; ARG[kube_auth]="$2"; shift 2 ;;
      --memory-high) need_value "$@"; ARG[memory_high]="$2"; shift 2 ;;
      --memory-max) need_value "$@"; ARG[memory_max]="$2"; shift 2 ;;
      --observe-memory) ARG[observe_memory]=1; shift ;;
      --cpu-weight) need_value "$@"; ARG[cpu_weight]="$2"; shift 2 ;;
      --tasks-max) need_value "$@"; ARG[tasks_max]="$2"; shift 2 ;;
      --) shift; break ;;
      *)
        [[ -z "${ARG[user]}" ]] || die_usage "unexpected argument $(describe "$1") (USER is already $(describe "${ARG[user]}"))"
        ARG[user]="$1"
        shift
        ;;
    esac
  done
  (($# == 0)) || die_usage "unexpected argument $(describe "$1")"
  [[ -n "${ARG[user]}" ]] || die_usage "usage: $usage"
  valid_os_user "${ARG[user]}" "USER"
  if [[ "$allowed" == *" --tier "* ]]; then
    [[ -n "${ARG[tier]}" ]] || die_usage "--tier is required"
    valid_tier "${ARG[tier]}"
    [[ -z "${ARG[uid]}" ]] || valid_uid "${ARG[uid]}"
    group_list "$groups" --groups ARG_GROUPS
    group_list "$revoke" --revoke-groups ARG_REVOKE
    [[ "$WS_KUBE_AUTHS" == *" ${ARG[kube_auth]} "* ]] ||
      die_usage "--kube-auth: $(describe "${ARG[kube_auth]}") is not one of:$WS_KUBE_AUTHS"
    local g
    for g in "${ARG_REVOKE[@]}"; do
      [[ "$g" != "$WS_MARKER_GROUP" ]] || die_usage "--revoke-groups: $g is the marker group of managed accounts"
      [[ " ${ARG_GROUPS[*]} " != *" $g "* ]] || die_usage "--revoke-groups: $g is also in --groups"
    done
  fi
  if [[ "$allowed" == *" --t3-port "* ]]; then
    [[ -n "${ARG[t3]}" ]] || die_usage "--t3-port is required"
    valid_port "${ARG[t3]}" "--t3-port"
    [[ -n "${ARG[pw]}" ]] || die_usage "--playwright-port is required"
    valid_port "${ARG[pw]}" "--playwright-port"
    [[ "${ARG[t3]}" != "${ARG[pw]}" ]] || die_usage "--t3-port and --playwright-port must differ (both ${ARG[t3]})"
    parse_budget_args
  fi
  not_system_account "${ARG[user]}" "USER"
}

# parse_budget_args: the four budget options come together (the program always
# sends them) or not at all (a budget already on the host is then kept).
# --observe-memory stands for both memory sizes: an adopted person without a
# memory budget in the roster is watched (accounting), never limited.
parse_budget_args() {
  local given="${ARG[memory_high]}${ARG[memory_max]}${ARG[cpu_weight]}${ARG[tasks_max]}"
  if ((ARG[observe_memory])); then
    [[ -z "${ARG[memory_high]}${ARG[memory_max]}" ]] || die_usage "--observe-memory sets no memory limit: not with --memory-high or --memory-max"
    [[ -n "${ARG[cpu_weight]}" && -n "${ARG[tasks_max]}" ]] || die_usage "--observe-memory comes with --cpu-weight and --tasks-max"
    valid_range "${ARG[cpu_weight]}" "$WS_MIN_CPU_WEIGHT" "$WS_MAX_CPU_WEIGHT" --cpu-weight
    valid_range "${ARG[tasks_max]}" "$WS_MIN_TASKS_MAX" "$WS_MAX_TASKS_MAX" --tasks-max
    return 0
  fi
  [[ -n "$given" ]] || return 0
  [[ -n "${ARG[memory_high]}" && -n "${ARG[memory_max]}" && -n "${ARG[cpu_weight]}" && -n "${ARG[tasks_max]}" ]] ||
    die_usage "--memory-high, --memory-max, --cpu-weight and --tasks-max come together"
  valid_memory_size "${ARG[memory_high]}" --memory-high
  valid_memory_size "${ARG[memory_max]}" --memory-max
  (($(size_bytes "${ARG[memory_high]}") <= $(size_bytes "${ARG[memory_max]}"))) ||
    die_usage "--memory-high ${ARG[memory_high]} is above --memory-max ${ARG[memory_max]}"
  valid_range "${ARG[cpu_weight]}" "$WS_MIN_CPU_WEIGHT" "$WS_MAX_CPU_WEIGHT" --cpu-weight
  valid_range "${ARG[tasks_max]}" "$WS_MIN_TASKS_MAX" "$WS_MAX_TASKS_MAX" --tasks-max
}

# begin_user_step: root, the site values, and the user's lock, held to the end.
begin_user_step() {
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  lock "user-${ARG[user]}"
  step "leftovers"
  stop_as_user_leftovers "${ARG[user]}"
}

# require_ready USER: the code and services steps need the account step done:
# a managed account, not suspended, with its home. Sets ACCOUNT_HOME.
require_ready() {
  local user="$1"
  getent passwd "$user" >/dev/null || die_refused "no account $user: run 'workstation user account apply $user' first"
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  ! is_suspended "$user" || die_refused "$user is suspended: 'workstation user account apply $user' resumes it"
  ACCOUNT_HOME="$(getent passwd "$user" | cut -d: -f6)"
  [[ "$ACCOUNT_HOME" == /* && -d "$ACCOUNT_HOME" ]] || die_refused "account $user has no home directory ($ACCOUNT_HOME)"
}

# --- the three steps -------------------------------------------------------------

# account_step: the account, its groups, lock state (resume), home mode, what
# the tier grants on the host (record, t3 drop-in), and the shell files.
account_step() {
  local user="${ARG[user]}" home
  step "guards"
  account_guards "$user" "${ARG[uid]}" "${ARG[adopt]}"
  ensure_uid_not_purged "$user" "${ARG[uid]}"
  home="$ACCOUNT_HOME"
  # Serialised: useradd/groupadd lock /etc/passwd.
  lock accounts
  step "marker group"
  ensure_group "$WS_MARKER_GROUP"
  step "account"
  local uid="${ARG[uid]}"
  # No pin: a uid useradd would pick, but never a purged one.
  getent passwd "$user" >/dev/null || [[ -n "$uid" ]] || uid="$(unpurged_uid)"
  ensure_account "$user" "$uid" "$home"
  ensure_adopted "$user"
  ensure_subids "$user"
  step "tier groups"
  ensure_groups "$user" "${ARG_GROUPS[@]}"
  step "revoked groups"
  ensure_revoked "$user" "${ARG_REVOKE[@]}"
  step "resume"
  ensure_resumed "$user"
  unlock accounts
  if ((ARG[private_home])); then
    step "private home"
    ensure_private_home "$user" "$home"
  fi
  step "drift"
  report_drift "$user" "$home" "${ARG_GROUPS[@]}"
  step "tier record"
  ensure_user_record "$user" "${ARG[tier]}" "$(
    IFS=,
    echo "${ARG_GROUPS[*]}"
  )"
  step "unit drop-ins"
  ensure_tier_dropins "$user" "${ARG[tier]}"
  # After the drop-ins: a demoted admin's t3 restarts once, for both.
  step "revoked groups in use"
  ensure_groups_released "$user"
  step "bindings"
  ensure_bindings_record "$user" "${ARG_BINDINGS[@]}"
  step "vault.sh"
  ensure_vault_sh "$user" "$home"
  step "kubeconfig"
  ensure_kubeconfig "$user" "$home" "${ARG[kube_auth]}"
  step "claude links"
  ensure_claude_links "$user" "$home"
}

# --repo-token: the repository needs the token the secrets step stages. The
# code step runs before that step (the beads key goes into the clone), so until
# the token is there it leaves the first clone to the secrets step.
code_step() {
  step "code clone"
  if ((ARG[repo_token])) && [[ "$(path_kind "${ARG[user]}" "$ACCOUNT_HOME" "$ACCOUNT_HOME/${WS_SECRET_FILE[repo-token]}")" != regular ]]; then
    log "notice: no repo-token staged for ${ARG[user]} yet; the secrets step clones ~/code once it stages it"
    return 0
  fi
  ensure_code_clone "${ARG[user]}" "$ACCOUNT_HOME"
}

# services_step: the port files, the budget, the playwright MCP entry, the
# firewall (before anything listens), and the units.
services_step() {
  local user="${ARG[user]}" home="$ACCOUNT_HOME"
  step "ports"
  ensure_ports_free "$user" "${ARG[t3]}" "${ARG[pw]}"
  [[ -z "${ARG[memory_max]}" ]] ||
    ensure_budget_fits "$user" "${ARG[memory_high]}" "${ARG[memory_max]}" "${ARG[cpu_weight]}" "${ARG[tasks_max]}"
  step "port files"
  ensure_port_files "$user" "${ARG[t3]}" "${ARG[pw]}"
  if [[ -n "${ARG[memory_max]}" ]] || ((ARG[observe_memory])); then
    step "budget"
    ensure_budget "$user" "${ARG[memory_high]}" "${ARG[memory_max]}" "${ARG[cpu_weight]}" "${ARG[tasks_max]}"
  fi
  step "claude mcp"
  ensure_playwright_mcp "$user" "$home" "${ARG[pw]}"
  step "firewall"
  firewall_apply
  ensure_firewall_unit
  step "units"
  ensure_units_running "$user"
  step "changed units"
  ensure_restart_on_change "$user"
  step "restarts"
  restart_if_idle "$user"
  ensure_restart_timer
  step "playwright entry"
  ensure_playwright_entry "$user"
}

# --- the verbs -----------------------------------------------------------------------

# user apply: all three steps, in order, in one run (by hand; the program runs
# them as three Commands). It resumes a suspended person, as the account step does.
cmd_user_apply() {
  parse_user_args "workstation user apply USER --tier TIER --t3-port N --playwright-port N [--memory-high SIZE --memory-max SIZE --cpu-weight N --tasks-max N] [--uid N] [--groups g1,g2] [--revoke-groups g1,g2] [--private-home] [--adopt] [--kube-auth AUTH] [--external-binding NAMESPACE/ROLEBINDING]... [--cluster-binding NAME]..." \
    "$WS_ACCOUNT_OPTS$WS_SERVICES_OPTS" "$@"
  begin_user_step
  account_step
  code_step
  services_step
  log "user apply ${ARG[user]}: done"
}

cmd_user_account_apply() {
  parse_user_args "workstation user account apply USER --tier TIER [--uid N] [--groups g1,g2] [--revoke-groups g1,g2] [--private-home] [--adopt] [--kube-auth AUTH] [--external-binding NAMESPACE/ROLEBINDING]... [--cluster-binding NAME]..." \
    "$WS_ACCOUNT_OPTS" "$@"
  begin_user_step
  account_step
  log "user account apply ${ARG[user]}: done"
}

cmd_user_code_apply() {
  parse_user_args "workstation user code apply USER [--repo-token]" " --repo-token " "$@"
  begin_user_step
  require_ready "${ARG[user]}"
  code_step
  log "user code apply ${ARG[user]}: done"
}

cmd_user_services_apply() {
  parse_user_args "workstation user services apply USER --t3-port N --playwright-port N [--memory-high SIZE --memory-max SIZE | --observe-memory] [--cpu-weight N --tasks-max N]" \
    "$WS_SERVICES_OPTS" "$@"
  begin_user_step
  require_ready "${ARG[user]}"
  services_step
  log "user services apply ${ARG[user]}: done"
}

# user services stop: the units off and the ports out of the firewall; the
# account and its home are the account step's (its delete is `user suspend`).
cmd_user_services_stop() {
  parse_user_args "workstation user services stop USER" " " "$@"
  local user="${ARG[user]}"
  require_root
  load_site || true
  if ! getent passwd "$user" >/dev/null; then
    log "notice: no account $user; no services to stop"
    return 0
  fi
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  lock "user-$user"
  stop_as_user_leftovers "$user"
  step "units"
  ensure_units_stopped "$user"
  drop_pending "$user"
  step "port files"
  remove_port_files "$user"
  step "firewall"
  firewall_apply
  log "user services stop $user: done"
}

# --- user suspend: the reversible cut ------------------------------------------------
#
# The user can't hold it up: the account is expired and locked, the units are
# stopped (so nothing restarts as the user) and the user's processes are ended
# first, without waiting for the user's lock (a run of ours that holds it is
# doing work as the user, which has just been killed, so it lets go). Only
# then the rest, under the lock.

cmd_user_suspend() {
  one_user_args "workstation user suspend USER [--force]" "" "--force" "$@"
  local user="$ONE_USER" force="${OPT[--force]:-0}"
  require_root
  load_site || true
  if ! getent passwd "$user" >/dev/null; then
    log "notice: no account $user; nothing to suspend"
    return 0
  fi
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  ensure_not_admin_cut "$user" "$force"
  step "lock"
  lock accounts
  record_suspension "$user"
  ensure_locked "$user"
  unlock accounts
  step "units"
  ensure_units_stopped "$user" kill
  step "processes"
  end_processes "$user" || true
  step "logins"
  stop_logins "$user"

  step "units"
  lock "user-$user"
  stop_as_user_leftovers "$user"
  # A run that held the lock may have started them again before it let go.
  ensure_units_stopped "$user" kill
  drop_pending "$user"
  step "jobs"
  ensure_jobs_aside "$user"
  step "firewall"
  firewall_apply
  step "processes"
  end_processes "$user" ||
    die "processes of $user survive SIGKILL: $(person_procs "$user" | awk '{ print $1 }' | paste -sd' ')"
  # The proof, in the output Pulumi keeps with the delete.
  local cut
  cut="$(cut_json "$user")"
  log "cut: $cut"
  [[ "$(jq -r .holds <<<"$cut")" == true ]] ||
    warn "the cut of $user does not hold on every probe yet (maps: the maps step drops $user; or see the probes above)"
  log "user suspend $user: done"
}

# ensure_not_admin_cut USER FORCE: automation never cuts the admin. The admin is
# site.env's ADMIN_USER (the site step's, never this command line's); with no
# site.env nobody can tell, so every cut then needs --force too.
ensure_not_admin_cut() {
  local user="$1" force="$2" admin
  admin="$(site_get ADMIN_USER)"
  if [[ -z "$admin" ]] && ((!force)); then
    die_refused "$WS_SITE_ENV names no admin, so $user may be the admin: run 'workstation site apply' first, or cut $user by hand with --force"
  fi
  [[ "$user" == "$admin" ]] || return 0
  ((force)) || die_refused "$user is the admin ($WS_SITE_ENV ADMIN_USER): automation never cuts the admin." \
    "To cut them by hand anyway: workstation user suspend $user --force"
  log "suspending the admin $user by hand (--force): the account is locked and expired," \
    "their units are stopped and every process of theirs ends, this session's included if it is theirs"
}

# --- user status: read-only --------------------------------------------------------

cmd_user_status() {
  one_user_args "workstation user status USER [--json]" "" "--json" "$@"
  local user="$ONE_USER" json="${OPT[--json]:-0}"
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
  local json=0
  while (($#)); do
    case "$1" in
      --json) json=1; shift ;;
      *) die_usage "unknown argument $(describe "$1") (usage: workstation status [--json])" ;;
    esac
  done
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
