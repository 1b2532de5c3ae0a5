# shellcheck shell=bash
# me.sh — `workstation me [--json]` (docs/host.md): a person's own status, run as themselves,
# without sudo; the same table (or JSON) as `user status`, for their account only. The person
# is the real uid the kernel gave this process (never $USER, $LOGNAME or an argument: the verb
# takes none), and it reads only what any account may read of its own: the account databases,
# the tier and port files (0644), its units and slices through systemctl, the listeners on its
# own ports in /proc/net, lastlog, and its own home. What only root may read (the suspension,
# secrets and bindings records, the pending restarts, the firewall, the drift checks, the cut
# probes) is null, and the table says so. Sourced by bin/workstation, which runs it before
# anything that needs root.

cmd_me() {
  local -A args=()
  parse_args me args "$@"
  local json="${args[--json]:-0}" user status
  user="$(id -r -u -n)"  # the real uid: no variable of the caller names it
  status="$(me_json "$user")"
  if ((json)); then
    printf '%s\n' "$status"
  else
    status_text <<<"$status"
  fi
}

# me_json USER: user_status_json's fields as USER may read them, with person_facts' ports,
# listeners, maps and budget (their own entries only), the secrets their home holds and the
# memory their slices use now. A name without the marker group is "unmanaged", and no more.
me_json() {
  local user="$1" state=unmanaged tier="" uid="" home="" mode="" groups="" units="[]" login
  if has_marker "$user"; then
    state=active
    uid="$(id -r -u)"
    home="$(getent passwd "$uid" | cut -d: -f6)"
    groups="$(id -nG -- "$user" | tr ' ' '\n' | LC_ALL=C sort | paste -sd,)"
    tier="$(sed -n 's/^TIER=//p' "$(user_record_file "$user")" 2>/dev/null || true)"
    [[ ! -d "$home" ]] || mode="$(stat -c '%a' -- "$home")"
    units="$(units_json "$user")"
  fi
  login="$(last_login "$user")"
  local base
  base="$(jq -n -c --arg user "$user" --arg state "$state" --arg tier "$tier" --arg uid "$uid" --arg home "$home" \
    --arg mode "$mode" --arg groups "$groups" --argjson units "$units" --arg login "$login" '
    def opt: if . == "" then null else . end;
    {user: $user, state: $state, tier: ($tier | opt), uid: ($uid | opt | if . then tonumber else . end),
     home: ($home | opt), home_mode: ($mode | opt), groups: ($groups | split(",") | map(select(length > 0))),
     firewall: null, units: $units, cut: null, cut_at: null, restart_pending: null, drift: null,
     external_bindings: null, playwright_entry: null, last_login: ($login | opt)}')"
  if [[ "$state" != active ]]; then
    printf '%s\n' "$base"
    return 0
  fi
  table_facts "$user" "$(home_secrets_json "$home")" <<<"$base"
}

# home_secrets_json HOME: the names of the shared secrets the home holds (names only, as a
# JSON list): a secret's file there, or its MCP server in ~/.claude.json (read as as-user.sh
# reads it for root: bounded in size, and here in time).
home_secrets_json() {
  local home="$1" name verdict
  local -a held=()
  for name in $WS_SECRETS; do
    if [[ -n "${WS_SECRET_FILE[$name]:-}" ]]; then
      [[ ! -f "$home/${WS_SECRET_FILE[$name]}" ]] || held+=("$name")
    elif [[ -n "${WS_SECRET_MCP[$name]:-}" ]]; then
      verdict="$(timeout "$WS_CLAUDE_JSON_TIMEOUT" "$WS_AS_USER" mcp-entry "$home/.claude.json" "${WS_SECRET_MCP[$name]}" \
        "$WS_CLAUDE_JSON_MAX_BYTES" </dev/null 2>/dev/null || true)"
      [[ "$verdict" != "entry {"* ]] || held+=("$name")
    fi
  done
  printf '%s\n' "${held[@]}" | jq -R -s -c 'split("\n") | map(select(length > 0))'
}
