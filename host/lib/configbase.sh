# shellcheck shell=bash
# configbase.sh — the config base: a secret-free git repository of shared Claude
# material (skills, agents, rules, and managed/: the org guidance CLAUDE.md and the
# enforced permissions and hooks of settings.json, which base.sh folds into the
# managed settings), checked out for everyone at one root-owned
# path. A checkout is scanned before it is installed: a known secret shape, a
# credentials file, a dangling symlink or one leaving the checkout refuses it,
# naming file and line (never the secret), and the installed one stays. Each
# managed person gets ~/.claude/{skills,agents,rules} linked to it, only where
# they have nothing of that name (Plan-B of the seed's Task 1.1).
# Sourced by bin/workstation; base apply runs it.

readonly WS_CONFIG_BASE_ROOT=/usr/local/share/workstation
readonly WS_CONFIG_BASE="$WS_CONFIG_BASE_ROOT/config-base"
readonly WS_CONFIG_BASE_LINKS=(skills agents rules)

valid_config_base_ref() {
  [[ "$1" =~ $WS_RE_CONFIG_BASE_REF && "$1" != *..* && "$1" != *.lock && "$1" != */ ]] ||
    die_usage "--config-base-ref $(describe "$1"): a branch, tag or commit (letters, digits, . _ / -)"
}

# scan_config_base DIR: every problem as "PATH[:LINE]: what", nothing for a clean tree
# (grep finding nothing is the clean case, not a failure).
scan_config_base() {
  local dir="$1" line regex what f target
  # Files that are credentials by name.
  find "$dir" -path "$dir/.git" -prune -o \( -name .credentials.json -o -name .claude.json \) -print |
    while IFS= read -r f; do printf '%s: a credentials file\n' "${f#"$dir"/}"; done
  # Symlinks must land on something inside the checkout.
  find "$dir" -path "$dir/.git" -prune -o -type l -print | while IFS= read -r f; do
    target="$(readlink -f -- "$f" || true)"
    if [[ -z "$target" || ! -e "$target" ]]; then
      printf '%s: a dangling symlink (-> %s)\n' "${f#"$dir"/}" "$(readlink -- "$f")"
    elif [[ "$target" != "$dir" && "$target" != "$dir"/* ]]; then
      printf '%s: a symlink leaving the config base (-> %s)\n' "${f#"$dir"/}" "$(readlink -- "$f")"
    fi
  done
  # The managed layer (base.sh, managed_settings_content): plain files; settings only
  # "permissions" and "hooks", so the config base can never lift DISABLE_AUTOUPDATER or set env.
  for f in managed/CLAUDE.md managed/settings.json; do
    [[ ! -e "$dir/$f" || (-f "$dir/$f" && ! -L "$dir/$f") ]] || printf '%s: not a plain file\n' "$f"
  done
  if [[ -f "$dir/managed/settings.json" && ! -L "$dir/managed/settings.json" ]]; then
    if ! jq -e 'type == "object"' "$dir/managed/settings.json" >/dev/null 2>&1; then
      printf 'managed/settings.json: not a JSON object\n'
    else
      jq -r 'keys[] | select(. != "permissions" and . != "hooks") | "managed/settings.json: key \(@json) is not allowed (only permissions and hooks)"' \
        "$dir/managed/settings.json"
    fi
  fi
  # Secret shapes, in every text file (binary files are skipped by grep -I).
  while IFS=$'\t' read -r regex what; do
    { grep -rnoIE --exclude-dir=.git -e "$regex" -- "$dir" 2>/dev/null || true; } | cut -d: -f1,2 | sort -u |
      while IFS= read -r line; do printf '%s: %s\n' "${line#"$dir"/}" "$what"; done
  done <<<"$WS_SECRET_SHAPES"
}

# ensure_config_base URL REF: the checkout of URL at REF is what WS_CONFIG_BASE
# points to, or the run is refused with everything the scan found.
ensure_config_base() {
  local url="$1" ref="$2" stage commit current="" problems
  ensure_dir "$WS_CONFIG_BASE_ROOT" 0755
  # Leftovers of an interrupted run.
  find "$WS_CONFIG_BASE_ROOT" -maxdepth 1 -name '.config-base.new.*' -exec rm -rf -- {} + 2>/dev/null || true
  stage="$(mktemp -d "$WS_CONFIG_BASE_ROOT/.config-base.new.XXXXXX")"
  # No config of anyone's, no hook, no template, no prompt: only the repository's bytes.
  if ! GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 \
    timeout 300 git -c core.hooksPath=/dev/null -c protocol.file.allow=always \
    clone --quiet --no-checkout --template= -- "$url" "$stage/tree" 2>"$stage/err"; then
    die "config base: could not clone $url: $(tail -n 1 "$stage/err")"
  fi
  local g=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -c core.hooksPath=/dev/null -C "$stage/tree")
  if [[ "$ref" =~ $WS_RE_COMMIT_HASH ]]; then
    # A commit pinned by hash is that commit, never a branch someone named after it.
    commit="$("${g[@]}" rev-parse --verify --quiet "$ref^{commit}" || true)"
    [[ "$commit" == "$ref" ]] || commit=""
  else
    commit="$("${g[@]}" rev-parse --verify --quiet "origin/$ref^{commit}" || "${g[@]}" rev-parse --verify --quiet "$ref^{commit}" || true)"
  fi
  if [[ -z "$commit" ]]; then
    rm -rf -- "$stage"
    die "config base: $url has no branch, tag or commit $ref"
  fi
  [[ ! -L "$WS_CONFIG_BASE" ]] || current="$(readlink -- "$WS_CONFIG_BASE")"
  if [[ "$current" == "config-base-$commit" && -d "$WS_CONFIG_BASE_ROOT/$current" ]]; then
    rm -rf -- "$stage"
    return 0
  fi
  "${g[@]}" -c advice.detachedHead=false checkout --quiet --detach "$commit"
  rm -rf -- "$stage/tree/.git"
  problems="$(scan_config_base "$stage/tree")"
  if [[ -n "$problems" ]]; then
    rm -rf -- "$stage"
    die_refused "config base $url at $ref ($commit) refused, nothing installed (${current:-none installed} stays):"$'\n'"$problems"
  fi
  # Root's, readable by everyone, writable by no one else; then switched in one rename.
  chown -R -h root:root -- "$stage/tree"
  chmod -R u+rwX,go+rX,go-w -- "$stage/tree"
  rm -rf -- "${WS_CONFIG_BASE_ROOT:?}/config-base-$commit" # a half-switched earlier run's
  mv -T -- "$stage/tree" "$WS_CONFIG_BASE_ROOT/config-base-$commit"
  rm -rf -- "$stage"
  rm -f -- "$WS_CONFIG_BASE_ROOT/.config-base.link" # an interrupted switch's
  ln -s -- "config-base-$commit" "$WS_CONFIG_BASE_ROOT/.config-base.link"
  mv -f -T -- "$WS_CONFIG_BASE_ROOT/.config-base.link" "$WS_CONFIG_BASE"
  changed "config base $url at $ref ($commit) in $WS_CONFIG_BASE"
  # Older checkouts: nobody's link points at them any more.
  find "$WS_CONFIG_BASE_ROOT" -mindepth 1 -maxdepth 1 -type d -name 'config-base-*' ! -name "config-base-$commit" -exec rm -rf -- {} +
}

# ensure_claude_links USER HOME: ~/.claude/NAME -> the config base's NAME, for
# each NAME it has, only where the person has nothing of that name (never
# replaced: a person's own directory or link stays). Made as the person, so a
# ~/.claude they pointed elsewhere gets nothing; that is a warning, never a
# failure of the step (nor, in the base step, of anyone else's links).
ensure_claude_links() {
  local user="$1" home="$2" name kind out
  for name in "${WS_CONFIG_BASE_LINKS[@]}"; do
    [[ -d "$WS_CONFIG_BASE/$name" ]] || continue
    if ! kind="$(as_user "$user" "$home" "$WS_AS_USER" kind "$home/.claude/$name" 2>/dev/null)"; then
      warn "$user: $home/.claude/$name can't be looked at as $user: no $name link"
      continue
    fi
    [[ "$kind" == absent ]] || continue
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    if ! out="$(as_user "$user" "$home" sh -c 'if [ -L "$1" ]; then echo kept; else mkdir -p -m 700 "$(dirname "$1")" && ln -s -T "$2" "$1" && echo linked; fi' sh \
      "$home/.claude/$name" "$WS_CONFIG_BASE/$name" 2>/dev/null)"; then
      warn "$user: could not link $home/.claude/$name as $user; left as it is"
      continue
    fi
    [[ "$out" != linked ]] || changed "$home/.claude/$name -> $WS_CONFIG_BASE/$name"
  done
}

# ensure_everyones_claude_links: every managed, active person (the base runs
# before and apart from their steps, and the config base can gain a folder).
ensure_everyones_claude_links() {
  local user home
  [[ -e "$WS_CONFIG_BASE" ]] || return 0
  for user in $(getent group "$WS_MARKER_GROUP" | cut -d: -f4 | tr ',' ' '); do
    if [[ ! "$user" =~ $WS_RE_OS_USER ]] || is_suspended "$user"; then continue; fi
    home="$(getent passwd "$user" | cut -d: -f6)"
    [[ "$home" == /* && -d "$home" ]] || continue
    lock "user-$user"
    ensure_claude_links "$user" "$home"
    unlock "user-$user"
  done
}
