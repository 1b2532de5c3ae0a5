# shellcheck shell=bash
# user.sh — `user account|code|services …`, `user apply | suspend` (docs/host.md): the
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
  if ((ARG[repo_token])) && [[ "$(path_kind "${ARG[user]}" "$ACCOUNT_HOME" "$ACCOUNT_HOME/.config/workstation/repo-token")" != regular ]]; then
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
