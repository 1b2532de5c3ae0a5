# shellcheck shell=bash
# base.sh — `base apply --inputs-sha256 HEX [OPTIONS]` (bin/workstation's usage lists them): the machine-wide
# base every user inherits. HEX is the program's hash of the base inputs it
# packaged (WS_BASE_INPUTS): a host whose installed copy differs refuses, so the
# base never runs from a stale or half-finished install. Only adds what is
# missing or different:
#   - Debian packages from packages.txt (apt-get install of the missing ones);
#   - pinned npm globals from npm-packages.txt, and t3's (--t3-package NAME@X.Y.Z,
#     the stack's t3Package) (installed when missing or at
#     another version; never @latest); with --claude-code if-missing, a Claude
#     Code already installed is kept at whatever version it is;
#   - the tools Debian lacks, from tools.txt, each checked against its pinned
#     sha256 before any is installed (tools.sh);
#   - the swap file of --swap-size, resized without a moment at zero swap, and
#     vm.swappiness (swap.sh);
#   - kernel.yama.ptrace_scope 1: a person's process may attach to (or copy a
#     descriptor of) its own descendants only (ensure_ptrace_scope below);
#   - the config base (--config-base, a secret-free git repository) checked out
#     to one root-owned path after a scan, and everyone's ~/.claude links to
#     its skills, agents and rules where they have none (configbase.sh);
#   - the managed Claude settings (/etc/claude-code/managed-settings.json):
#     base/managed-settings.json, plus the config base's managed/CLAUDE.md as
#     claudeMd and the permissions of its managed/settings.json, and its hooks
#     only from a config base pinned by commit or with --config-base-hooks;
#   - the shell layer: /etc/profile.d/00-workstation.sh, /etc/zsh/zshrc.d/;
#   - /etc/skel: .zshrc (sources /etc/zsh/zshrc.d/*.zsh and ~/.zshrc.d/*.sh),
#     .tmux.conf (each window starts ~/start-claude.sh) and the launcher
#     start-claude.sh, unless --no-launcher (another deployer owns it).
#   - Debian's prometheus-node-exporter, serving the pressure sample's textfile folder on
#     --node-exporter's address only (loopback, 127.0.0.1:9100, unless the stack says
#     another; off: the base leaves node_exporter alone): a drop-in of ours, written
#     before the package is installed, so it never listens anywhere else;
#   - cron and at jobs in the person's login-session slice (user-UID.slice, under their
#     budget): a `session optional pam_systemd.so` line added to /etc/pam.d/cron and
#     /etc/pam.d/atd where they lack one (ensure_pam_systemd).
# A shared file Workstation did not write is refused with its diff, unless the
# run takes it over (--take-over PATH, the stack's takeOver): then it is backed
# up, its diff shown, and replaced.
# Sourced by bin/workstation.

readonly WS_BASE="$WS_ROOT/base"
readonly WS_CLAUDE_CODE_PACKAGE=@anthropic-ai/claude-code
# The launcher (WS_LAUNCHER) and the shared files the base writes (WS_BASE_SHARED,
# "PATH NAME MODE"; adopt plan lists them too) come from rules.sh (Roster/SharedFiles.cs).

# base_shared_content NAME: what the base writes for base/NAME (managed-settings.json
# gains the installed config base's managed layer; every other file is as it is).
base_shared_content() {
  case "$1" in
    managed-settings.json) managed_settings_content ;;
    node-exporter.conf) node_exporter_content ;;
    *) cat -- "$WS_BASE/$1" ;;
  esac
}

# The config base's hooks run in every person's Claude session, as that person: whoever
# can push to its branch would run code as everyone. So they are merged only from a
# config base the stack pins by commit (--config-base-ref is a full 40-hex hash and the
# installed checkout is that commit), or when the stack allows them explicitly
# (--config-base-hooks, the stack's configBaseHooks). Set by base apply.
WS_CONFIG_BASE_REF_ARG=""
WS_CONFIG_BASE_HOOKS_ALLOWED=0

# config_base_hooks_ok: the installed config base's hooks may be merged.
config_base_hooks_ok() {
  ((WS_CONFIG_BASE_HOOKS_ALLOWED)) && return 0
  [[ "$WS_CONFIG_BASE_REF_ARG" =~ $WS_RE_COMMIT_HASH ]] &&
    [[ "$(readlink -- "$WS_CONFIG_BASE" 2>/dev/null)" == "config-base-$WS_CONFIG_BASE_REF_ARG" ]]
}

# The address node_exporter listens on (--node-exporter; loopback unless the stack says otherwise).
WS_NODE_EXPORTER_LISTEN="$WS_NODE_EXPORTER_LOOPBACK"

# node_exporter_content: base/node-exporter.conf with the listen address and the pressure
# sample's textfile folder (pressure.sh) filled in.
node_exporter_content() {
  local text
  text="$(cat -- "$WS_BASE/node-exporter.conf")"
  text="${text//@LISTEN@/$WS_NODE_EXPORTER_LISTEN}"
  printf '%s' "${text//@TEXTFILE_DIR@/$WS_TEXTFILE_DIR_DEFAULT}"
}

# node_exporter_command: the command line node_exporter runs with under our drop-in, as
# /proc/PID/cmdline reads with its NULs made spaces.
node_exporter_command() {
  sed -n 's/^ExecStart=\(..*\)$/\1 /p' <<<"$(node_exporter_content)"
}

# ensure_node_exporter: Debian's node_exporter enabled and running the drop-in's command line
# (systemd reloaded when the drop-in is newer than what it loaded; restarted when the running
# process was started with another command line, such as Debian's own on every address).
ensure_node_exporter() {
  local unit=prometheus-node-exporter.service pid have=""
  if [[ "$(systemctl show -p NeedDaemonReload --value -- "$unit")" == yes ]]; then
    systemctl daemon-reload
  fi
  if [[ "$(systemctl is-enabled -- "$unit" 2>/dev/null || true)" != enabled ]]; then
    systemctl enable --quiet -- "$unit"
    changed "enabled $unit"
  fi
  pid="$(systemctl show -p MainPID --value -- "$unit")"
  [[ "$pid" == 0 ]] || have="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if [[ "$have" != "$(node_exporter_command)" ]]; then
    systemctl restart -- "$unit"
    changed "restarted $unit: listening on $WS_NODE_EXPORTER_LISTEN only, textfile folder $WS_TEXTFILE_DIR_DEFAULT"
  fi
}

# ensure_pam_systemd FILE: FILE (a PAM service's configuration, a package's conffile) opens a
# systemd login session, so what the service runs as a person (a cron or at job) lands in
# their user-UID.slice, under their budget. A line is added when FILE has no session line
# for pam_systemd; the rest of FILE is kept as it is, so nothing another deployer wrote
# there is replaced (takeOver has nothing to hand over: the file is never ours), and a
# session line of theirs for pam_systemd, whatever its control, is left as it is. An
# absent FILE (the package is not installed) is left absent; a link or other non-file, with
# a warning (the base writes through no link).
ensure_pam_systemd() {
  local file="$1" mode
  [[ -e "$file" || -L "$file" ]] || return 0
  if [[ ! -f "$file" || -L "$file" ]]; then
    warn "$file is not a regular file: left as it is, so its jobs may run outside the person's slice"
    return 0
  fi
  ! grep -Eq '^[[:space:]]*-?session[[:space:]].*pam_systemd[.]so' -- "$file" || return 0
  mode="$(stat -c '%a' -- "$file")"
  write_if_changed "$file" "$mode" root:root "$(cat -- "$file")"$'\n\n'"$WS_PAM_SYSTEMD_COMMENT"$'\n'"$WS_PAM_SYSTEMD_LINE"$'\n'
}

readonly WS_PAM_SYSTEMD_COMMENT="# Added by Workstation's base step: jobs run in the person's login-session slice, under their budget."
readonly WS_PAM_SYSTEMD_LINE="session optional pam_systemd.so"

# managed_settings_content: base/managed-settings.json, plus, from the installed config
# base, managed/CLAUDE.md as claudeMd (the org guidance every session gets, verified with
# the real CLI: docs/host.md) and the "permissions" of managed/settings.json, and its
# "hooks" when config_base_hooks_ok (the scan refused any other key). Without either,
# the file as it is, byte for byte.
managed_settings_content() {
  local managed="$WS_CONFIG_BASE/managed" md=/dev/null settings=/dev/null hooks=false
  [[ ! -f "$managed/CLAUDE.md" ]] || md="$managed/CLAUDE.md"
  [[ ! -f "$managed/settings.json" ]] || settings="$managed/settings.json"
  if [[ "$md" == /dev/null && "$settings" == /dev/null ]]; then
    cat -- "$WS_BASE/managed-settings.json"
    return
  fi
  ! config_base_hooks_ok || hooks=true
  jq --rawfile md "$md" --slurpfile s "$settings" --argjson hooks "$hooks" \
    '. + (($s[0] // {}) | with_entries(select(.key == "permissions" or ($hooks and .key == "hooks")))) + (if $md == "" then {} else {claudeMd: $md} end)' \
    "$WS_BASE/managed-settings.json"
}

# warn_unmerged_hooks: say so when the config base has hooks that are left out.
warn_unmerged_hooks() {
  [[ -f "$WS_CONFIG_BASE/managed/settings.json" ]] || return 0
  jq -e 'has("hooks")' "$WS_CONFIG_BASE/managed/settings.json" >/dev/null 2>&1 || return 0
  config_base_hooks_ok ||
    warn "the config base's managed/settings.json has hooks; they are not merged: they would run as everyone, so they come only from a config base pinned by commit (configBaseRef: a full 40-hex hash) or with configBaseHooks: true"
}

list_entries() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"; }

# base_inputs_sha256: the hash HostCommands.BaseInputsSha256 computes, over the
# installed files: sha256 of their sorted `sha256sum` lines.
base_inputs_sha256() {
  local -a inputs
  read -r -a inputs <<<"$WS_BASE_INPUTS"
  (
    cd "$WS_ROOT" || exit 1
    find "${inputs[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  ) | sha256sum | cut -d' ' -f1
}

cmd_base_apply() {
  local -A args=()
  parse_args "base apply" args "$@"
  local node_exporter="${args[--node-exporter]-loopback}" claude_policy="${args[--claude-code]-pinned}"
  local inputs_sha256="${args[--inputs-sha256]:-}" launcher=$((!${args[--no-launcher]:-0})) have t
  [[ -n "$inputs_sha256" ]] || die_usage "--inputs-sha256 is required (usage: $(verb_usage "base apply"))"
  [[ -z "${args[--take-over]:-}" ]] || mapfile -t WS_TAKE_OVER <<<"${args[--take-over]%$'\n'}"
  ((!${args[--config-base-hooks]:-0})) || WS_CONFIG_BASE_HOOKS_ALLOWED=1
  for t in "${WS_TAKE_OVER[@]}"; do
    [[ "$t" != "$WS_LAUNCHER" ]] || ((launcher)) || die_usage "--take-over $WS_LAUNCHER with --no-launcher: another deployer owns the launcher"
  done
  WS_CONFIG_BASE_REF_ARG="${args[--config-base-ref]-main}"
  case "$node_exporter" in
    loopback) WS_NODE_EXPORTER_LISTEN="$WS_NODE_EXPORTER_LOOPBACK" ;;
    off) ;;
    *) WS_NODE_EXPORTER_LISTEN="$node_exporter" ;;
  esac
  for t in "${WS_TAKE_OVER[@]}"; do
    [[ "$t" != "$WS_NODE_EXPORTER_DROPIN" || "$node_exporter" != off ]] ||
      die_usage "--take-over $WS_NODE_EXPORTER_DROPIN with --node-exporter off: the base leaves node_exporter alone"
  done
  require_root
  lock base
  have="$(base_inputs_sha256)"
  [[ "$have" == "$inputs_sha256" ]] ||
    die_refused "the installed base inputs ($WS_ROOT:$WS_BASE_INPUTS) hash to $have, not $inputs_sha256: install this host/ first"
  guard_base_shared "$launcher" "$node_exporter"
  base_steps args "$launcher" "$node_exporter"
  log "base apply: done"
}

# base_option_check RESULT NAME VALUE: each value of base apply, checked as it is read.
base_option_check() {
  case "$2" in
    --inputs-sha256) [[ "$3" =~ ^[0-9a-f]{64}$ ]] || die_usage "--inputs-sha256 $(describe "$3"): 64 lowercase hex digits" ;;
    --swap-size) [[ "$3" =~ $WS_RE_SWAP_SIZE ]] || die_usage "--swap-size $(describe "$3"): like 8G or 512M" ;;
    --tools-mirror) valid_tools_mirror "$3" ;;
    --node-exporter)
      [[ "$3" =~ $WS_RE_NODE_EXPORTER ]] || die_usage "--node-exporter $(describe "$3"): loopback, off, or a listen address ADDRESS:PORT (IPv4)"
      ;;
    --t3-package)
      [[ "$3" =~ $WS_RE_NPM_PIN ]] || die_usage "--t3-package $(describe "$3"): an npm package pinned to one version, NAME@X.Y.Z (never @latest, a tag or a range)"
      ;;
    --take-over)
      printf '%s\n' "${WS_BASE_SHARED[@]}" | cut -d' ' -f1 | grep -qxF -- "$3" ||
        die_usage "--take-over $(describe "$3"): not a file the base writes ($(printf '%s\n' "${WS_BASE_SHARED[@]}" | cut -d' ' -f1 | paste -sd' '))"
      ;;
    --claude-code) [[ "$3" == pinned || "$3" == if-missing ]] || die_usage "--claude-code $(describe "$3"): pinned or if-missing" ;;
    --config-base)
      no_credentials "$3" --config-base
      [[ "$3" =~ $RE_REPO_URL ]] || die_usage "--config-base $(describe "$3"): a git URL or path matching $RE_REPO_URL"
      ;;
    --config-base-ref) valid_config_base_ref "$3" ;;
    --swappiness) valid_range "$3" "$WS_MIN_SWAPPINESS" "$WS_MAX_SWAPPINESS" --swappiness ;;
  esac
}

# guard_base_shared LAUNCHER NODE_EXPORTER: the shared files first: a refusal comes before any
# package is installed.
guard_base_shared() {
  local launcher="$1" node_exporter="$2" entry path name mode
  for entry in "${WS_BASE_SHARED[@]}"; do
    read -r path name mode <<<"$entry"
    [[ "$path" != "$WS_LAUNCHER" ]] || ((launcher)) || continue
    [[ "$path" != "$WS_NODE_EXPORTER_DROPIN" || "$node_exporter" != off ]] || continue
    guard_shared "$path" "$(base_shared_content "$name")"$'\n'
  done
}

# base_steps ARGS LAUNCHER NODE_EXPORTER: the base's steps, in order, once every guard has passed.
base_steps() {
  local -n _base_args="$1"
  local launcher="$2" node_exporter="$3"
  # Before the package: Debian's postinst starts node_exporter, on every address without this.
  if [[ "$node_exporter" != off ]]; then
    step "node_exporter drop-in"
    ensure_dir "${WS_NODE_EXPORTER_DROPIN%/*}" 0755
    write_shared "$WS_NODE_EXPORTER_DROPIN" 0644 root:root "$(node_exporter_content)"$'\n'
  fi
  ensure_apt_packages "$node_exporter"
  ensure_npm_globals "${_base_args[--claude-code]-pinned}" "${_base_args[--t3-package]:-}"
  if ((!${_base_args[--no-pinned-tools]:-0})); then
    step "pinned tools"
    ensure_tools "$WS_TOOLS_MANIFEST" "${_base_args[--tools-mirror]:-}"
  fi
  if [[ -n "${_base_args[--config-base]:-}" ]]; then
    step "config base"
    ensure_config_base "${_base_args[--config-base]}" "$WS_CONFIG_BASE_REF_ARG"
  fi
  step "claude links"
  ensure_everyones_claude_links
  if [[ -n "${_base_args[--swap-size]:-}" ]]; then
    step "swap"
    ensure_swap "${_base_args[--swap-size]}"
  fi
  if [[ -n "${_base_args[--swappiness]:-}" ]]; then
    step "swappiness"
    ensure_swappiness "${_base_args[--swappiness]}"
  fi
  step "ptrace scope"
  ensure_ptrace_scope
  ensure_base_shared_files "$launcher"
  ensure_pressure_timer
  if [[ "$node_exporter" != off ]]; then
    step "node_exporter"
    ensure_node_exporter
  fi
  step "cron and at jobs in the person's session"
  ensure_pam_systemd /etc/pam.d/cron
  ensure_pam_systemd /etc/pam.d/atd
}

# ensure_apt_packages NODE_EXPORTER: every package of packages.txt is installed.
ensure_apt_packages() {
  local node_exporter="$1"
  step "apt packages"
  local -a missing=()
  local pkg
  while IFS= read -r pkg; do
    # off: another deployer's node_exporter, or none; either way not the base's to install.
    [[ "$pkg" != prometheus-node-exporter || "$node_exporter" != off ]] || continue
    [[ "$(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
  done < <(list_entries "$WS_ROOT/packages.txt")
  if ((${#missing[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    changed "apt packages installed: ${missing[*]}"
  fi
}

# ensure_npm_globals CLAUDE_POLICY T3_PACKAGE: every npm global of npm-packages.txt (and the
# t3 package) at its pinned version.
ensure_npm_globals() {
  local claude_policy="$1" t3_package="$2"
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
    # On a live machine the people's sessions run the Claude Code that is there: if-missing keeps it.
    if [[ "$name" == "$WS_CLAUDE_CODE_PACKAGE" && "$claude_policy" == if-missing && -n "$have" && "$have" != "$version" ]]; then
      log "$name $have kept (--claude-code if-missing; the pin is $version)"
      continue
    fi
    if [[ "$have" != "$version" ]]; then
      npm install -g --no-fund --no-audit --loglevel=error "$name@$version" >/dev/null
      changed "npm global $name@$version (was ${have:-absent})"
    fi
  done < <(
    list_entries "$WS_ROOT/npm-packages.txt"
    [[ -z "$t3_package" ]] || printf '%s\n' "$t3_package"
  )
}

# ensure_base_shared_files LAUNCHER: the managed Claude settings, the shell layer and /etc/skel.
ensure_base_shared_files() {
  local launcher="$1" entry path name mode
  step "managed Claude settings, the shell layer and /etc/skel"
  warn_unmerged_hooks
  for entry in "${WS_BASE_SHARED[@]}"; do
    read -r path name mode <<<"$entry"
    # Another deployer's launcher is theirs: not written, not guarded, not reported.
    [[ "$path" != "$WS_LAUNCHER" ]] || ((launcher)) || continue
    [[ "$path" != "$WS_NODE_EXPORTER_DROPIN" ]] || continue # written before the packages
    ensure_dir "${path%/*}" 0755
    write_shared "$path" "$mode" root:root "$(base_shared_content "$name")"$'\n'
  done
  step "fixed directories"
  ensure_fixed_dirs
}

# ensure_pressure_timer: the pressure sample's timer is enabled and running.
ensure_pressure_timer() {
  step "pressure sampling"
  if [[ "$(systemctl is-enabled workstation-pressure.timer 2>/dev/null || true)" != enabled ]] ||
    ! systemctl is-active --quiet workstation-pressure.timer; then
    systemctl enable --now --quiet workstation-pressure.timer
    changed "enabled and started workstation-pressure.timer"
  fi
}

# --- the fixed directories (systemd-tmpfiles) -----------------------------------
readonly WS_TMPFILES_CONF=/etc/tmpfiles.d/workstation.conf

# ensure_fixed_dirs: base/tmpfiles.d/workstation.conf installed, and the
# directories it lists made now when one is missing (at boot systemd-tmpfiles
# makes them).
ensure_fixed_dirs() {
  local type path _rest absent=0
  ensure_dir "${WS_TMPFILES_CONF%/*}" 0755
  write_if_changed "$WS_TMPFILES_CONF" 0644 root:root "$(cat -- "$WS_BASE/tmpfiles.d/workstation.conf")"$'\n'
  while read -r type path _rest; do
    [[ "$type" != d || -d "$path" ]] || absent=1
  done <"$WS_TMPFILES_CONF"
  ((absent)) || return 0
  timeout 30 systemd-tmpfiles --create -- "$WS_TMPFILES_CONF"
  changed "made the missing directories of $WS_TMPFILES_CONF"
}

# --- kernel.yama.ptrace_scope ----------------------------------------------------
readonly WS_PTRACE_SYSCTL_FILE=/etc/sysctl.d/60-workstation-ptrace.conf
readonly WS_PTRACE_SCOPE=/proc/sys/kernel/yama/ptrace_scope

# ptrace_scope: the kernel's Yama ptrace scope (0 to 3), or "absent" when the kernel has
# no Yama (then the classic rule holds: any process of the same uid, like scope 0).
ptrace_scope() {
  local v
  v="$(cat "$WS_PTRACE_SCOPE" 2>/dev/null || true)"
  if [[ "$v" =~ ^[0-3]$ ]]; then printf '%s' "$v"; else printf absent; fi
}

# ensure_ptrace_scope: scope 1 now and at every boot, unless the host is stricter already
# (2 or 3: left as it is). At 0 any process of a person can attach to, and copy the
# descriptors of (pidfd_getfd), every other process of theirs, among them the work root
# runs as them. The cost: a person can no longer `gdb -p` or `strace -p` a process of
# theirs they did not start under the debugger (docs/multi-tenancy.md).
ensure_ptrace_scope() {
  local have
  have="$(ptrace_scope)"
  [[ "$have" != [23] ]] || return 0
  ensure_dir /etc/sysctl.d 0755
  # "-": a kernel without Yama ignores the line at boot instead of failing the unit.
  write_if_changed "$WS_PTRACE_SYSCTL_FILE" 0644 root:root "# Written by workstation base apply: a person's processes attach only to their own descendants.
-kernel.yama.ptrace_scope = 1
"
  case "$have" in
    1) ;;
    0)
      if sysctl -q -w kernel.yama.ptrace_scope=1 2>/dev/null; then
        changed "kernel.yama.ptrace_scope=1"
      else
        warn "kernel.yama.ptrace_scope could not be set now (read-only /proc/sys?); $WS_PTRACE_SYSCTL_FILE sets it at boot"
      fi
      ;;
    *) log "notice: this kernel has no Yama (kernel.yama.ptrace_scope): a person's processes may attach to any other process of theirs" ;;
  esac
}
