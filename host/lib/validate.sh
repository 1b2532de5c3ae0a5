# shellcheck shell=bash
# validate.sh — the roster engine's rules, re-checked on the host before
# anything is touched, from the constants rules.sh generates from the C#.
# Every check exits 2 naming the argument. Sourced after common.sh.

# describe VALUE: printable rendering of a hostile value for an error message.
describe() { printf '%q' "$1"; }

valid_os_user() { # VALUE ARGNAME
  local v="$1" what="$2"
  [[ "$v" =~ $WS_RE_OS_USER ]] ||
    die_usage "$what $(describe "$v"): must match $WS_RE_OS_USER"
  [[ "$WS_RESERVED_USERS" != *" $v "* ]] ||
    die_usage "$what $(describe "$v"): reserved system account, never managed"
  [[ "$WS_RESERVED_GROUP_NAMES" != *" $v "* ]] ||
    die_usage "$what $(describe "$v"): the name of a group workstation manages, never an account"
}

# A system account (uid below WS_MIN_UID) that exists and is not already managed is
# treated like a reserved name.
not_system_account() { # USER ARGNAME
  local user="$1" what="$2" entry uid
  entry="$(getent passwd "$user")" || return 0
  IFS=: read -r _ _ uid _ <<<"$entry"
  if ((uid < WS_MIN_UID)) && ! has_marker "$user"; then
    die_usage "$what $(describe "$user"): existing system account (uid $uid), never managed"
  fi
}

in_group() { # USER GROUP
  local g
  for g in $(id -nG -- "$1" 2>/dev/null); do
    [[ "$g" == "$2" ]] && return 0
  done
  return 1
}

has_marker() { in_group "$1" "$WS_MARKER_GROUP"; } # USER

# managed_or_gone USER NOTHING: 0 when USER's account is one we manage; with no account
# at all, a notice that there is NOTHING to do and 1 (what the caller undoes is gone).
# An account without the marker group is refused.
managed_or_gone() {
  if ! getent passwd "$1" >/dev/null; then
    log "notice: no account $1; $2"
    return 1
  fi
  has_marker "$1" || die_refused "account $1 is not managed (no '$WS_MARKER_GROUP' group)"
}

# held_groups USER: " GROUP GROUP ... ": the groups USER is in, for several checks from one `id`.
held_groups() { printf ' %s ' "$(id -nG -- "$1" 2>/dev/null)"; }

valid_tier() {
  [[ "$1" != *" "* && "$WS_TIERS" == *" $1 "* ]] ||
    die_usage "--tier $(describe "$1"): must be one of:$WS_TIERS"
}

valid_port() { # VALUE ARGNAME
  if [[ ! "$1" =~ $WS_RE_PORT ]] || ((10#$1 < WS_MIN_PORT || 10#$1 > WS_MAX_PORT)); then
    die_usage "$2 $(describe "$1"): must be an integer $WS_MIN_PORT-$WS_MAX_PORT"
  fi
}

# valid_memory_size VALUE ARGNAME: a size systemd reads (bytes, or K/M/G/T), within the engine's bounds.
valid_memory_size() {
  local bytes=0
  [[ "$1" =~ $WS_RE_MEMORY_SIZE ]] || die_usage "$2 $(describe "$1"): a size like 4G or 512M (bytes, or K, M, G, T)"
  # The ceiling first in the size's own unit: 13 digits shifted by up to 40 bits wrap around
  # 64 bits (16777217T would read as 1T), where the engine refuses the size.
  ((10#${1%[KMGT]} > WS_MAX_MEMORY >> $(size_shift "$1"))) || bytes="$(size_bytes "$1")"
  ((bytes >= WS_MIN_MEMORY && bytes <= WS_MAX_MEMORY)) ||
    die_usage "$2 $1: must be between $WS_MIN_MEMORY and $WS_MAX_MEMORY bytes"
}

# size_shift SIZE: the bits its unit stands for (K 10, M 20, G 30, T 40; bytes 0).
size_shift() {
  case "$1" in
    *K) echo 10 ;;
    *M) echo 20 ;;
    *G) echo 30 ;;
    *T) echo 40 ;;
    *) echo 0 ;;
  esac
}

# size_bytes SIZE: the bytes of a size valid_memory_size (or WS_RE_SWAP_SIZE) accepted.
size_bytes() {
  echo $((10#${1%[KMGT]} << $(size_shift "$1")))
}

valid_range() { # VALUE MIN MAX ARGNAME
  if [[ ! "$1" =~ ^[1-9][0-9]{0,8}$|^0$ ]] || ((10#$1 < $2 || 10#$1 > $3)); then
    die_usage "$4 $(describe "$1"): must be an integer $2-$3"
  fi
}

valid_uid() {
  if [[ ! "$1" =~ $WS_RE_UID ]] || ((10#$1 < WS_MIN_UID || 10#$1 > WS_MAX_UID)); then
    die_usage "--uid $(describe "$1"): must be an integer $WS_MIN_UID-$WS_MAX_UID"
  fi
}

valid_group() { # VALUE ARGNAME
  [[ "$1" =~ $WS_RE_ACCOUNT ]] ||
    die_usage "$2 $(describe "$1"): group names must match $WS_RE_ACCOUNT"
}

valid_authentik() { # VALUE ARGNAME
  [[ "$1" =~ $WS_RE_AUTHENTIK ]] ||
    die_usage "$2 $(describe "$1"): authentik users must match $WS_RE_AUTHENTIK"
}

# group_list VALUE ARGNAME ARRAY: splits a comma list of group names into the
# named array; every name valid, none empty, none twice.
group_list() {
  local -n out="$3"
  local g
  out=()
  [[ -n "$1" ]] || return 0
  [[ "$1" != *, && "$1" != ,* && "$1" != *,,* && "$1" != *$'\n'* ]] || die_usage "$2 $(describe "$1"): empty group name"
  IFS=, read -r -a out <<<"$1"
  local -A seen=()
  for g in "${out[@]}"; do
    valid_group "$g" "$2"
    [[ -z "${seen[$g]:-}" ]] || die_usage "$2 $(describe "$1"): $g is listed twice"
    seen["$g"]=1
  done
}

# Site values end up in shell snippets and YAML: one line, no quotes,
# backslashes or control characters.
readonly RE_URL='^https?://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+$'
readonly RE_REPO_URL='^[A-Za-z0-9._~/@][A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$'
readonly RE_SITE_ID='^[A-Za-z0-9._:@-]{1,128}$'

valid_url() { # VALUE ARGNAME
  no_credentials "$1" "$2"
  [[ "$1" =~ $RE_URL ]] || die_usage "$2 $(describe "$1"): must be an http(s) URL matching $RE_URL"
}

valid_repo_url() {
  no_credentials "$1" --repo-url
  [[ -z "$1" || "$1" =~ $RE_REPO_URL ]] ||
    die_usage "--repo-url $(describe "$1"): must be empty or a git URL/path matching $RE_REPO_URL"
}

# A URL must not carry a password (any scheme) nor, for http(s), any user part (a
# token there): site values sit in site.env, logs and Pulumi state. The value is
# not echoed. Same rule as StackSettings.CarriesCredentials; scp-like git@host:path
# and ssh://git@host/ pass.
# A restic backend prefix counts as nothing: rest:https://user:pw@host/ carries credentials.
no_credentials() { # VALUE ARGNAME
  [[ "$1" == *://* ]] || return 0
  local authority="${1#*://}" scheme="${1%%://*}"
  authority="${authority%%[/?#]*}"
  scheme="${scheme##*:}"
  [[ "$authority" == *@* ]] || return 0
  local userinfo="${authority%@*}"
  if [[ "$userinfo" == *:* || "$scheme" == http || "$scheme" == https ]]; then
    die_usage "$2: must not carry credentials (user:password@, or a user part in an http(s) URL); give the host its own credentials"
  fi
}

valid_site_id() { # VALUE ARGNAME
  [[ "$1" =~ $RE_SITE_ID ]] || die_usage "$2 $(describe "$1"): must match $RE_SITE_ID"
}

valid_command_line() { # VALUE ARGNAME: one printable line
  local v="$1"
  [[ -n "$v" && "$v" != *[[:cntrl:]]* ]] || die_usage "$2 $(describe "$v"): must be one non-empty printable line"
}

# need_value OPTION "$@": the option's value, or exit 2 when it is missing.
need_value() {
  (($# >= 2)) || die_usage "$1: needs a value"
}

# Another stack's bindings of a person (`--external-binding`, `--cluster-binding`): the names
# the loader checks (RosterLoader's external_bindings and cluster_bindings), re-checked here.
# valid_binding_name VALUE ARGNAME WHAT: a Kubernetes object name (a DNS-1123 subdomain, bounded).
valid_binding_name() {
  [[ -n "$1" && ${#1} -le $WS_MAX_DNS1123_SUBDOMAIN && "$1" =~ $WS_RE_DNS1123_SUBDOMAIN ]] ||
    die_usage "$2 $(describe "$1"): not a valid $3 name (a DNS-1123 subdomain of at most $WS_MAX_DNS1123_SUBDOMAIN characters, $WS_RE_DNS1123_SUBDOMAIN)"
}

# valid_external_binding VALUE: NAMESPACE/ROLEBINDING, the namespace a DNS-1123 label.
valid_external_binding() {
  [[ "$1" == */* ]] || die_usage "--external-binding $(describe "$1"): must be NAMESPACE/ROLEBINDING"
  local ns="${1%%/*}" name="${1#*/}"
  [[ "$ns" =~ $WS_RE_DNS1123_LABEL ]] ||
    die_usage "--external-binding $(describe "$1"): namespace $(describe "$ns") is not a DNS-1123 label ($WS_RE_DNS1123_LABEL)"
  valid_binding_name "$name" --external-binding RoleBinding
}
