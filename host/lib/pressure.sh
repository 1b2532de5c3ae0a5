# shellcheck shell=bash
# pressure.sh — `pressure sample`: what workstation-pressure.timer runs. One
# sample of the machine's pressure, written whole (atomically) as Prometheus
# text for node_exporter's textfile collector, and a journal warning for each
# threshold crossed. Sourced by bin/workstation.
#   - PSI (/proc/pressure/{memory,io,cpu}): some and full, avg10 and total;
#   - free space on / and /home (bytes available, share free);
#   - memory in use per person's slice (workstation-USER.slice), where the memory
#     controller is available, the slice's budget (memory_high, memory_max), and
#     every person's resident memory (ps).

readonly WS_TEXTFILE_DIR_DEFAULT=/var/lib/prometheus/node-exporter

# slice_memory_bytes SLICE: the slice's memory in use (cgroup v2 memory.current, or v1 usage), or
# nothing. systemd nests slices by the dashes in their names, so the path comes from systemd.
slice_memory_bytes() {
  local cg f
  cg="$(systemctl show -p ControlGroup --value -- "$1" 2>/dev/null || true)"
  [[ "$cg" == /* ]] || return 0
  for f in "/sys/fs/cgroup$cg/memory.current" "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes"; do
    if [[ -r "$f" ]]; then
      cat -- "$f"
      return
    fi
  done
}

cmd_pressure_sample() {
  local -A args=()
  parse_args "pressure sample" args "$@"
  local dir="${args[--textfile-dir]-$WS_TEXTFILE_DIR_DEFAULT}" memory_warn="${args[--memory-warn]-10}"
  local io_warn="${args[--io-warn]-20}" disk_free_warn="${args[--disk-free-warn]-10}" n
  [[ "$dir" =~ $WS_RE_HOST_PATH ]] || die_usage "--textfile-dir $(describe "$dir"): an absolute path, no component starting with a dot"
  for n in "$memory_warn" "$io_warn" "$disk_free_warn"; do
    if ! [[ "$n" =~ ^[0-9]{1,3}$ ]] || ((10#$n > 100)); then
      die_usage "a threshold is a percentage (0-100), not $(describe "$n")"
    fi
  done
  require_root

  local out
  out="$(
    psi_metrics /proc/pressure
    filesystem_metrics
    people_metrics
    printf '# HELP workstation_pressure_sample_timestamp_seconds When this sample was taken.\n'
    printf '# TYPE workstation_pressure_sample_timestamp_seconds gauge\n'
    printf 'workstation_pressure_sample_timestamp_seconds %s\n' "$(date +%s)"
  )"$'\n'
  mkdir -p -- "$dir"
  local tmp
  tmp="$(mktemp "$dir/.workstation.prom.XXXXXX")"
  printf '%s' "$out" >"$tmp"
  chmod 0644 "$tmp"
  mv -f -T -- "$tmp" "$dir/workstation.prom"

  pressure_warnings "$out" "$memory_warn" "$io_warn" "$disk_free_warn"
  log "pressure sample: $dir/workstation.prom"
}

# psi_metrics DIR: the PSI lines (DIR/{memory,io,cpu}, the kernel's in /proc/pressure), as
# Prometheus text: each file read once, its lines giving both the avg10 gauge and the
# stalled-time counter.
psi_metrics() {
  local dir="$1" resource kind line avg10 total gauges="" counters=""
  for resource in memory io cpu; do
    [[ -r "$dir/$resource" ]] || continue
    while read -r kind line; do
      avg10="$(sed -n 's/.*avg10=\([0-9.]*\).*/\1/p' <<<"$line")"
      total="$(sed -n 's/.*total=\([0-9]*\).*/\1/p' <<<"$line")"
      gauges+="$(printf 'workstation_pressure_avg10_percent{resource="%s",kind="%s"} %s' "$resource" "$kind" "${avg10:-0}")"$'\n'
      counters+="$(printf 'workstation_pressure_stalled_seconds_total{resource="%s",kind="%s"} %s' "$resource" "$kind" \
        "$(awk -v t="${total:-0}" 'BEGIN { printf "%.6f", t / 1000000 }')")"$'\n'
    done <"$dir/$resource"
  done
  printf '# HELP workstation_pressure_avg10_percent Share of the last 10 s in which tasks stalled on the resource (PSI).\n'
  printf '# TYPE workstation_pressure_avg10_percent gauge\n'
  printf '%s' "$gauges"
  printf '# HELP workstation_pressure_stalled_seconds_total Time in which tasks stalled on the resource (PSI total).\n'
  printf '# TYPE workstation_pressure_stalled_seconds_total counter\n'
  printf '%s' "$counters"
}

# filesystem_metrics: free space on / and /home, as Prometheus text.
filesystem_metrics() {
  local mount avail size
  printf '# HELP workstation_filesystem_avail_bytes Bytes available to unprivileged users.\n'
  printf '# TYPE workstation_filesystem_avail_bytes gauge\n'
  for mount in / /home; do
    read -r avail size < <(df -B1 --output=avail,size -- "$mount" | tail -n 1)
    printf 'workstation_filesystem_avail_bytes{mountpoint="%s"} %s\n' "$mount" "$avail"
  done
  printf '# HELP workstation_filesystem_free_ratio Share of the file system available to unprivileged users.\n'
  printf '# TYPE workstation_filesystem_free_ratio gauge\n'
  for mount in / /home; do
    read -r avail size < <(df -B1 --output=avail,size -- "$mount" | tail -n 1)
    printf 'workstation_filesystem_free_ratio{mountpoint="%s"} %s\n' "$mount" "$(awk -v a="$avail" -v s="$size" 'BEGIN { printf "%.4f", (s > 0 ? a / s : 0) }')"
  done
}

# people_metrics: each managed person's slice memory, budget and resident memory, as Prometheus text.
people_metrics() {
  local user slice bytes limit
  printf '# HELP workstation_slice_memory_bytes Memory in use by one person'"'"'s slice (workstation-USER.slice).\n'
  printf '# TYPE workstation_slice_memory_bytes gauge\n'
  for user in $(getent group "$WS_MARKER_GROUP" | cut -d: -f4 | tr ',' ' '); do
    slice="workstation-$user.slice"
    bytes="$(slice_memory_bytes "$slice")"
    [[ -z "$bytes" ]] || printf 'workstation_slice_memory_bytes{user="%s"} %s\n' "$user" "$bytes"
  done
  # The budget the slice's memory is read against (infinity, i.e. none: no line).
  printf '# HELP workstation_slice_memory_limit_bytes One person'"'"'s budget on their slice: memory_high (throttling) and memory_max (OOM kill).\n'
  printf '# TYPE workstation_slice_memory_limit_bytes gauge\n'
  for user in $(getent group "$WS_MARKER_GROUP" | cut -d: -f4 | tr ',' ' '); do
    for limit in MemoryHigh MemoryMax; do
      bytes="$(systemctl show -p "$limit" --value -- "workstation-$user.slice" 2>/dev/null || true)"
      [[ "$bytes" =~ ^[0-9]+$ ]] || continue
      printf 'workstation_slice_memory_limit_bytes{user="%s",limit="%s"} %s\n' "$user" \
        "$([[ "$limit" == MemoryHigh ]] && echo memory_high || echo memory_max)" "$bytes"
    done
  done
  # Resident memory of each person's processes: measurable everywhere, also where the
  # memory controller is not available to systemd (a container on cgroup v1).
  printf '# HELP workstation_user_resident_bytes Resident memory of all the processes of one person.\n'
  printf '# TYPE workstation_user_resident_bytes gauge\n'
  for user in $(getent group "$WS_MARKER_GROUP" | cut -d: -f4 | tr ',' ' '); do
    printf 'workstation_user_resident_bytes{user="%s"} %s\n' "$user" \
      "$(ps -u "$(id -u -- "$user")" -o rss= 2>/dev/null | awk '{ s += $1 } END { printf "%d", s * 1024 }')"
  done
}

# pressure_warnings SAMPLE MEMORY_WARN IO_WARN DISK_FREE_WARN: a journal warning (stderr) for
# each threshold the sample crosses.
pressure_warnings() {
  local out="$1" memory_warn="$2" io_warn="$3" disk_free_warn="$4" value mount
  # The unit's stderr goes to the journal.
  value="$(awk -F'[ }]' '/^workstation_pressure_avg10_percent\{resource="memory",kind="some"/ { print $NF }' <<<"$out")"
  if [[ -n "$value" ]] && awk -v v="$value" -v t="$memory_warn" 'BEGIN { exit !(v > t) }'; then
    warn "memory pressure: tasks stalled ${value}% of the last 10 s (threshold ${memory_warn}%)"
  fi
  value="$(awk -F'[ }]' '/^workstation_pressure_avg10_percent\{resource="io",kind="some"/ { print $NF }' <<<"$out")"
  if [[ -n "$value" ]] && awk -v v="$value" -v t="$io_warn" 'BEGIN { exit !(v > t) }'; then
    warn "io pressure: tasks stalled ${value}% of the last 10 s (threshold ${io_warn}%)"
  fi
  while read -r mount value; do
    if awk -v v="$value" -v t="$disk_free_warn" 'BEGIN { exit !(v * 100 < t) }'; then
      warn "$mount has $(awk -v v="$value" 'BEGIN { printf "%.1f", v * 100 }')% free (threshold ${disk_free_warn}%)"
    fi
  done < <(sed -n 's/^workstation_filesystem_free_ratio{mountpoint="\([^"]*\)"} \(.*\)$/\1 \2/p' <<<"$out")
}
