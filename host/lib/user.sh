# shellcheck shell=bash
# user.sh — `user account|code|services …`, `user apply | suspend` (docs/host.md): the
# arguments, and the order of the steps in account.sh, home.sh, services.sh
# and firewall.sh. Sourced by bin/workstation after common.sh, validate.sh and cli.sh.
#
# Every step first checks whether there is anything to do, so a re-run with
# nothing to do changes nothing, and a re-run after an interruption picks up
# where the last one stopped.

# parse_user_args VERB RESULT ARGS...: USER and VERB's options (its synopsis in cli.sh), checked
# (exit 2 before anything is touched), into the associative array RESULT: user, tier, t3, pw,
# uid, kube_auth, the budget (memory_high, memory_max, cpu_weight, tasks_max), the switches
# (adopt, private_home, repo_token, observe_memory: 0 or 1), groups and revoke (comma lists)
# and bindings ("RoleBinding NAMESPACE NAME" or "ClusterRoleBinding NAME" lines, in order).
parse_user_args() {
  local verb="$1" result="$2"
  local -n _parsed="$2"
  local -A given=()
  shift 2
  parse_args "$verb" given "$@"
  _parsed=([user]="${given[user]}" [tier]="${given[--tier]:-}" [t3]="${given[--t3-port]:-}"
    [pw]="${given[--playwright-port]:-}" [uid]="${given[--uid]:-}" [kube_auth]="${given[--kube-auth]-oidc}"
    [adopt]="${given[--adopt]:-0}" [private_home]="${given[--private-home]:-0}" [repo_token]="${given[--repo-token]:-0}"
    [memory_high]="${given[--memory-high]:-}" [memory_max]="${given[--memory-max]:-}"
    [observe_memory]="${given[--observe-memory]:-0}" [cpu_weight]="${given[--cpu-weight]:-}"
    [tasks_max]="${given[--tasks-max]:-}" [groups]="${given[--groups]:-}" [revoke]="${given[--revoke-groups]:-}"
    [bindings]="$(binding_lines "${given[order]}")")
  [[ " ${WS_VERB_SYNOPSIS[$verb]} " != *" --tier "* ]] || check_account_args "$result"
  [[ " ${WS_VERB_SYNOPSIS[$verb]} " != *" --t3-port "* ]] || check_services_args "$result"
  not_system_account "${_parsed[user]}" "USER"
}

# user_option_check RESULT NAME VALUE: a binding, checked as it is read (parse_args).
user_option_check() {
  local -n _so_far="$1"
  case "$2" in
    --external-binding)
      valid_external_binding "$3"
      [[ $'\n'"${_so_far[order]}" != *$'\n'"--external-binding ${3%%/*}/"* ]] ||
        die_usage "--external-binding $(describe "$3"): namespace ${3%%/*} is named twice"
      ;;
    --cluster-binding)
      valid_binding_name "$3" --cluster-binding ClusterRoleBinding
      [[ $'\n'"${_so_far[order]}" != *$'\n'"--cluster-binding $3"$'\n'* ]] ||
        die_usage "--cluster-binding $(describe "$3"): listed twice"
      ;;
  esac
}

# binding_lines ORDER: the record's lines for the bindings among parse_args' "NAME VALUE" lines.
binding_lines() {
  local name value
  while read -r name value; do
    case "$name" in
      --external-binding) printf 'RoleBinding %s %s\n' "${value%%/*}" "${value#*/}" ;;
      --cluster-binding) printf 'ClusterRoleBinding %s\n' "$value" ;;
    esac
  done <<<"$1"
}

# check_account_args RESULT: the account step's values.
check_account_args() {
  local -n _acct="$1"
  local -a groups=() revoke=()
  local g
  [[ -n "${_acct[tier]}" ]] || die_usage "--tier is required"
  valid_tier "${_acct[tier]}"
  [[ -z "${_acct[uid]}" ]] || valid_uid "${_acct[uid]}"
  group_list "${_acct[groups]}" --groups groups
  group_list "${_acct[revoke]}" --revoke-groups revoke
  [[ "$WS_KUBE_AUTHS" == *" ${_acct[kube_auth]} "* ]] ||
    die_usage "--kube-auth: $(describe "${_acct[kube_auth]}") is not one of:$WS_KUBE_AUTHS"
  for g in "${revoke[@]}"; do
    [[ "$g" != "$WS_MARKER_GROUP" ]] || die_usage "--revoke-groups: $g is the marker group of managed accounts"
    [[ " ${groups[*]} " != *" $g "* ]] || die_usage "--revoke-groups: $g is also in --groups"
  done
}

# check_services_args RESULT: the services step's values.
check_services_args() {
  local -n _svc="$1"
  [[ -n "${_svc[t3]}" ]] || die_usage "--t3-port is required"
  valid_port "${_svc[t3]}" "--t3-port"
  [[ -n "${_svc[pw]}" ]] || die_usage "--playwright-port is required"
  valid_port "${_svc[pw]}" "--playwright-port"
  [[ "${_svc[t3]}" != "${_svc[pw]}" ]] || die_usage "--t3-port and --playwright-port must differ (both ${_svc[t3]})"
  parse_budget_args "$1"
}

# parse_budget_args RESULT: the four budget options come together (the program always
# sends them) or not at all (a budget already on the host is then kept).
# --observe-memory stands for both memory sizes: an adopted person without a
# memory budget in the roster is watched (accounting), never limited.
parse_budget_args() {
  local -n _b="$1"
  local any="${_b[memory_high]}${_b[memory_max]}${_b[cpu_weight]}${_b[tasks_max]}"
  if ((_b[observe_memory])); then
    [[ -z "${_b[memory_high]}${_b[memory_max]}" ]] || die_usage "--observe-memory sets no memory limit: not with --memory-high or --memory-max"
    [[ -n "${_b[cpu_weight]}" && -n "${_b[tasks_max]}" ]] || die_usage "--observe-memory comes with --cpu-weight and --tasks-max"
    valid_range "${_b[cpu_weight]}" "$WS_MIN_CPU_WEIGHT" "$WS_MAX_CPU_WEIGHT" --cpu-weight
    valid_range "${_b[tasks_max]}" "$WS_MIN_TASKS_MAX" "$WS_MAX_TASKS_MAX" --tasks-max
    return 0
  fi
  [[ -n "$any" ]] || return 0
  [[ -n "${_b[memory_high]}" && -n "${_b[memory_max]}" && -n "${_b[cpu_weight]}" && -n "${_b[tasks_max]}" ]] ||
    die_usage "--memory-high, --memory-max, --cpu-weight and --tasks-max come together"
  valid_memory_size "${_b[memory_high]}" --memory-high
  valid_memory_size "${_b[memory_max]}" --memory-max
  (($(size_bytes "${_b[memory_high]}") <= $(size_bytes "${_b[memory_max]}"))) ||
    die_usage "--memory-high ${_b[memory_high]} is above --memory-max ${_b[memory_max]}"
  valid_range "${_b[cpu_weight]}" "$WS_MIN_CPU_WEIGHT" "$WS_MAX_CPU_WEIGHT" --cpu-weight
  valid_range "${_b[tasks_max]}" "$WS_MIN_TASKS_MAX" "$WS_MAX_TASKS_MAX" --tasks-max
}

# begin_user_step USER: root, the site values, and the user's lock, held to the end.
begin_user_step() {
  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  lock "user-$1"
  step "leftovers"
  stop_as_user_leftovers "$1"
}

# require_ready USER HOME: the code and services steps need the account step done:
# a managed account, not suspended, with its home, which lands in the variable HOME names.
require_ready() {
  local user="$1" entry
  local -n _ready_home="$2"
  entry="$(getent passwd "$user")" || die_refused "no account $user: run 'workstation user account apply $user' first"
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"
  ! is_suspended "$user" || die_refused "$user is suspended: 'workstation user account apply $user' resumes it"
  IFS=: read -r _ _ _ _ _ _ready_home _ <<<"$entry"
  [[ "$_ready_home" == /* && -d "$_ready_home" ]] || die_refused "account $user has no home directory ($_ready_home)"
}

# --- the three steps -------------------------------------------------------------

# account_step ARGS HOME: the account, its groups, lock state (resume), home mode, what
# the tier grants on the host (record, t3 drop-in), and the shell files. ARGS is
# parse_user_args' result; the home lands in the variable HOME names (a name other than
# acct_home: a name given to local -n resolves to the nearest variable of that name).
account_step() {
  local -n _acct_args="$1" _acct_home="$2"
  local user="${_acct_args[user]}" acct_home
  local -a groups=() revoke=()
  IFS=, read -r -a groups <<<"${_acct_args[groups]}"
  IFS=, read -r -a revoke <<<"${_acct_args[revoke]}"
  step "guards"
  account_guards "$user" "${_acct_args[uid]}" "${_acct_args[adopt]}" acct_home
  ensure_uid_not_purged "$user" "${_acct_args[uid]}"
  _acct_home="$acct_home"
  ensure_account_entry "$user" "${_acct_args[uid]}" "$acct_home" "${groups[@]}" -- "${revoke[@]}"
  if ((_acct_args[private_home])); then
    step "private home"
    ensure_private_home "$user" "$acct_home"
  fi
  step "drift"
  report_drift "$user" "$acct_home" "${groups[@]}"
  step "tier record"
  ensure_user_record "$user" "${_acct_args[tier]}" "${_acct_args[groups]}"
  step "unit drop-ins"
  ensure_tier_dropins "$user" "${_acct_args[tier]}"
  # After the drop-ins: a demoted admin's t3 restarts once, for both.
  step "revoked groups in use"
  ensure_groups_released "$user"
  step "bindings"
  local -a bindings=()
  [[ -z "${_acct_args[bindings]}" ]] || mapfile -t bindings <<<"${_acct_args[bindings]}"
  ensure_bindings_record "$user" "${bindings[@]}"
  ensure_home_files "$user" "$acct_home" "${_acct_args[kube_auth]}"
}

# ensure_account_entry USER UID HOME GROUP... -- REVOKED...: the account itself, under the
# accounts lock (useradd/groupadd lock /etc/passwd): the marker group, the entry, its
# subordinate ids, its groups, and its lock state (resume).
ensure_account_entry() {
  local user="$1" uid="$2" home="$3"
  local -a groups=()
  shift 3
  while (($#)) && [[ "$1" != -- ]]; do groups+=("$1"); shift; done
  shift
  lock accounts
  step "marker group"
  ensure_group "$WS_MARKER_GROUP"
  step "account"
  # No pin: a uid useradd would pick, but never a purged one.
  getent passwd "$user" >/dev/null || [[ -n "$uid" ]] || uid="$(unpurged_uid)"
  ensure_account "$user" "$uid" "$home"
  ensure_adopted "$user"
  ensure_subids "$user"
  step "tier groups"
  ensure_groups "$user" "${groups[@]}"
  step "revoked groups"
  ensure_revoked "$user" "$@"
  step "resume"
  ensure_resumed "$user"
  unlock accounts
}

# ensure_home_files USER HOME KUBE_AUTH: what the account step writes in the home. When
# nothing else changed in this run, one run as the person first asks whether all of it is
# in place already (a re-run's usual answer), instead of the five the full path makes.
ensure_home_files() {
  local -a wanted=()
  step "vault.sh"
  if ((!WS_CHANGED)) && home_files_facts "$1" "$2" "$3" wanted && home_in_place "$1" "$2" "${wanted[@]}" >/dev/null; then
    return 0
  fi
  ensure_vault_sh "$1" "$2"
  step "kubeconfig"
  ensure_kubeconfig "$1" "$2" "$3"
  step "claude links"
  ensure_claude_links "$1" "$2"
}

# code_step ARGS HOME: --repo-token: the repository needs the token the secrets step
# stages. The code step runs before that step (the beads key goes into the clone), so
# until the token is there it leaves the first clone to the secrets step.
code_step() {
  local -n _code_args="$1"
  local user="${_code_args[user]}" home="$2"
  local token="$home/${WS_SECRET_FILE[repo-token]}" first kind
  local -a wanted=(none "$home" .code.clone- there "$home/code")
  step "code clone"
  # One run as the person answers a re-run (the token staged, no leftovers, ~/code there),
  # and says which fact failed first: the token, then the full path is not needed either.
  ((!_code_args[repo_token])) || wanted=(regular "$token" "${wanted[@]}")
  first="$(home_in_place "$user" "$home" "${wanted[@]}")" && return 0
  if ((_code_args[repo_token])) && [[ -z "$first" ]]; then
    # That run failed (no fact's number): the token's own kind, asked alone, decides.
    kind="$(path_kind "$user" "$home" "$token")" || as_user_failed "$?" "$user" "could not tell what $token is"
    [[ "$kind" == regular ]] || first=1
  fi
  if ((_code_args[repo_token])) && [[ "$first" == 1 ]]; then
    log "notice: no repo-token staged for $user yet; the secrets step clones ~/code once it stages it"
    return 0
  fi
  ensure_code_clone "$user" "$home"
}

# services_step ARGS HOME: the port files, the budget, the playwright MCP entry, the
# firewall (before anything listens), and the units. What systemd says of the
# person's units, the firewall's and the timer is read once (unit_facts), and
# again only after the step starts a unit.
services_step() {
  local -n _svc_args="$1"
  local user="${_svc_args[user]}" home="$2"
  local -a budget=("${_svc_args[memory_high]}" "${_svc_args[memory_max]}" "${_svc_args[cpu_weight]}" "${_svc_args[tasks_max]}") units=()
  # shellcheck disable=SC2034 # filled and read through namerefs (unit_facts and its readers)
  local -A facts=()
  mapfile -t units < <(user_units "$user")
  unit_facts facts "${units[@]}" workstation-firewall.service workstation-restart-pending.timer
  step "ports"
  ensure_ports_free "$user" "${_svc_args[t3]}" "${_svc_args[pw]}" facts
  [[ -z "${_svc_args[memory_max]}" ]] || ensure_budget_fits "$user" "${budget[@]}"
  step "port files"
  ensure_port_files "$user" "${_svc_args[t3]}" "${_svc_args[pw]}"
  if [[ -n "${_svc_args[memory_max]}" ]] || ((_svc_args[observe_memory])); then
    step "budget"
    ensure_budget "$user" "${budget[@]}"
  fi
  step "claude mcp"
  ensure_playwright_mcp "$user" "$home" "${_svc_args[pw]}"
  step "firewall"
  firewall_apply
  ensure_firewall_unit facts
  step "units"
  ensure_units_running "$user" facts
  step "changed units"
  ensure_restart_on_change "$user" facts
  step "restarts"
  restart_if_idle "$user"
  ensure_restart_timer facts
  step "playwright entry"
  ensure_playwright_entry "$user"
}

# --- the verbs -----------------------------------------------------------------------

# user apply: all three steps, in order, in one run (by hand; the program runs
# them as three Commands). It resumes a suspended person, as the account step does.
cmd_user_apply() {
  local -A args=()
  local home
  parse_user_args "user apply" args "$@"
  begin_user_step "${args[user]}"
  account_step args home
  code_step args "$home"
  services_step args "$home"
  log "user apply ${args[user]}: done"
}

cmd_user_account_apply() {
  local -A args=()
  local home
  parse_user_args "user account apply" args "$@"
  begin_user_step "${args[user]}"
  account_step args home
  log "user account apply ${args[user]}: done"
}

cmd_user_code_apply() {
  local -A args=()
  local home
  parse_user_args "user code apply" args "$@"
  begin_user_step "${args[user]}"
  require_ready "${args[user]}" home
  code_step args "$home"
  log "user code apply ${args[user]}: done"
}

cmd_user_services_apply() {
  local -A args=()
  local home
  parse_user_args "user services apply" args "$@"
  begin_user_step "${args[user]}"
  require_ready "${args[user]}" home
  services_step args "$home"
  log "user services apply ${args[user]}: done"
}

# user services stop: the units off and the ports out of the firewall; the
# account and its home are the account step's (its delete is `user suspend`).
cmd_user_services_stop() {
  local -A args=()
  parse_user_args "user services stop" args "$@"
  local user="${args[user]}"
  require_root_site
  managed_or_gone "$user" "no services to stop" || return 0
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
  local -A args=()
  parse_args "user suspend" args "$@"
  local user="${args[user]}" force="${args[--force]:-0}"
  require_root_site
  managed_or_gone "$user" "nothing to suspend" || return 0
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
