# shellcheck shell=bash
# shellcheck disable=SC2178 # the arrays passed by name (local -n) look like strings to shellcheck
# secrets.sh — `user secrets apply|remove` (docs/secrets.md): the shared secrets
# a person holds, staged from Vault by the Pulumi program. The values arrive
# only on stdin, as one JSON object; they never reach an argument vector, a log
# line or a file other than their own. Everything inside the home happens as
# the person (as_user), MCP servers through the real claude CLI (add-json reads
# the server from stdin). Sourced by bin/workstation after home.sh.
#
# What a person holds, and at which rotation serial, is recorded in
# /etc/workstation/secrets-USER.env (root's, names and numbers only). A secret
# is written where absent; an existing file or server keeps its bytes unless
# the serial asked for differs from the recorded one (a rotation). A secret
# the command line no longer lists is removed from the home (the roster took
# it away, in review).

# Per-secret files in the home (WS_SECRET_FILE); the MCP secrets are servers in
# ~/.claude.json (WS_SECRET_MCP): both from rules.sh, Roster/Secrets.cs's list.
# Largest bundle read from stdin: a few credentials, never megabytes.
readonly WS_SECRETS_MAX_BYTES=65536

secrets_record_file() { printf '%s/secrets-%s.env' "$WS_ETC" "$1"; }

# secret_list VALUE OPTION LIST: comma-separated secret names, each known, once, into the array LIST.
secret_list() {
  local value="$1" opt="$2" name
  local -n _list="$3"
  _list=()
  [[ -n "$value" ]] || die_usage "$opt: needs at least one secret name"
  IFS=, read -r -a _list <<<"$value"
  for name in "${_list[@]}"; do
    [[ "$WS_SECRETS" == *" $name "* ]] || die_usage "$opt: unknown secret $(describe "$name") (known:$WS_SECRETS)"
  done
  [[ "$(printf '%s\n' "${_list[@]}" | sort | uniq -d)" == "" ]] || die_usage "$opt: a secret is named twice"
}

# parse_rotate VALUE ROTATE: NAME=SERIAL,... into the associative array ROTATE[NAME].
parse_rotate() {
  local item name serial
  local -a items=()
  local -n _rotate="$2"
  _rotate=()
  [[ -n "$1" ]] || return 0
  IFS=, read -r -a items <<<"$1"
  for item in "${items[@]}"; do
    [[ "$item" =~ ^([a-z-]+)=([0-9]{1,6})$ ]] || die_usage "--rotate: $(describe "$item") is not NAME=SERIAL"
    name="${BASH_REMATCH[1]}" serial="$((10#${BASH_REMATCH[2]}))"
    [[ "$WS_SECRETS" == *" $name "* ]] || die_usage "--rotate: unknown secret $(describe "$name") (known:$WS_SECRETS)"
    [[ -z "${_rotate[$name]:-}" ]] || die_usage "--rotate: $name is named twice"
    _rotate["$name"]="$serial"
  done
}

# read_bundle BUNDLE NAME...: stdin, one JSON object with exactly the secrets NAME...,
# each a non-empty string that passes its own check, into the variable BUNDLE. Errors
# name the secret, never its value.
read_bundle() {
  local name bytes want have bundle_var="$1"
  local -n _bundle="$1"
  shift
  local -a names=("$@")
  _bundle="$(head -c "$((WS_SECRETS_MAX_BYTES + 1))")"
  bytes="$(printf '%s' "$_bundle" | wc -c)"
  ((bytes <= WS_SECRETS_MAX_BYTES)) || die_usage "--values-stdin: more than $WS_SECRETS_MAX_BYTES bytes on stdin"
  printf '%s' "$_bundle" | jq -e 'type == "object" and all(.[]; type == "string" and length > 0)' >/dev/null 2>&1 ||
    die_usage "--values-stdin: stdin is not one JSON object of non-empty strings"
  have="$(printf '%s' "$_bundle" | jq -r 'keys | join(",")')"
  want="$(printf '%s\n' "${names[@]}" | sort | paste -sd,)"
  [[ "$have" == "$want" ]] || die_usage "--values-stdin: stdin holds the secrets [$have], the command line names [$want]"
  for name in "${names[@]}"; do
    valid_secret "$name" "$(secret_value "$bundle_var" "$name")"
  done
}

# secret_value BUNDLE NAME: the value of NAME in the variable BUNDLE, on stdout (for a pipe; never into argv).
# (A function that passes BUNDLE on holds its name in a variable of another name: bundle_var.)
secret_value() {
  local -n _values="$1"
  printf '%s' "$_values" | jq -j --arg k "$2" '.[$k]'
}

# valid_secret NAME VALUE: each secret's shape, so a wrong Vault field is
# caught before anything is written. (A function's arguments stay in this
# process: no argument vector of any program holds the value.)
valid_secret() {
  local v="$2"
  case "$1" in
    claude-credentials)
      printf '%s' "$v" | jq -e 'type == "object"' >/dev/null 2>&1 ||
        die_usage "--values-stdin: claude-credentials is not a JSON object (the content of ~/${WS_SECRET_FILE[claude-credentials]})"
      ;;
    ha-url)
      [[ "$v" =~ ^https?://[^[:space:][:cntrl:]]+$ ]] || die_usage "--values-stdin: ha-url is not an http(s) URL on one line"
      ;;
    *)
      [[ "$v" != *[[:space:][:cntrl:]]* ]] || die_usage "--values-stdin: $1 must be one line without spaces"
      ;;
  esac
}

# --- the record -----------------------------------------------------------------

# recorded_serials USER HELD: HELD[NAME]=SERIAL from the record, into the associative array HELD.
recorded_serials() {
  local file line
  local -n _held="$2"
  _held=()
  file="$(secrets_record_file "$1")"
  [[ -f "$file" ]] || return 0
  while IFS= read -r line; do
    [[ "$line" =~ ^([a-z-]+)=([0-9]+)$ ]] || continue
    _held["${BASH_REMATCH[1]}"]="${BASH_REMATCH[2]}"
  done <"$file"
}

write_record() { # USER HELD
  local file name content=""
  local -n _held="$2"
  file="$(secrets_record_file "$1")"
  for name in $(printf '%s\n' "${!_held[@]}" | sort); do
    content+="$name=${_held[$name]}"$'\n'
  done
  if [[ -z "$content" ]]; then
    remove_file "$file"
  else
    ensure_dir "$WS_ETC" 0755
    write_if_changed "$file" 0600 root:root "$content"
  fi
}

# --- one secret in the home -------------------------------------------------------

# stage_secret USER HOME NAME SERIAL HELD BUNDLE MEMORY_URL: the secret (its value in the
# variable BUNDLE) is in place; rewritten only when SERIAL differs from the one recorded in
# HELD. One that can't be placed yet (the clone has no .beads) is not recorded, so the next
# run tries again.
stage_secret() {
  local user="$1" home="$2" name="$3" serial="$4" rotate=0 bundle_var="$6" memory_url="$7"
  local -n _held="$5"
  [[ -z "${_held[$name]:-}" || "${_held[$name]}" == "$serial" ]] || rotate=1
  local dir="$home/${WS_SECRET_FILE[beads-key]%/*}" dir_kind=""
  if [[ "$name" == beads-key ]]; then
    dir_kind="$(path_kind "$user" "$home" "$dir")" || as_user_failed "$?" "$user" "could not tell what $dir is"
  fi
  if [[ -n "${WS_SECRET_MCP[$name]:-}" ]]; then
    refuse_special "$user" "$home" "$home/.claude.json"
    if mcp_is_theirs "$user" "$home" "$name" "$5"; then
      log "notice: $user has a ${WS_SECRET_MCP[$name]} MCP server of their own: left alone, and $name not recorded as staged"
      return 0
    fi
    # Recorded before the CLI adds it: an add interrupted after the fact still counts as ours.
    _held["$name"]="${_held[$name]:-$serial}"
    write_record "$user" "$5"
    ensure_mcp_server "$user" "$home" "${WS_SECRET_MCP[$name]}" "$rotate" "$(mcp_server_json "$name" "$bundle_var" "$memory_url")"
  elif [[ "$name" == beads-key && "$dir_kind" != directory ]]; then
    log "notice: $user has no ${WS_SECRET_FILE[beads-key]%/*} (no clone, or one without beads); beads-key not staged yet"
    return 0
  else
    stage_secret_file "$user" "$home" "$name" "$rotate" "$bundle_var"
  fi
  ((!rotate)) || changed "$user: rotated $name (serial ${_held[$name]} -> $serial)"
  _held["$name"]="$serial"
}

# mcp_is_theirs USER HOME NAME HELD: the user scope has the server and the record (HELD) doesn't:
# the person made it by hand. Never recorded as held, so no later unstage and no cut removes it.
mcp_is_theirs() {
  local -n _held="$4"
  [[ -z "${_held[$3]:-}" ]] && has_user_mcp "$1" "$2" "${WS_SECRET_MCP[$3]}"
}

# A file secret: 0600, the person's, in a 0700 directory, written atomically.
stage_secret_file() { # USER HOME NAME ROTATE BUNDLE
  local user="$1" home="$2" name="$3" rotate="$4" bundle_var="$5" path dir
  path="$home/${WS_SECRET_FILE[$name]}"
  dir="${path%/*}"
  as_user "$user" "$home" "$WS_AS_USER" private-dir "$dir"
  refuse_special "$user" "$home" "$path"
  if ((rotate)); then
    secret_file_content "$name" "$bundle_var" | as_user_data "$user" "$home" "$WS_AS_USER" write-if-changed "$path" 600
  else
    secret_file_content "$name" "$bundle_var" | as_user_data "$user" "$home" "$WS_AS_USER" create-if-absent "$path" 600
  fi
}

# The snapshot token is a line (the refresh reads its first line); the others are
# the exact bytes Vault holds.
secret_file_content() { # NAME BUNDLE
  secret_value "$2" "$1"
  [[ "$1" != snapshot-token ]] || printf '\n'
}

# The server's JSON for `claude mcp add-json NAME -`, built from stdin by jq.
mcp_server_json() { # SECRET BUNDLE MEMORY_URL
  case "$1" in
    ha-url) secret_value "$2" ha-url | jq -Rsc '{type: "http", url: .}' ;;
    memory-key)
      # shellcheck disable=SC2016 # $u is jq's variable
      secret_value "$2" memory-key | jq -Rsc --arg u "$3" '{type: "http", url: $u, headers: {Authorization: ("Bearer " + .)}}'
      ;;
  esac
}

# has_user_mcp USER HOME SERVER: ~/.claude.json has SERVER in the user scope (read as the person, by jq).
has_user_mcp() {
  # shellcheck disable=SC2016 # $s is jq's variable
  as_user "$1" "$2" jq -e --arg s "$3" '.mcpServers[$s] != null' "$2/.claude.json" >/dev/null 2>&1
}

# ensure_mcp_server USER HOME SERVER ROTATE JSON: the server is added, as the
# person, by the CLI (it reads the JSON from stdin), only when the user scope
# has none of that name; a rotation replaces ours. A server the person set up
# in a project of their own is theirs and left alone.
ensure_mcp_server() {
  local user="$1" home="$2" server="$3" rotate="$4" spec="$5" json="$2/.claude.json"
  refuse_special "$user" "$home" "$json"
  if ((!rotate)) && has_user_mcp "$user" "$home" "$server"; then
    return 0
  fi
  command -v claude >/dev/null || die "the claude CLI is not installed (workstation base apply installs it)"
  lock "claude-$user"
  # One backup of the person's own file before the CLI first touches it (the services
  # step's, usually); never one per secret, which would leave copies of the values behind.
  if person_fact "$user" "$home" "whether $json has a backup" there "$json" none "$home" ".claude.json.bak-"; then
    as_user "$user" "$home" "$WS_AS_USER" backup-once "$json"
  fi
  if ((rotate)); then
    WS_TIMEOUT=120 as_user "$user" "$home" "${WS_CLAUDE[@]}" mcp remove --scope user "$server" >/dev/null 2>&1 || true
  fi
  # The CLI's own messages may quote the JSON: neither stream is kept.
  printf '%s' "$spec" | WS_TIMEOUT=120 as_user_data "$user" "$home" "${WS_CLAUDE[@]}" mcp add-json --scope user "$server" - >/dev/null 2>&1 ||
    die "claude mcp add-json $server failed for $user"
  ((rotate)) || changed "$json: $server MCP server (claude mcp add-json)"
  unlock "claude-$user"
}

# unstage_secret USER HOME NAME HELD: the secret leaves the home (a file, or our MCP server), and HELD.
unstage_secret() {
  local user="$1" home="$2" name="$3"
  local -n _held="$4"
  if [[ -n "${WS_SECRET_MCP[$name]:-}" ]]; then
    local json="$home/.claude.json" server="${WS_SECRET_MCP[$name]}"
    refuse_special "$user" "$home" "$json"
    if has_user_mcp "$user" "$home" "$server"; then
      command -v claude >/dev/null || die "the claude CLI is not installed (workstation base apply installs it)"
      lock "claude-$user"
      WS_TIMEOUT=120 as_user "$user" "$home" "${WS_CLAUDE[@]}" mcp remove --scope user "$server" >/dev/null ||
        die "claude mcp remove $server failed for $user"
      unlock "claude-$user"
      changed "$json: removed the $server MCP server"
    fi
    # The value also sits in backups of the file and in the CLI's logs of the server.
    as_user "$user" "$home" "$WS_AS_USER" drop-mcp-copies "$server"
  else
    as_user "$user" "$home" "$WS_AS_USER" remove "$home/${WS_SECRET_FILE[$name]}"
  fi
  unset "_held[$name]"
}

# --- the verbs --------------------------------------------------------------------

cmd_user_secrets_apply() {
  # shellcheck disable=SC2034 # rotate, held and bundle are filled and read through namerefs
  local -A args=() rotate=() held=()
  local -a list=()
  # shellcheck disable=SC2034 # read through a nameref (read_bundle, secret_value)
  local bundle="" home
  parse_args "user secrets apply" args "$@"
  local user="${args[user]}"
  [[ -z "${args[--secrets]:-}" ]] || secret_list "${args[--secrets]}" --secrets list
  ((${#list[@]} == 0)) || ((${args[--values-stdin]:-0})) || die_usage "--secrets needs --values-stdin (the values, as one JSON object on stdin)"
  ((${#list[@]} > 0)) || ((!${args[--values-stdin]:-0})) || die_usage "--values-stdin needs --secrets (which secrets stdin holds)"
  parse_rotate "${args[--rotate]:-}" rotate
  if [[ " ${list[*]} " == *" memory-key "* ]]; then
    [[ -n "${args[--memory-url]:-}" ]] || die_usage "--memory-url is required with memory-key (where the ${WS_SECRET_MCP[memory-key]} server is)"
    valid_url "${args[--memory-url]}" --memory-url
    no_credentials "${args[--memory-url]}" --memory-url
  fi
  ((${#list[@]} == 0)) || read_bundle bundle "${list[@]}"
  not_system_account "$user" "USER"

  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"
  lock "user-$user"
  stop_as_user_leftovers "$user"
  require_ready "$user" home
  recorded_serials "$user" held
  stage_listed "$user" "$home" list rotate held bundle "${args[--memory-url]:-}"
  unstage_unlisted "$user" "$home" list held
  log "user secrets apply $user: done"
}

# stage_listed USER HOME LIST ROTATE HELD BUNDLE MEMORY_URL: each secret of LIST staged.
# The repo token first: with it the clone the code step left to us can happen,
# and only then can the beads key go into the clone.
stage_listed() {
  local user="$1" home="$2" name
  local -n _list="$3" _rotate="$4"
  step "stage"
  for name in $(printf '%s\n' "${_list[@]}" | awk '$0 == "repo-token" { print; next } { rest = rest $0 "\n" } END { printf "%s", rest }'); do
    stage_secret "$user" "$home" "$name" "${_rotate[$name]:-0}" "$5" "$6" "$7"
    write_record "$user" "$5"
    if [[ "$name" == repo-token ]]; then
      step "code clone"
      ensure_code_clone "$user" "$home"
      step "stage"
    fi
  done
}

# unstage_unlisted USER HOME LIST HELD: what HELD records and LIST no longer names leaves the home.
unstage_unlisted() {
  local user="$1" home="$2" name
  local -n _list="$3" _held="$4"
  step "unstage"
  for name in $(printf '%s\n' "${!_held[@]}" | sort); do
    [[ " ${_list[*]} " != *" $name "* ]] || continue
    unstage_secret "$user" "$home" "$name" "$4"
    write_record "$user" "$4"
    log "$user no longer holds $name (the roster took it away)"
  done
}

# --- the secrets step's delete: it always finishes ---------------------------------

# WS_UNSTAGE_TIMEOUT (rules.sh) bounds each thing done as the person here: the
# delete of a person's secrets step finishes in bounded time whatever they left.

# left_in_place USER WHAT WHY: what the cut could not take out of the home, on
# stderr (the stream the secrets step logs), by name, never a value.
left_in_place() { warn "$1: could not remove $2 ($3); it is left in place"; }

# unstage_at_cut USER HOME NAME: like unstage_secret, but nothing the person left
# where a secret was can stop it: each part is done as the person, bounded in
# time, and what could not be done is reported; it always returns 0.
unstage_at_cut() {
  local user="$1" home="$2" name="$3"
  if [[ -z "${WS_SECRET_MCP[$name]:-}" ]]; then
    local rel="${WS_SECRET_FILE[$name]}"
    WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" as_user "$user" "$home" "$WS_AS_USER" remove "$home/$rel" 2>/dev/null ||
      left_in_place "$user" "'~/$rel'" "not a file, or not removable as $user"
    return 0
  fi
  local server="${WS_SECRET_MCP[$name]}" json="$home/.claude.json" kind
  kind="$(WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" path_kind "$user" "$home" "$json" 2>/dev/null)" || kind=unknown
  case "$kind" in
    absent) ;;
    regular) remove_mcp_at_cut "$user" "$home" "$server" ;;
    *) left_in_place "$user" "the $server MCP server from '~/.claude.json'" "it is not a regular file ($kind): not read" ;;
  esac
  # The value also sits in backups of the file and in the CLI's logs of the server.
  WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" as_user "$user" "$home" "$WS_AS_USER" drop-mcp-copies "$server" ||
    left_in_place "$user" "the copies of '~/.claude.json' and the CLI's logs that hold the $server server" "as $user, it failed"
  return 0
}

# remove_mcp_at_cut USER HOME SERVER: the server out of ~/.claude.json, as the
# person: by the CLI; if the CLI fails, by jq into a new file renamed over the old.
remove_mcp_at_cut() {
  local user="$1" home="$2" server="$3" json="$2/.claude.json"
  WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" has_user_mcp "$user" "$home" "$server" || return 0
  if command -v claude >/dev/null && lock_try "claude-$user" "$WS_UNSTAGE_TIMEOUT"; then
    # Neither stream is kept: the CLI's messages may quote the file.
    if WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" as_user "$user" "$home" "${WS_CLAUDE[@]}" mcp remove --scope user "$server" >/dev/null 2>&1; then
      unlock "claude-$user"
      changed "$json: removed the $server MCP server"
      return 0
    fi
    unlock "claude-$user"
  fi
  # shellcheck disable=SC2016 # the inner shell's and jq's variables
  if WS_TIMEOUT="$WS_UNSTAGE_TIMEOUT" as_user "$user" "$home" sh -c 'umask 077 && t=$(mktemp "$1.ws-tmp.XXXXXX") &&
      if jq --arg s "$2" "del(.mcpServers[\$s])" "$1" >"$t" && mv -f -T -- "$t" "$1"; then :; else rm -f -- "$t"; exit 1; fi' \
      sh "$json" "$server" >/dev/null 2>&1; then
    changed "$json: removed the $server MCP server (by jq: the claude CLI failed)"
  else
    left_in_place "$user" "the $server MCP server from '~/.claude.json'" "the claude CLI and jq, as $user, both failed"
  fi
}

# user secrets remove: the secrets step's delete, at the cut. Every secret the
# person held leaves the home as far as it can; each was shared, so each is
# named with the line that rotates it once Vault holds a new value. Whatever the
# person left where a secret was, it finishes (exit 0) and says what it left.
cmd_user_secrets_remove() {
  local -A args=() held=()
  parse_args "user secrets remove" args "$@"
  local user="${args[user]}" name home
  not_system_account "$user" "USER"
  require_root_site
  recorded_serials "$user" held
  managed_or_gone "$user" "no secrets to remove" || return 0
  ensure_not_admin_cut "$user" "${args[--force]:-0}"
  lock "user-$user"
  stop_as_user_leftovers "$user"
  home="$(getent passwd "$user" | cut -d: -f6)"
  step "unstage"
  for name in $(printf '%s\n' "${!held[@]}" | sort); do
    local serial="${held[$name]}"
    [[ ! -d "$home" ]] || unstage_at_cut "$user" "$home" "$name"
    unset "held[$name]"
    write_record "$user" held
    # On stderr: the one stream the secrets step's Command logs. A person's own
    # secret (the kube token) is nobody else's: nothing shared to rotate.
    if [[ "$WS_PERSONAL_SECRETS" == *" $name "* ]]; then
      warn "revoke: $user held their own $name; revoke it where it was issued (their service account's token), then delete it from their Vault path"
    else
      warn "revoke: $user held the shared secret $name; rotate it in Vault, then: pulumi config set --path 'rotate[\"$name\"]' $((serial + 1))"
    fi
  done
  log "user secrets remove $user: done"
}
