# shellcheck shell=bash
# base.sh — `base apply [--swap-size SIZE]`: the machine-wide base every user
# inherits. Only adds what is missing or different:
#   - Debian packages from packages.txt (apt-get install of the missing ones);
#   - pinned npm globals from npm-packages.txt (installed when missing or at
#     another version; never @latest);
#   - a swap file (/swapfile) when --swap-size is given and no swap is active;
#   - the managed Claude settings (/etc/claude-code/managed-settings.json);
#   - /etc/skel: .zshrc (sources ~/.zshrc.d/*.sh) and start-claude.sh.
# Sourced by bin/workstation.

readonly WS_BASE="$WS_ROOT/base"

list_entries() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"; }

cmd_base_apply() {
  local swap_size=""
  while (($#)); do
    case "$1" in
      --swap-size)
        need_value "$@"
        [[ "$2" =~ ^[1-9][0-9]{0,3}[MG]$ ]] || die_usage "--swap-size $(describe "$2"): like 8G or 512M"
        swap_size="$2"
        shift 2
        ;;
      *) die_usage "unknown argument $(describe "$1")" ;;
    esac
  done
  require_root
  lock base

  step "apt packages"
  local -a missing=()
  local pkg
  while IFS= read -r pkg; do
    [[ "$(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
  done < <(list_entries "$WS_ROOT/packages.txt")
  if ((${#missing[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    changed "apt packages installed: ${missing[*]}"
  fi

  step "npm globals"
  local spec name version have
  local npm_json
  npm_json="$(npm ls -g --depth=0 --json 2>/dev/null || true)"
  [[ -n "$npm_json" ]] || npm_json='{}'
  while IFS= read -r spec; do
    name="${spec%@*}"
    version="${spec##*@}"
    [[ -n "$name" && "$name" != "$spec" && "$version" =~ ^[0-9][0-9A-Za-z.+-]*$ ]] ||
      die "npm-packages.txt: $spec is not pinned as NAME@VERSION"
    have="$(jq -r --arg n "$name" '.dependencies[$n].version // ""' <<<"$npm_json")"
    if [[ "$have" != "$version" ]]; then
      npm install -g --no-fund --no-audit --loglevel=error "$name@$version" >/dev/null
      changed "npm global $name@$version (was ${have:-absent})"
    fi
  done < <(list_entries "$WS_ROOT/npm-packages.txt")

  step "swap"
  if [[ -n "$swap_size" ]] && [[ -z "$(swapon --noheadings --show=NAME 2>/dev/null)" ]]; then
    if [[ ! -e /swapfile ]]; then
      fallocate -l "$swap_size" /swapfile.ws-tmp
      chmod 600 /swapfile.ws-tmp
      mkswap /swapfile.ws-tmp >/dev/null
      mv -T /swapfile.ws-tmp /swapfile
      changed "/swapfile ($swap_size)"
    fi
    swapon /swapfile
    changed "swapon /swapfile"
    if ! grep -qE '^/swapfile[[:space:]]' /etc/fstab; then
      write_if_changed /etc/fstab 0644 root:root "$(cat /etc/fstab)"$'\n'"/swapfile none swap sw 0 0"$'\n'
    fi
  fi

  step "managed Claude settings"
  ensure_dir /etc/claude-code 0755
  write_if_changed /etc/claude-code/managed-settings.json 0644 root:root "$(cat "$WS_BASE/managed-settings.json")"$'\n'

  step "/etc/skel"
  write_if_changed /etc/skel/.zshrc 0644 root:root "$(cat "$WS_BASE/skel/zshrc")"$'\n'
  write_if_changed /etc/skel/start-claude.sh 0755 root:root "$(cat "$WS_BASE/skel/start-claude.sh")"$'\n'
  log "base apply: done"
}
