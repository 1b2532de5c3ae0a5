# shellcheck shell=bash
# services.sh — a user's services: the root-owned files that describe them
# (ports, the applied tier), the tier's unit drop-ins, and the units
# themselves. Sourced by bin/workstation after common.sh.

readonly WS_UNIT_DIR=/etc/systemd/system
# t3 for the admin: their terminals run under it, and an admin's terminal may
# `sudo apt` or edit /etc, so none of the template's filesystem protection.
readonly WS_ADMIN_T3_DROPIN='# Written by workstation user apply for the admin tier: their terminals run
# under t3 and may sudo (apt, editing /etc), so the system is not read-only here.
[Service]
ProtectSystem=no
ProtectKernelModules=no
'

# user_record_file USER: what the last account apply granted (TIER, GROUPS), read by `user status`.
user_record_file() { printf '%s/user-%s.env' "$WS_ETC" "$1"; }

ensure_user_record() { # USER TIER GROUPS(comma list)
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$(user_record_file "$1")" 0644 root:root "TIER=$2"$'\n'"GROUPS=$3"$'\n'
}

# The port files: the units' EnvironmentFile, and what the firewall guards.
ensure_port_files() { # USER T3_PORT PLAYWRIGHT_PORT
  ensure_dir "$WS_ETC" 0755
  write_if_changed "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")" 0644 root:root "PLAYWRIGHT_PORT=$3"$'\n'
  write_if_changed "$(user_path "$WS_T3_ENV_FILE" "$1")" 0644 root:root "T3_PORT=$2"$'\n'
}

remove_port_files() { # USER
  remove_file "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$1")"
  remove_file "$(user_path "$WS_T3_ENV_FILE" "$1")"
}

# ensure_tier_dropins USER TIER: the admin's t3 drop-in exists exactly for the
# admin tier; a unit whose drop-in changed is restarted only if it runs.
ensure_tier_dropins() {
  local user="$1" tier="$2" unit dir file
  unit="t3-serve@$user.service"
  dir="$WS_UNIT_DIR/$unit.d"
  file="$dir/50-workstation-tier.conf"
  local before after
  before="$(cat -- "$file" 2>/dev/null || true)"
  if [[ "$tier" == "$WS_ADMIN_TIER" ]]; then
    ensure_dir "$dir" 0755
    write_if_changed "$file" 0644 root:root "$WS_ADMIN_T3_DROPIN"
  else
    remove_file "$file"
    [[ ! -d "$dir" ]] || rmdir --ignore-fail-on-non-empty -- "$dir"
  fi
  after="$(cat -- "$file" 2>/dev/null || true)"
  [[ "$before" != "$after" ]] || return 0
  systemctl daemon-reload
  # A running t3 keeps the sandbox it started with: a tier change takes effect
  # at its next start (never a restart under someone's terminals).
  if systemctl is-active --quiet "$unit"; then
    warn "$unit runs with the settings of the previous tier until it restarts"
  fi
}

# The budget's drop-in, on both slices a person's processes run in: their
# services' (workstation-USER.slice, also where the host runs things as them)
# and their login sessions' (user-UID.slice). Each is capped on its own.
budget_dropins() { # USER UID
  printf '%s\n' "$WS_UNIT_DIR/workstation-$1.slice.d/50-workstation-budget.conf" \
    "$WS_UNIT_DIR/user-$2.slice.d/50-workstation-budget.conf"
}

# ensure_budget USER HIGH MAX CPU_WEIGHT TASKS_MAX: the drop-ins say exactly this;
# a change reaches the running slices in place (daemon-reload, then the same
# values at runtime for the live cgroups), never a restart.
ensure_budget() {
  local user="$1" uid file dir content changed_any=0
  uid="$(id -u -- "$user")"
  content="# Written by workstation user services apply: $user's budget (roster.yaml).
[Slice]
MemoryAccounting=yes
MemoryHigh=$2
MemoryMax=$3
CPUWeight=$4
TasksMax=$5
"
  while IFS= read -r file; do
    dir="${file%/*}"
    ensure_dir "$dir" 0755
    file_equals "$file" "$content" || changed_any=1
    write_if_changed "$file" 0644 root:root "$content"
  done < <(budget_dropins "$user" "$uid")
  ((changed_any)) || return 0
  systemctl daemon-reload
  local slice
  for slice in "workstation-$user.slice" "user-$uid.slice"; do
    if systemctl is-active --quiet "$slice"; then
      systemctl set-property --runtime -- "$slice" "MemoryHigh=$2" "MemoryMax=$3" "CPUWeight=$4" "TasksMax=$5"
    fi
  done
}

remove_budget() { # USER UID
  local file
  while IFS= read -r file; do
    remove_file "$file"
    [[ ! -d "${file%/*}" ]] || rmdir --ignore-fail-on-non-empty -- "${file%/*}"
  done < <(budget_dropins "$1" "$2")
}

# ensure_units_running USER: every unit enabled and started; a running one is
# never restarted.
ensure_units_running() {
  local unit
  while IFS= read -r unit; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null && systemctl is-active --quiet "$unit"; then
      continue
    fi
    systemctl enable --now --quiet "$unit"
    changed "enabled and started $unit"
  done < <(user_units "$1")
}

# ensure_units_stopped USER: every unit disabled and stopped, whatever mix of
# enabled and running it was in: an enabled but crashed unit would start again
# at boot, as the user, and one whose process was just killed is waiting to
# restart ("activating"), which is not "active".
ensure_units_stopped() {
  local unit state
  while IFS= read -r unit; do
    state="$(systemctl is-active "$unit" 2>/dev/null || true)"
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || [[ "$state" != inactive && "$state" != failed ]]; then
      systemctl disable --now --quiet "$unit"
      changed "disabled and stopped $unit"
    fi
  done < <(user_units "$1")
}
