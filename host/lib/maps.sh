# shellcheck shell=bash
# maps.sh — `maps apply USER:AUTHENTIK_USER:T3_PORT ...`: regenerates the two
# shared maps whole from the full roster, byte for byte deterministic, atomic,
# under a lock; unchanged content is not rewritten. Sourced by bin/workstation.

cmd_maps_apply() {
  local arg os_user auth port rest
  local -A by_user=() by_auth=() by_port=()
  local -a lines=()
  for arg in "$@"; do
    [[ "$arg" != -* ]] || die_usage "unknown option $(describe "$arg")"
    IFS=: read -r os_user auth port rest <<<"$arg"
    [[ "${arg//[^:]/}" == "::" && -z "$rest" && "$arg" != *$'\n'* ]] ||
      die_usage "$(describe "$arg"): expected USER:AUTHENTIK_USER:T3_PORT"
    valid_os_user "$os_user" "USER in $(describe "$arg")"
    valid_authentik "$auth" "AUTHENTIK_USER in $(describe "$arg")"
    valid_port "$port" "$WS_T3_PORT_KEY in $(describe "$arg")"
    [[ -z "${by_user[$os_user]:-}" ]] || die_usage "user $os_user appears twice"
    [[ -z "${by_auth[$auth]:-}" ]] || die_usage "authentik user $auth appears twice"
    [[ -z "${by_port[$port]:-}" ]] || die_usage "t3 port $port appears twice"
    by_user["$os_user"]=1
    by_auth["$auth"]=1
    by_port["$port"]=1
    lines+=("$auth $os_user $((10#$port))")
  done
  require_root

  local sorted="" ttyd="" json
  if ((${#lines[@]})); then
    sorted="$(printf '%s\n' "${lines[@]}" | sort -t ' ' -k1,1)"$'\n'
  fi
  ttyd="$(printf '%s' "$sorted" | awk 'NF { print $1 " " $2 }')"
  [[ -z "$ttyd" ]] || ttyd+=$'\n'
  # Values are validated ([A-Za-z0-9._@-] and digits): nothing needs escaping,
  # but jq builds the JSON anyway; -S sorts keys, --indent 2 fixes the layout.
  json="$(printf '%s' "$sorted" |
    jq -R -n -S --indent 2 '[inputs | select(length > 0) | split(" ")
      | {key: .[0], value: {os_user: .[1], port: (.[2] | tonumber)}}] | from_entries')"$'\n'

  lock maps
  # Both are checked before either is written: a refusal touches nothing.
  guard_shared "$WS_TTYD_MAP" "$ttyd"
  guard_shared "$WS_DISPATCH_JSON" "$json"
  write_shared "$WS_TTYD_MAP" 0644 root:root "$ttyd"
  ensure_dir "$WS_DISPATCH_DIR" 0755
  write_shared "$WS_DISPATCH_JSON" 0644 root:root "$json"
  log "maps apply: ${#lines[@]} user(s): done"
}
