# shellcheck shell=bash
# user.sh — `user apply | resume | suspend` (docs/host.md). Sourced by
# bin/workstation after common.sh and validate.sh.
#
# Every step first checks whether there is anything to do, so a re-run with
# nothing to do changes nothing, and a re-run after an interruption picks up
# where the last one stopped.

readonly WS_SUSPENDED_DIR="$WS_ETC/suspended"
readonly WS_PENDING_DIR="$WS_ETC/pending"
readonly WS_AS_USER="$WS_ROOT/lib/as-user.sh"

user_units() { # USER
  printf '%s\n' "playwright-mcp@$1.service" "playwright-snapshot-refresh@$1.timer" "t3-serve@$1.service"
}

# passwd -S status: L (locked), P (usable password), NP (no password).
lock_status() { passwd -S -- "$1" | awk '{print $2}'; }
# Field 8 of /etc/shadow: account expiry in days since the epoch, or empty.
expiry_days() { getent shadow "$1" | cut -d: -f8; }

# --- user apply / resume -------------------------------------------------------

user_apply_usage() {
  die_usage "usage: workstation user $1 USER --tier TIER --t3-port N --playwright-port N [--uid N] [--groups g1,g2] [--adopt] [--token-stdin]"
}

cmd_user_apply() { # VERB ARGS...
  local verb="$1"
  shift
  local user="" tier="" t3_port="" pw_port="" uid="" groups_arg="" adopt=0 token_stdin=0
  local have_groups=0
  while (($#)); do
    case "$1" in
      --tier) need_value "$@"; tier="$2"; shift 2 ;;
      --t3-port) need_value "$@"; t3_port="$2"; shift 2 ;;
      --playwright-port) need_value "$@"; pw_port="$2"; shift 2 ;;
      --uid) need_value "$@"; uid="$2"; shift 2 ;;
      --groups) need_value "$@"; groups_arg="$2"; have_groups=1; shift 2 ;;
      --adopt) adopt=1; shift ;;
      --token-stdin) token_stdin=1; shift ;;
      --) shift; break ;;
      -*) die_usage "unknown option $(describe "$1")" ;;
      *)
        [[ -z "$user" ]] || die_usage "unexpected argument $(describe "$1") (USER is already $(describe "$user"))"
        user="$1"
        shift
        ;;
    esac
  done
  (($# == 0)) || die_usage "unexpected argument $(describe "$1")"
  [[ -n "$user" ]] || user_apply_usage "$verb"
  valid_os_user "$user" "USER"
  [[ -n "$tier" ]] || die_usage "--tier is required"
  valid_tier "$tier"
  [[ -n "$t3_port" ]] || die_usage "--t3-port is required"
  valid_port "$t3_port" "--t3-port"
  [[ -n "$pw_port" ]] || die_usage "--playwright-port is required"
  valid_port "$pw_port" "--playwright-port"
  [[ "$t3_port" != "$pw_port" ]] || die_usage "--t3-port and --playwright-port must differ (both $t3_port)"
  [[ -z "$uid" ]] || valid_uid "$uid"
  local -a groups=()
  if ((have_groups)) && [[ -n "$groups_arg" ]]; then
    local g
    IFS=, read -r -a groups <<<"$groups_arg"
    [[ "$groups_arg" != *, ]] || die_usage "--groups $(describe "$groups_arg"): empty group name"
    for g in "${groups[@]}"; do
      valid_group "$g" "--groups"
    done
  fi
  not_system_account "$user" "USER"

  # The token (a secret) is read from stdin only; it is never printed.
  local token=""
  if ((token_stdin)); then
    token="$(cat)"
    token="${token%$'\n'}"
    token="${token%$'\r'}"
    [[ -n "$token" ]] || die_usage "--token-stdin: no token on stdin"
    [[ "$token" != *[[:space:][:cntrl:]]* ]] || die_usage "--token-stdin: the token on stdin must be one line without spaces"
  fi

  require_root
  load_site || die "$WS_SITE_ENV is missing: run 'workstation site apply' first"

  lock "user-$user"

  # --- guards: decide everything that can refuse before touching anything ----
  local entry="" exists=0 home cur_uid
  if entry="$(getent passwd "$user")"; then
    exists=1
    cur_uid="$(cut -d: -f3 <<<"$entry")"
    home="$(cut -d: -f6 <<<"$entry")"
    if ! has_marker "$user" && ((!adopt)); then
      die_refused "account $user exists but is not managed (no '$WS_MARKER_GROUP' group); pass --adopt to take it over"
    fi
    if [[ -n "$uid" && "$cur_uid" != "$uid" ]]; then
      die_refused "account $user has uid $cur_uid, the roster pins $uid"
    fi
    if [[ -e "$WS_PENDING_DIR/$user" && ! -e "$home" ]]; then
      : # our own creation was interrupted inside useradd; finished below
    elif [[ "$home" != /* || ! -d "$home" ]]; then
      die_refused "account $user has no home directory ($home)"
    fi
  else
    home="/home/$user"
    if [[ -n "$uid" ]] && getent passwd "$uid" >/dev/null; then
      die_refused "uid $uid is already used by $(getent passwd "$uid" | cut -d: -f1)"
    fi
    if getent group "$user" >/dev/null; then
      die_refused "a group named $user already exists; useradd would not create the account's own group"
    fi
    if [[ -e "$home" || -L "$home" ]]; then
      die_refused "$home already exists but there is no account $user"
    fi
  fi

  # --- account and groups (serialised: useradd/groupadd lock /etc/passwd) ----
  lock accounts
  step "marker group"
  if ! getent group "$WS_MARKER_GROUP" >/dev/null; then
    groupadd -r "$WS_MARKER_GROUP"
    changed "group $WS_MARKER_GROUP"
  fi
  step "account"
  if ((!exists)); then
    ensure_dir "$WS_PENDING_DIR" 0700
    : >"$WS_PENDING_DIR/$user"
    local -a uid_opt=()
    [[ -z "$uid" ]] || uid_opt=(-u "$uid")
    useradd -m -s /bin/zsh -U -G "$WS_MARKER_GROUP" -K HOME_MODE=0700 "${uid_opt[@]}" -- "$user"
    changed "account $user"
  fi
  # A creation that was interrupted finishes here; an existing account never
  # gets here (no pending marker), so it is never locked or chmod-ed.
  if [[ -e "$WS_PENDING_DIR/$user" ]]; then
    if [[ ! -d "$home" ]]; then
      mkdir -m 0700 -- "$home"
      cp -a /etc/skel/. "$home/"
      chown -R -- "$user:" "$home"
      changed "$home (from /etc/skel)"
    fi
    passwd -l -- "$user" >/dev/null
    chmod 0700 -- "$home"
    rm -f -- "$WS_PENDING_DIR/$user"
  fi
  if ! has_marker "$user"; then # --adopt
    gpasswd -a "$user" "$WS_MARKER_GROUP" >/dev/null
    changed "adopted $user (group $WS_MARKER_GROUP)"
  fi
  step "tier groups"
  local g
  for g in "${groups[@]}"; do
    if ! getent group "$g" >/dev/null; then
      groupadd -r -- "$g"
      changed "group $g"
    fi
    if ! in_group "$user" "$g"; then
      gpasswd -a "$user" "$g" >/dev/null
      changed "$user added to group $g"
    fi
  done
  step "resume"
  local suspended=0
  if [[ -f "$WS_SUSPENDED_DIR/$user" ]]; then
    suspended=1
    restore_account "$user"
  fi
  unlock accounts

  # --- files root owns ---------------------------------------------------------
  step "env files"
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$WS_ETC/playwright-$user.env" 0644 root:root "PLAYWRIGHT_PORT=$pw_port"$'\n'
  write_if_changed "$WS_ETC/t3-$user.env" 0644 root:root "T3_PORT=$t3_port"$'\n'

  # --- the home, written as the user -------------------------------------------
  home_files "$user" "$home" "$token_stdin" "$token"
  step "code clone"
  clone_code "$user" "$home"
  step "claude mcp"
  wire_playwright_mcp "$user" "$home" "$pw_port"

  # --- services --------------------------------------------------------------------
  step "units"
  local unit
  while IFS= read -r unit; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null && systemctl is-active --quiet "$unit"; then
      continue
    fi
    systemctl enable --now --quiet "$unit"
    changed "enabled and started $unit"
  done < <(user_units "$user")

  if ((suspended)); then
    rm -f -- "$WS_SUSPENDED_DIR/$user"
    changed "$user resumed"
  fi
  log "user $verb $user: done"
}

in_group() { # USER GROUP
  local g
  for g in $(id -nG -- "$1"); do
    [[ "$g" == "$2" ]] && return 0
  done
  return 1
}

# Undo what suspend did, as recorded in $WS_SUSPENDED_DIR/USER.
restore_account() {
  local user="$1" file="$WS_SUSPENDED_DIR/$1" line prior_lock="" prior_expire=""
  while IFS= read -r line; do
    case "$line" in
      LOCK=*) prior_lock="${line#LOCK=}" ;;
      EXPIRE=*) prior_expire="${line#EXPIRE=}" ;;
    esac
  done <"$file"
  if [[ "$(expiry_days "$user")" != "$prior_expire" ]]; then
    if [[ -z "$prior_expire" ]]; then
      usermod -e '' -- "$user"
    else
      [[ "$prior_expire" =~ ^[0-9]+$ ]] || die "$file: bad EXPIRE"
      usermod -e "$(date -u -d "@$((prior_expire * 86400))" +%F)" -- "$user"
    fi
    changed "$user: account expiry restored"
  fi
  if [[ "$prior_lock" == P && "$(lock_status "$user")" == L ]]; then
    usermod -U -- "$user"
    changed "$user: password unlocked (it was usable before the suspension)"
  fi
}

# ~/.zshrc.d/vault.sh, ~/.kube/config, the snapshot token.
home_files() { # USER HOME TOKEN_STDIN TOKEN
  local user="$1" home="$2" token_stdin="$3" token="$4"
  step "vault.sh"
  local vault
  vault="$(site_get VAULT_ADDR)"
  if [[ -n "$vault" ]]; then
    as_user "$user" "$home" "$WS_AS_USER" mkdir "$home/.zshrc.d" 0755
    printf '%s\n' "# Managed by workstation (user apply): the Vault address only, never a token." \
      "# Log in with your own identity: vault login -method=oidc" \
      "export VAULT_ADDR='$vault'" |
      as_user "$user" "$home" "$WS_AS_USER" write-if-changed "$home/.zshrc.d/vault.sh" 644
  fi

  step "kubeconfig"
  local kube="$home/.kube/config"
  if as_user "$user" "$home" test -e "$kube" || as_user "$user" "$home" test -L "$kube"; then
    # Someone else's config (not the one we wrote): back it up, leave it.
    kubeconfig | as_user "$user" "$home" "$WS_AS_USER" backup-once "$kube"
  else
    as_user "$user" "$home" "$WS_AS_USER" mkdir "$home/.kube" 0700
    kubeconfig | as_user "$user" "$home" "$WS_AS_USER" create-if-absent "$kube" 600
  fi

  if ((token_stdin)); then
    step "snapshot token"
    as_user "$user" "$home" "$WS_AS_USER" mkdir "$home/.config/workstation" 0700
    printf '%s\n' "$token" |
      as_user "$user" "$home" "$WS_AS_USER" create-if-absent "$home/.config/workstation/snapshot-token" 600
  fi
}

# The OIDC exec kubeconfig (kubelogin), from site.env.
kubeconfig() {
  local name server issuer client
  name="$(site_get CLUSTER_NAME)"
  server="$(site_get CLUSTER_SERVER)"
  issuer="$(site_get OIDC_ISSUER)"
  client="$(site_get OIDC_CLIENT_ID)"
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
      user: oidc
current-context: "$name"
users:
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
        interactiveMode: IfAvailable
EOF
}

# ~/code: cloned only when nothing at all is at the path. The clone happens in
# a temp dir inside the home and is renamed into place, so an interrupted
# clone never leaves a half ~/code (the leftover is removed on the next run).
clone_code() { # USER HOME
  local user="$1" home="$2" repo code tmp
  code="$home/code"
  as_user "$user" "$home" "$WS_AS_USER" rm-glob "$home" ".code.clone-"
  if as_user "$user" "$home" test -e "$code" || as_user "$user" "$home" test -L "$code"; then
    return 0
  fi
  repo="$(site_get REPO_URL)"
  if [[ -z "$repo" ]]; then
    log "notice: REPO_URL is empty in $WS_SITE_ENV; ~/code not cloned for $user"
    return 0
  fi
  # A local REPO_URL owned by another account must be in the system
  # gitconfig's safe.directory (git's ownership check; -c does not reach the
  # local upload-pack).
  tmp="$(as_user "$user" "$home" mktemp -d "$home/.code.clone-XXXXXX")"
  # -c sets the config in the new repository before anything is checked out:
  # without the git-crypt key, secrets stay ciphertext, the rest is plaintext.
  as_user "$user" "$home" git clone --quiet \
    -c filter.git-crypt.smudge=cat -c filter.git-crypt.clean=cat \
    -c filter.git-crypt.required=false -c push.default=current \
    -- "$repo" "$tmp/code"
  as_user "$user" "$home" mv -n -T -- "$tmp/code" "$code"
  as_user "$user" "$home" rmdir -- "$tmp" 2>/dev/null || true
  as_user "$user" "$home" test -d "$code" || die "could not move the clone into $code"
  changed "$code (cloned $repo)"
}

# The playwright entry in ~/.claude.json, added by the real CLI as the user,
# only when there is none. A first check reads the file with jq (no side
# effects); only when that finds nothing does the CLI run.
wire_playwright_mcp() { # USER HOME PORT
  local user="$1" home="$2" port="$3" url
  url="http://127.0.0.1:$port/mcp"
  # shellcheck disable=SC2016 # $h is jq's variable
  if as_user "$user" "$home" jq -e --arg h "$home" \
    '(.mcpServers.playwright // .projects[$h].mcpServers.playwright) != null' \
    "$home/.claude.json" >/dev/null 2>&1; then
    return 0
  fi
  command -v claude >/dev/null || die "the claude CLI is not installed (workstation base apply installs it)"
  lock "claude-$user"
  # Backed up before the CLI runs at all (even `mcp get` migrates an old file),
  # and only when it exists (the CLI creates it otherwise).
  if as_user "$user" "$home" test -e "$home/.claude.json"; then
    as_user "$user" "$home" "$WS_AS_USER" backup-once "$home/.claude.json" </dev/null
  fi
  local -a claude=(env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
    DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 timeout 120 claude)
  if as_user "$user" "$home" "${claude[@]}" mcp get playwright >/dev/null 2>&1; then
    log "$user already has a playwright MCP server (claude mcp get); left alone"
    unlock "claude-$user"
    return 0
  fi
  as_user "$user" "$home" "${claude[@]}" mcp add --scope user --transport http playwright "$url" >/dev/null
  changed "$home/.claude.json: playwright MCP server $url (claude mcp add)"
  unlock "claude-$user"
}

# --- user suspend ------------------------------------------------------------------

cmd_user_suspend() {
  local user=""
  while (($#)); do
    case "$1" in
      -*) die_usage "unknown option $(describe "$1")" ;;
      *)
        [[ -z "$user" ]] || die_usage "unexpected argument $(describe "$1")"
        user="$1"
        shift
        ;;
    esac
  done
  [[ -n "$user" ]] || die_usage "usage: workstation user suspend USER"
  valid_os_user "$user" "USER"
  require_root
  lock "user-$user"
  if ! getent passwd "$user" >/dev/null; then
    log "notice: no account $user; nothing to suspend"
    return 0
  fi
  has_marker "$user" || die_refused "account $user is not managed (no '$WS_MARKER_GROUP' group)"

  step "record"
  if [[ ! -f "$WS_SUSPENDED_DIR/$user" ]]; then
    ensure_dir "$WS_ETC" 0755
    ensure_dir "$WS_SUSPENDED_DIR" 0700
    write_if_changed "$WS_SUSPENDED_DIR/$user" 0600 root:root \
      "LOCK=$(lock_status "$user")"$'\n'"EXPIRE=$(expiry_days "$user")"$'\n'
  fi
  step "units"
  local unit
  while IFS= read -r unit; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit"; then
      systemctl disable --now --quiet "$unit"
      changed "disabled and stopped $unit"
    fi
  done < <(user_units "$user")
  step "lock"
  lock accounts
  if [[ "$(lock_status "$user")" != L ]]; then
    passwd -l -- "$user" >/dev/null
    changed "$user: password locked"
  fi
  if [[ "$(expiry_days "$user")" != 1 ]]; then
    usermod --expiredate 1 -- "$user"
    changed "$user: account expired"
  fi
  unlock accounts
  # Only now that no new login is possible: end what is still running as the
  # user (SSH sessions, tmux, background jobs, a lingering user manager).
  # Otherwise a live shell outlives the cut, with every group it had.
  step "processes"
  end_processes "$user"
  log "user suspend $user: done"
}

# end_processes USER: SIGKILL every process of USER's uid. kill(-1) sent as
# the user reaches exactly the processes the user could signal (its own) in
# one atomic sweep, so a forking job cannot outrun it. setpriv, not runuser:
# no PAM, so it works on the expired account. Never for a uid below 1000.
end_processes() {
  local user="$1" uid gid
  uid="$(id -u -- "$user")"
  gid="$(id -g -- "$user")"
  if ((uid < 1000)); then
    warn "$user has uid $uid (< 1000): its processes are left alone"
    return 0
  fi
  pgrep -U "$uid" >/dev/null || return 0
  setpriv --reuid "$uid" --regid "$gid" --clear-groups -- kill -KILL -1 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    pgrep -U "$uid" >/dev/null || break
    sleep 0.1
  done
  if pgrep -U "$uid" >/dev/null; then
    warn "processes of $user still listed after SIGKILL (exiting or zombies): $(pgrep -U "$uid" | paste -sd' ')"
  fi
  changed "$user: ended every process still running as $user"
}
