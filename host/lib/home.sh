# shellcheck shell=bash
# home.sh — the steps of `user apply` inside a user's home: ~/.zshrc.d/vault.sh,
# ~/.kube/config, the ~/code clone and the playwright entry
# in ~/.claude.json. Every read and write runs as the user (as_user), so a link
# the user planted never makes root touch anything else; a FIFO, socket or
# device where a file is expected is refused, never read. Sourced by
# bin/workstation after common.sh.

readonly WS_AS_USER="$WS_ROOT/lib/as-user.sh"
# The clone may take a while; every other call has the default timeout.
readonly WS_CLONE_TIMEOUT=1800
# The one git config the clone reads (as its "global" one): neither the user's
# nor the system's.
readonly WS_CLONE_GITCONFIG="$WS_ETC/clone.gitconfig"
# The clone's credential helper (docs/secrets.md): it reads the staged repo
# token from a 0600 file of the person's, never from an argument.
readonly WS_GIT_CREDENTIAL="$WS_ROOT/bin/git-credential-workstation"
# The clone's one remote, the forge; `git push` goes there, to the person's own branch.
readonly WS_CLONE_REMOTE=forgejo
# The claude CLI as the host runs it in a person's home: no update, no telemetry.
readonly -a WS_CLAUDE=(env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
  DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 claude)

# path_kind USER HOME PATH: absent, regular, directory or other (following links).
path_kind() { as_user "$1" "$2" "$WS_AS_USER" kind "$3"; }

# as_user_failed RC USER WHAT: die: WHAT (what could not be told or done, naming the file)
# because a run as USER failed (exit RC), and why; a run that systemd ended has said so.
# For the command substitutions whose failure would otherwise end the step unexplained.
as_user_failed() {
  local why="exit $1"
  (($1 != 124)) || why="timed out after ${WS_TIMEOUT:-$WS_AS_USER_TIMEOUT}s"
  die "$3: the run as $2 failed ($why)"
}

# refuse_special USER HOME PATH: a file we may read must be absent or regular.
refuse_special() {
  local kind
  kind="$(path_kind "$@")" || as_user_failed "$?" "$1" "could not tell what $3 is"
  [[ "$kind" != other ]] ||
    die "$3 is not a regular file (a FIFO, socket or device?): refusing to read it; remove it and apply again"
}

# home_in_place USER HOME FACT...: one run as the person (as-user.sh in-place): true when
# every FACT holds, so a step's own checks and writes in the home would change nothing and
# can be left out (each of those is a run as the person: a systemd-run). False when one
# does not hold (printed: the number of the first, as the run said it), or the run failed
# (nothing printed): then the step takes its full path, which decides again.
home_in_place() {
  local out
  out="$(as_user "$1" "$2" "$WS_AS_USER" in-place "${@:3}" 2>/dev/null)" && return 0
  # The person can write into that output: only a number counts.
  [[ ! "$out" =~ ^[1-9][0-9]{0,2}$ ]] || printf '%s' "$out"
  return 1
}

# person_fact USER HOME WHAT FACT...: home_in_place's check for a "no" that is acted on (a
# clone made, a backup made or left out): true when every FACT holds, false when one does
# not, and a run that can't tell ends the step, saying it could not tell WHAT. (Read as a
# "no", a failed run made the code step clone beside a ~/code it had never looked at.)
person_fact() {
  local out rc=0
  out="$(as_user "$1" "$2" "$WS_AS_USER" in-place "${@:4}")" || rc=$?
  ((rc != 0)) || return 0
  # The person can write into that output: a "no" is exit 1 with the fact's number only.
  ((rc != 1)) || [[ ! "$out" =~ ^[1-9][0-9]{0,2}$ ]] || return 1
  as_user_failed "$rc" "$1" "could not tell $3"
}

# stdout_digest CMD...: "BYTES:SHA256" of what CMD prints (as-user.sh in-place compares a
# file with it: its size first, so a file of another size is never read).
stdout_digest() {
  local text sha
  text="$("$@" && printf x)"
  text="${text%x}"
  read -r sha _ < <(printf '%s' "$text" | sha256sum)
  printf '%s:%s' "${#text}" "$sha"
}

# vault_sh VAULT_ADDR: ~/.zshrc.d/vault.sh.
vault_sh() {
  printf '%s\n' "# Managed by workstation (user apply): the Vault address only, never a token." \
    "# Log in with your own identity: vault login -method=oidc" \
    "export VAULT_ADDR='$1'"
}

ensure_vault_sh() { # USER HOME
  local user="$1" home="$2" vault
  vault="$(site_get VAULT_ADDR)"
  [[ -n "$vault" ]] || return 0
  as_user "$user" "$home" "$WS_AS_USER" mkdir "$home/.zshrc.d" 0755
  vault_sh "$vault" | as_user_data "$user" "$home" "$WS_AS_USER" write-if-changed "$home/.zshrc.d/vault.sh" 644
}

# home_files_facts USER HOME KUBE_AUTH FACTS: into the array FACTS, what as-user.sh in-place
# checks for the account step's files in the home (vault.sh, the kubeconfig, the config
# base's links) to be as ensure_vault_sh, ensure_kubeconfig and ensure_claude_links leave
# them; fails (no facts) for a kube auth those would refuse.
home_files_facts() {
  local user="$1" home="$2" auth="$3" vault name
  local -n _facts="$4"
  [[ "$WS_KUBE_AUTHS" == *" $auth "* ]] || return 1
  vault="$(site_get VAULT_ADDR)"
  _facts=()
  [[ -z "$vault" ]] ||
    _facts+=(dir "$home/.zshrc.d" file "$home/.zshrc.d/vault.sh" 644 "$(stdout_digest vault_sh "$vault")")
  _facts+=(kept "$home/.kube/config" "$(stdout_digest kubeconfig "$home" "$auth")")
  for name in "${WS_CONFIG_BASE_LINKS[@]}"; do
    [[ ! -d "$WS_CONFIG_BASE/$name" ]] || _facts+=(there "$home/.claude/$name")
  done
}

# ~/.kube/config: written only when nothing is there; someone else's is backed
# up once and left in place. AUTH is the roster's kube_auth: oidc (kubelogin)
# or service-account-token (the token file the secrets step stages).
ensure_kubeconfig() { # USER HOME AUTH
  local user="$1" home="$2" auth="${3:-oidc}" kube="$2/.kube/config"
  [[ "$WS_KUBE_AUTHS" == *" $auth "* ]] || die_usage "kube auth: $(describe "$auth") is not one of:$WS_KUBE_AUTHS"
  if person_fact "$user" "$home" "whether $kube is there" there "$kube"; then
    refuse_special "$user" "$home" "$kube"
    kubeconfig "$home" "$auth" | as_user_data "$user" "$home" "$WS_AS_USER" backup-once "$kube"
  else
    as_user "$user" "$home" "$WS_AS_USER" mkdir "$home/.kube" 0700
    kubeconfig "$home" "$auth" | as_user_data "$user" "$home" "$WS_AS_USER" create-if-absent "$kube" 600
  fi
}

# The kubeconfig, from site.env. OIDC: the exec plugin (kubelogin). The devvm
# has no browser: kubelogin runs the site's grant (device-code unless site.env
# says otherwise; a site.env from before the key has none), and asks for the
# extra scope the apiserver's username claim needs (email). The fallback
# (service-account-token): kubectl reads the token from the file the secrets
# step stages; the kubeconfig names the file, never holds the token.
kubeconfig() { # HOME AUTH
  local home="$1" auth="$2" kuser=oidc name server issuer client grant scope
  [[ "$auth" == oidc ]] || kuser=service-account
  name="$(site_get CLUSTER_NAME)"
  server="$(site_get CLUSTER_SERVER)"
  issuer="$(site_get OIDC_ISSUER)"
  client="$(site_get OIDC_CLIENT_ID)"
  grant="$(site_get OIDC_GRANT_TYPE)"
  scope="$(site_get OIDC_EXTRA_SCOPE)"
  [[ "$WS_OIDC_GRANT_TYPES" == *" $grant "* ]] || grant="$WS_DEFAULT_OIDC_GRANT_TYPE"
  cat <<EOF
# Written once by workstation (user apply); yours to change, never rewritten.
apiVersion: v1
kind: Config
clusters:
  - name: "$name"
    cluster:
      server: "$server"
contexts:
  - name: "$name"
    context:
      cluster: "$name"
      user: $kuser
current-context: "$name"
users:
EOF
  if [[ "$auth" != oidc ]]; then
    printf '  - name: %s\n    user:\n      tokenFile: "%s"\n' "$kuser" "$home/$WS_KUBE_TOKEN_PATH"
    return 0
  fi
  cat <<EOF
  - name: oidc
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: kubectl
        args:
          - oidc-login
          - get-token
          - "--oidc-issuer-url=$issuer"
          - "--oidc-client-id=$client"
          - "--grant-type=$grant"
EOF
  [[ -z "$scope" ]] || printf '          - "--oidc-extra-scope=%s"\n' "$scope"
  printf '        interactiveMode: IfAvailable\n'
}

# ~/code: cloned only when nothing at all is at the path. The clone happens in
# a temp dir inside the home and is renamed into place, so an interrupted
# clone never leaves a half ~/code (the leftover is removed on the next run).
# git reads no config or hooks of the user's, nor the system's: only what the
# command line says. The seed's push model: the one remote is `forgejo`, the
# person works on a branch named after them (the forge's branch of that name
# when it has one), and `git push` sends the current branch there
# (push.default=current); the forge protects master. Credentials come from the
# helper, which reads the staged repo token; none is in the URL or the config.
ensure_code_clone() { # USER HOME
  local user="$1" home="$2" repo code tmp
  code="$home/code"
  as_user "$user" "$home" "$WS_AS_USER" rm-glob "$home" ".code.clone-"
  if person_fact "$user" "$home" "whether anything is at $code" there "$code"; then
    return 0
  fi
  repo="$(site_get REPO_URL)"
  if [[ -z "$repo" ]]; then
    log "notice: REPO_URL is empty in $WS_SITE_ENV; ~/code not cloned for $user"
    return 0
  fi
  ensure_clone_gitconfig "$repo"
  local -a git=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$WS_CLONE_GITCONFIG" GIT_TERMINAL_PROMPT=0 git)
  tmp="$(as_user "$user" "$home" mktemp -d "$home/.code.clone-XXXXXX")" ||
    as_user_failed "$?" "$user" "could not make the clone's folder in $home"
  # clone -c sets the config in the new repository before anything is fetched or
  # checked out: without the git-crypt key, secrets stay ciphertext, the rest is plaintext.
  # --template= copies no hook into it; core.hooksPath runs none during the clone.
  WS_TIMEOUT="$WS_CLONE_TIMEOUT" as_user "$user" "$home" "${git[@]}" clone --quiet --template= \
    --origin "$WS_CLONE_REMOTE" -c credential.helper="$WS_GIT_CREDENTIAL" \
    -c filter.git-crypt.smudge=cat -c filter.git-crypt.clean=cat \
    -c filter.git-crypt.required=false -c push.default=current -c remote.pushDefault="$WS_CLONE_REMOTE" \
    -- "$repo" "$tmp/code"
  # The person's branch: the forge's, tracked, when it exists; else a new one from the default branch.
  if as_user "$user" "$home" "${git[@]}" -C "$tmp/code" rev-parse --verify --quiet "refs/remotes/$WS_CLONE_REMOTE/$user" >/dev/null; then
    as_user "$user" "$home" "${git[@]}" -C "$tmp/code" switch --quiet --track -c "$user" "$WS_CLONE_REMOTE/$user"
  else
    as_user "$user" "$home" "${git[@]}" -C "$tmp/code" switch --quiet --no-track -c "$user"
  fi
  as_user "$user" "$home" mv -n -T -- "$tmp/code" "$code"
  as_user "$user" "$home" rmdir -- "$tmp" 2>/dev/null || true
  as_user "$user" "$home" test -d "$code" || die "could not move the clone into $code"
  changed "$code (cloned $repo, branch $user)"
}

# ensure_clone_gitconfig REPO: the clone's only config. A local repository
# owned by another account passes git's ownership check only when listed in
# safe.directory, which git reads from protected config alone (not -c).
ensure_clone_gitconfig() {
  local path="" content
  case "$1" in
    file://*) path="${1#file://}" ;;
    /*) path="$1" ;;
  esac
  content="# Written by workstation user apply: the only git config the ~/code clone reads."$'\n'
  content+="[core]"$'\n'$'\t'"hooksPath = /dev/null"$'\n'
  [[ -z "$path" ]] || content+="[safe]"$'\n'$'\t'"directory = $path"$'\n'
  ensure_dir "$WS_ETC" 0755
  # Every person's code step writes this one file, and Pulumi runs them at once: one at a
  # time, or a run's leftover cleanup removes another's temp file before its rename.
  lock clone-config
  write_if_changed "$WS_CLONE_GITCONFIG" 0644 root:root "$content"
  unlock clone-config
}

# playwright_mcp_surely_absent USER HOME: jq, as the person, answers for every
# place `claude mcp get playwright` looks from the home, without the CLI (over a
# second of Node): ~/.claude.json is absent or parses with no playwright entry
# (user or home-project scope), and no .mcp.json (project scope) is in the home
# or a folder above it. False when any of that is unsure: then the CLI asks.
playwright_mcp_surely_absent() { # USER HOME
  local dir="$2"
  local -a project=()
  while [[ -n "$dir" ]]; do
    project+=("$dir/.mcp.json")
    dir="${dir%/*}"
  done
  project+=(/.mcp.json)
  # shellcheck disable=SC2016 # expanded by the inner shell and by jq
  as_user "$1" "$2" sh -c 'json=$1 home=$2; shift 2
    for f in "$@"; do [ ! -e "$f" ] || exit 1; done
    [ ! -e "$json" ] || jq -e --arg h "$home" "(.mcpServers.playwright // .projects[\$h].mcpServers.playwright) == null" "$json" >/dev/null 2>&1' \
    sh "$2/.claude.json" "$2" "${project[@]}"
}

# The playwright entry in ~/.claude.json, added as the user only when there is
# none. One run as the person (each costs a systemd-run), bounded in time and size
# (as-user.sh add-mcp): a FIFO, socket or device there is refused, never read; a file
# over WS_CLAUDE_JSON_MAX_BYTES too; an entry found by jq (user or home-project scope)
# is left alone; else the entry is written byte for byte as `claude mcp add` writes
# it (a run of the CLI is over a second of Node) where that is sure: no project-scope
# .mcp.json, and the file absent or in the CLI's own layout. Anything else is the
# real CLI's to add, as the user.
ensure_playwright_mcp() { # USER HOME PORT
  local user="$1" home="$2" port="$3" url json="$2/.claude.json" out result
  url="http://127.0.0.1:$port/mcp"
  lock "claude-$user"
  out="$(playwright_entry_json "$port" | WS_TIMEOUT="$WS_CLAUDE_JSON_TIMEOUT" as_user_data "$user" "$home" "$WS_AS_USER" \
    add-mcp "$json" playwright "$WS_CLAUDE_JSON_MAX_BYTES" "$home")" || out=failed
  # The verdict is the last line; before it, the backup's own "changed" line. The person
  # can write into that output: only these words count.
  result="${out##*$'\n'}"
  [[ "$out" != *$'\n'* ]] || printf '%s\n' "${out%$'\n'*}"
  case "$result" in
    other) die "$json is not a regular file (a FIFO, socket or device?): refusing to read it; remove it and apply again" ;;
    large) die "$json is over $WS_CLAUDE_JSON_MAX_BYTES bytes: refusing to read it; remove it and apply again" ;;
    present)
      unlock "claude-$user"
      return 0
      ;;
    added)
      changed "$json: playwright MCP server $url (as claude mcp add writes it)"
      record_playwright_entry "$user" "$(playwright_entry_json "$port")"
      unlock "claude-$user"
      return 0
      ;;
  esac
  command -v claude >/dev/null || die "the claude CLI is not installed (workstation base apply installs it)"
  # Backed up before the CLI runs at all (even `mcp get` migrates an old file); backup-once
  # does nothing when there is no file (the CLI creates it then), and a run that fails ends
  # the step: the CLI never runs on a file not backed up.
  as_user "$user" "$home" "$WS_AS_USER" backup-once "$json"
  if ! playwright_mcp_surely_absent "$user" "$home" &&
    WS_TIMEOUT=120 as_user "$user" "$home" "${WS_CLAUDE[@]}" mcp get playwright >/dev/null 2>&1; then
    log "$user already has a playwright MCP server (claude mcp get); left alone"
    unlock "claude-$user"
    return 0
  fi
  WS_TIMEOUT=120 as_user "$user" "$home" "${WS_CLAUDE[@]}" mcp add --scope user --transport http playwright "$url" >/dev/null
  changed "$json: playwright MCP server $url (claude mcp add)"
  record_playwright_entry "$user" "$(playwright_entry_json "$port")"
  unlock "claude-$user"
}

# --- the playwright entry follows its port (issue 26 §3) --------------------------
#
# The entry the program wrote is recorded root-side (the person can't forge the
# record; they can only make their file hold exactly what we wrote). When the
# port moves, that entry, and only it, is repointed in place, as the person,
# with a backup, once the server listens on the new port (no restart of it
# pending: the idle gate). An entry the person changed or wrote is theirs: left
# alone, and `user status` says it points elsewhere.

# Largest ~/.claude.json read (as the person; the CLI's own stays far below), and
# how long one read or rewrite of it may take.
readonly WS_CLAUDE_JSON_MAX_BYTES=$((32 * 1024 * 1024))
readonly WS_CLAUDE_JSON_TIMEOUT=15

# playwright_entry_record USER: root's record of the entry the program last wrote
# into USER's ~/.claude.json (one line, keys sorted), or "null": theirs.
playwright_entry_record() { printf '%s/playwright-entry-%s.json' "$WS_ETC" "$1"; }

# playwright_entry_json PORT: the entry `claude mcp add --transport http` writes, keys sorted.
playwright_entry_json() { printf '{"type":"http","url":"http://127.0.0.1:%s/mcp"}' "$1"; }

record_playwright_entry() { # USER ENTRY|null
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$(playwright_entry_record "$1")" 0644 root:root "$2"$'\n'
}

recorded_playwright_entry() { # USER: the record's line, or nothing
  local line=""
  [[ ! -f "$(playwright_entry_record "$1")" ]] || line="$(head -c 4096 -- "$(playwright_entry_record "$1")")"
  printf '%s' "${line%$'\n'}"
}

# read_playwright_entry USER HOME: as-user.sh mcp-entry's verdict, bounded in time
# and size; "unreadable" when the read itself failed (a FIFO swapped in: timed out).
read_playwright_entry() {
  WS_TIMEOUT="$WS_CLAUDE_JSON_TIMEOUT" as_user "$1" "$2" "$WS_AS_USER" mcp-entry "$2/.claude.json" playwright "$WS_CLAUDE_JSON_MAX_BYTES" 2>/dev/null ||
    echo unreadable
}

# ensure_playwright_entry USER: the entry the program wrote follows the port file.
ensure_playwright_entry() {
  local user="$1" port want record home verdict unit
  unit="$(user_path "$WS_PLAYWRIGHT_UNIT" "$user")"
  port="$(port_in "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$user")" "$WS_PLAYWRIGHT_PORT_KEY")" || return 0
  want="$(playwright_entry_json "$port")"
  record="$(recorded_playwright_entry "$user")"
  # Ours and in place, or theirs: nothing to read.
  [[ "$record" != "$want" && "$record" != null ]] || return 0
  if [[ -f "$WS_RESTART_PENDING_DIR/$unit" ]]; then
    log "playwright MCP entry of $user: repointed to port $port once $unit restarts there (restart pending)"
    return 0
  fi
  home="$(getent passwd "$user" | cut -d: -f6)"
  lock "claude-$user"
  verdict="$(read_playwright_entry "$user" "$home")"
  if [[ "$verdict" == "entry $want" ]]; then
    record_playwright_entry "$user" "$want"
  elif [[ -n "$record" && "$verdict" == "entry $record" ]]; then
    repoint_playwright_entry "$user" "$home" "$record" "$want"
  elif [[ "$verdict" == "entry {"* ]]; then
    # Not what we wrote (or, before the record, not what we would have): theirs from now on.
    record_playwright_entry "$user" null
    log "notice: $user's playwright MCP entry is their own: left alone; the server listens on port $port ('workstation user status $user')"
  elif [[ "$verdict" != "entry null" && "$verdict" != absent ]]; then
    log "notice: $user's ~/.claude.json was not read ($verdict): its playwright MCP entry is left alone"
  fi
  unlock "claude-$user"
}

# repoint_playwright_entry USER HOME OLD NEW: as the person, with a backup; only while the entry is still OLD.
repoint_playwright_entry() {
  local user="$1" home="$2" old="$3" new="$4" out result url
  out="$(printf '%s' "$new" | WS_TIMEOUT="$WS_CLAUDE_JSON_TIMEOUT" as_user_data "$user" "$home" "$WS_AS_USER" \
    repoint-mcp "$home/.claude.json" playwright "$old" "$WS_CLAUDE_JSON_MAX_BYTES")" || out=failed
  # The verdict is the last line; before it, the backup's own "changed" line.
  result="${out##*$'\n'}"
  [[ "$out" != *$'\n'* ]] || printf '%s\n' "${out%$'\n'*}"
  case "$result" in
    repointed)
      record_playwright_entry "$user" "$new"
      url="${new#*\"url\":\"}"
      changed "$home/.claude.json: playwright MCP entry repointed to ${url%%\"*}"
      ;;
    *) log "notice: $user's playwright MCP entry was not repointed ($result): left alone" ;;
  esac
}

# playwright_entry_status_json USER HOME: the person's entry for `user status`: state
# (missing, ours, hand-made or unreadable), port (its loopback port, if any) and
# server_port (the port file's: where the server listens).
playwright_entry_status_json() {
  local verdict state record entry=null
  verdict="$(read_playwright_entry "$1" "$2")"
  record="$(recorded_playwright_entry "$1")"
  case "$verdict" in
    absent | "entry null") state=missing ;;
    "entry {"*)
      entry="${verdict#entry }"
      if [[ -n "$record" && "$verdict" == "entry $record" ]]; then state=ours; else state=hand-made; fi
      ;;
    *) state=unreadable ;;
  esac
  # The port of a URL on this machine's loopback; the person's other strings never leave jq.
  jq -n -c --arg state "$state" --argjson e "$entry" --arg server "$(port_in "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")" "$WS_PLAYWRIGHT_PORT_KEY" || true)" '{state: $state,
    server_port: (if $server == "" then null else ($server | tonumber) end),
    port: ($e | if type == "object" and (.url | type) == "string" then
      (.url | capture("^http://(127\\.0\\.0\\.1|localhost):(?<p>[0-9]{1,5})/mcp$").p | tonumber) // null else null end)}'
}
