# shellcheck shell=bash
# site.sh — `site apply`: the machine-wide values the per-user steps read,
# written to /etc/workstation/site.env (KEY=VALUE lines, raw values; parsed by
# load_site, never sourced). Sourced by bin/workstation. ADMIN_USER, the
# roster's admin, is the one person `user suspend` refuses to cut without --force.

cmd_site_apply() {
  local -A args=()
  parse_args "site apply" args "$@"
  local repo_url="${args[--repo-url]:-}" oidc_issuer="${args[--oidc-issuer]:-}" oidc_client_id="${args[--oidc-client-id]:-}"
  local cluster_name="${args[--cluster-name]:-}" cluster_server="${args[--cluster-server]:-}" vault_addr="${args[--vault-addr]:-}"
  local t3_command="${args[--t3-command]:-}" snapshot_url="${args[--snapshot-url]:-}" edge_user="${args[--edge-user]:-}"
  local privileged_groups="${args[--privileged-groups]:-}" admin="${args[--admin]:-}" idle_minutes="${args[--restart-idle-minutes]:-}"
  local grant_type="${args[--oidc-grant-type]-$WS_DEFAULT_OIDC_GRANT_TYPE}" extra_scope="${args[--oidc-extra-scope]:-}"
  local opt
  for opt in --repo-url --oidc-issuer --oidc-client-id --cluster-name --cluster-server --vault-addr --admin; do
    [[ -n "${args[$opt]+set}" ]] || die_usage "$opt is required"
  done
  valid_os_user "$admin" --admin
  valid_repo_url "$repo_url"
  valid_url "$oidc_issuer" --oidc-issuer
  valid_site_id "$oidc_client_id" --oidc-client-id
  valid_site_id "$cluster_name" --cluster-name
  valid_url "$cluster_server" --cluster-server
  valid_url "$vault_addr" --vault-addr
  [[ -n "$t3_command" ]] || t3_command="$WS_DEFAULT_T3_COMMAND"
  valid_command_line "$t3_command" --t3-command
  [[ -z "$snapshot_url" ]] || valid_url "$snapshot_url" --snapshot-url
  [[ -z "$edge_user" ]] || valid_group "$edge_user" --edge-user
  [[ "$WS_OIDC_GRANT_TYPES" == *" $grant_type "* ]] ||
    die_usage "--oidc-grant-type: $(describe "$grant_type") is not one of:$WS_OIDC_GRANT_TYPES"
  [[ -z "$extra_scope" || "$extra_scope" =~ ^[a-z][a-z_]{0,31}$ ]] ||
    die_usage "--oidc-extra-scope: $(describe "$extra_scope") is not one OIDC scope name"
  [[ -z "$idle_minutes" ]] || valid_range "$idle_minutes" 0 "$WS_MAX_RESTART_IDLE_MINUTES" --restart-idle-minutes
  local -a extra_groups=()
  group_list "$privileged_groups" --privileged-groups extra_groups
  privileged_groups="$(
    IFS=,
    echo "${extra_groups[*]}"
  )"
  require_root

  local content
  content="$(printf '%s\n' \
    "# Written by workstation site apply; parsed, never sourced." \
    "REPO_URL=$repo_url" \
    "OIDC_ISSUER=$oidc_issuer" \
    "OIDC_CLIENT_ID=$oidc_client_id" \
    "CLUSTER_NAME=$cluster_name" \
    "CLUSTER_SERVER=$cluster_server" \
    "VAULT_ADDR=$vault_addr" \
    "T3_COMMAND=$t3_command" \
    "SNAPSHOT_URL=$snapshot_url" \
    "EDGE_USER=$edge_user" \
    "PRIVILEGED_GROUPS=$privileged_groups" \
    "ADMIN_USER=$admin" \
    "RESTART_IDLE_MINUTES=$idle_minutes" \
    "OIDC_GRANT_TYPE=$grant_type" \
    "OIDC_EXTRA_SCOPE=$extra_scope")"$'\n'
  ensure_site_env "$content"
  log "site apply: done"
}

# ensure_site_env CONTENT: site.env holds CONTENT, and the firewall follows it.
ensure_site_env() {
  lock site
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$WS_SITE_ENV" 0644 root:root "$1"
  unlock site
  # The edge account is part of the firewall: a change reaches it now, not at
  # the next user apply. (Before the base has installed nft there is none.)
  if command -v nft >/dev/null; then
    load_site
    firewall_apply
  fi
}
