# shellcheck shell=bash
# swap.sh — the base step's swap: one managed swap file of the configured size,
# and vm.swappiness. A resize never leaves the machine without swap: the new
# file is made and switched on before the old one is switched off. Swap that
# Workstation did not make (a partition, another file) is left alone.
# Sourced by bin/workstation; base.sh calls it.

readonly WS_SWAP_PREFIX=/swapfile
readonly WS_SYSCTL_FILE=/etc/sysctl.d/60-workstation-swap.conf

# Ours: /swapfile (the first base version's name) or /swapfile-SIZE.
is_managed_swap() { [[ "$1" == "$WS_SWAP_PREFIX" || "$1" =~ ^/swapfile-[1-9][0-9]{0,3}[MG]$ ]]; }

# active_swaps: "NAME BYTES" per active swap area.
active_swaps() { swapon --noheadings --bytes --show=NAME,SIZE 2>/dev/null | awk 'NF == 2 { print $1, $2 }'; }

# fstab_without PATH: fstab lines (stdin) without PATH's swap line.
fstab_without() { awk -v p="$1" '!($1 == p && $3 == "swap")'; }

# make_swap_file PATH SIZE: a fresh swap file, complete before it gets its name.
make_swap_file() {
  local path="$1" size="$2" tmp="$1.ws-tmp"
  rm -f -- "$tmp"
  if ! fallocate -l "$size" -- "$tmp" || ! chmod 600 -- "$tmp" || ! mkswap -- "$tmp" >/dev/null; then
    rm -f -- "$tmp"
    die "could not make a $size swap file at $path (disk space?); the swap in use is unchanged"
  fi
  mv -f -T -- "$tmp" "$path"
}

# ensure_swap SIZE: SIZE of managed swap is active and in fstab; any other
# managed swap file is switched off (after) and removed.
ensure_swap() {
  local size="$1" want path="$WS_SWAP_PREFIX-$1" name current="" foreign=""
  want="$(size_bytes "$size")"
  while read -r name _; do
    if is_managed_swap "$name"; then current="$name"; else foreign+=" $name"; fi
  done < <(active_swaps)
  if [[ -z "$current" && -n "$foreign" ]]; then
    warn "swap:$foreign is active and not Workstation's: left alone, no $size swap file added"
    return 0
  fi
  if [[ -n "$current" && "$(stat -c %s -- "$current")" == "$want" ]]; then
    path="$current"
  else
    [[ "$current" != "$path" ]] || die "$path is active but not $size: switch it off by hand first"
    make_swap_file "$path" "$size"
    swapon -- "$path" || {
      rm -f -- "$path"
      die "swapon $path failed; ${current:-no swap} stays as it was"
    }
    changed "swapon $path ($size)"
  fi
  # fstab: exactly one managed line, the active file's.
  local fstab old
  fstab="$(cat /etc/fstab)"
  for old in "$WS_SWAP_PREFIX" "$WS_SWAP_PREFIX"-*; do
    if [[ "$old" != "$path" ]] && is_managed_swap "$old"; then fstab="$(fstab_without "$old" <<<"$fstab")"; fi
  done
  if ! awk -v p="$path" '$1 == p && $3 == "swap" { found = 1 } END { exit !found }' <<<"$fstab"; then
    fstab+=$'\n'"$path none swap sw 0 0"
  fi
  write_if_changed /etc/fstab 0644 root:root "$fstab"$'\n'
  # Only now the old file: the new one is already carrying the load.
  for old in "$WS_SWAP_PREFIX" "$WS_SWAP_PREFIX"-*; do
    if [[ "$old" == "$path" || ! -e "$old" ]] || ! is_managed_swap "$old"; then continue; fi
    if active_swaps | awk -v p="$old" '$1 == p { found = 1 } END { exit !found }'; then
      if ! swapoff -- "$old"; then
        warn "swapoff $old failed (its pages may not fit elsewhere yet); it stays active until the next run"
        continue
      fi
      changed "swapoff $old"
    fi
    rm -f -- "$old"
    changed "removed $old"
  done
}

# ensure_swappiness N: vm.swappiness now and at every boot.
ensure_swappiness() {
  ensure_dir /etc/sysctl.d 0755
  write_if_changed "$WS_SYSCTL_FILE" 0644 root:root "# Written by workstation base apply (swappiness in the stack config).
vm.swappiness = $1
"
  [[ "$(cat /proc/sys/vm/swappiness 2>/dev/null)" != "$1" ]] || return 0
  if sysctl -q -w "vm.swappiness=$1" 2>/dev/null; then
    changed "vm.swappiness=$1"
  else
    warn "vm.swappiness could not be set now (read-only /proc/sys?); $WS_SYSCTL_FILE sets it at boot"
  fi
}
