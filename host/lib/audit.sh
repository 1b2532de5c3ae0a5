# shellcheck shell=bash
# audit.sh — `audit USER [--since TIME] [--json]` (docs/host.md): what a person did on the
# machine, read-only and root only, from records only root can read and nothing the person
# can write:
#   - SSH logins and logouts: sshd's own lines in the system journal;
#   - sudo: sudo's lines naming the person as the one who ran it;
#   - the program's own steps that acted on the person: the one journal line each verb
#     writes on its way out (common.sh, journal_step);
#   - t3 and MCP sessions: the kernel's record of each new connection to the person's t3 and
#     playwright ports (the set `connections` of table inet workstation_audit, firewall.sh).
# Every journal line counted comes from a root process (_UID=0, a field journald sets from the
# sender's credentials, not from the line), so a person's own `logger -t sshd ...` is never
# read as a login; sudo's count from root or from the person's own uid (audit_sudo_events).
# Every read is bounded: by --since, a line cap and a timeout. Sourced by bin/workstation
# after firewall.sh.

# How far back the audit reads when no --since is given (what journalctl accepts).
readonly WS_AUDIT_DEFAULT_SINCE="-7d"
# At most this many journal entries per source, and seconds per read.
readonly WS_AUDIT_MAX_ENTRIES=20000 WS_AUDIT_READ_TIMEOUT=30

cmd_audit() {
  local -A args=()
  parse_args "audit" args "$@"
  local user="${args[user]}" json="${args[--json]:-0}" since="${args[--since]:-$WS_AUDIT_DEFAULT_SINCE}" from uid
  audit_since_check "$since"
  audit_since_epoch "$since" from
  require_root
  uid="$(id -u -- "$user" 2>/dev/null)" || { uid=0; warn "no account $user on this host (a purged person's journal lines are still shown)"; }
  {
    audit_journal "$from" --grep "for $user from|session closed for user $user\$" _UID=0 SYSLOG_IDENTIFIER=sshd | audit_ssh_events "$user"
    audit_journal "$from" --grep "^ *$user : .*COMMAND=" _UID=0 "_UID=$uid" SYSLOG_IDENTIFIER=sudo | audit_sudo_events "$user" "$uid"
    audit_journal "$from" _UID=0 SYSLOG_IDENTIFIER=workstation "WORKSTATION_USER=$user" | audit_step_events "$user"
    audit_connections "$user" "$from"
  } | audit_render "$json"
}

# audit_since_check VALUE: VALUE is a time as journalctl reads it ("-7d", "2026-12-01",
# "2026-12-01 08:00:00", "yesterday", "@EPOCH"): checked here for its characters and length,
# then parsed by systemd itself (audit_since_epoch). Anything else exits 2.
audit_since_check() {
  [[ "$1" =~ ^[A-Za-z0-9@][A-Za-z0-9\ :.+@-]{0,63}$ || "$1" =~ ^-[0-9][A-Za-z0-9\ ]{0,62}$ ]] ||
    die_usage "--since $(describe "$1"): a time as journalctl reads it (for example -7d, yesterday, 2026-12-01 or 2026-12-01 08:00:00)"
}

# audit_since_epoch VALUE VAR: VALUE (checked) as whole seconds since the epoch into VAR,
# parsed by systemd-analyze (journalctl's own parser); the journal is then read from exactly that.
audit_since_epoch() {
  local out epoch
  command -v systemd-analyze >/dev/null || die "systemd-analyze is not installed (the systemd package): --since can't be read"
  out="$(timeout 5 systemd-analyze timestamp -- "$1" 2>/dev/null)" ||
    die_usage "--since $(describe "$1"): not a time journalctl reads (for example -7d, yesterday, 2026-12-01 or 2026-12-01 08:00:00)"
  epoch="$(sed -n 's/^ *UNIX seconds: @\([0-9]*\).*/\1/p' <<<"$out")"
  [[ "$epoch" =~ ^[0-9]+$ ]] || die "systemd-analyze printed no UNIX time for --since $(describe "$1")"
  printf -v "$2" '%s' "$epoch"
}

# audit_journal EPOCH ARGS...: the journal's entries from EPOCH on that ARGS select, as JSON
# lines, the newest WS_AUDIT_MAX_ENTRIES at most (a warning when the cap was reached).
audit_journal() {
  local from="$1" out rc=0 n
  shift
  out="$(timeout "$WS_AUDIT_READ_TIMEOUT" journalctl --no-pager -q -o json --since "@$from" \
    -n "$WS_AUDIT_MAX_ENTRIES" --case-sensitive=true "$@")" || rc=$?
  # journalctl --grep exits 1 when nothing matched.
  ((rc <= 1)) || warn "reading the journal ($*) failed or timed out (exit $rc): what it printed is shown"
  [[ -n "$out" ]] || return 0
  n="$(grep -c . <<<"$out")"
  ((n < WS_AUDIT_MAX_ENTRIES)) || warn "only the newest $WS_AUDIT_MAX_ENTRIES entries of $* were read: give a later --since"
  printf '%s\n' "$out"
}

# The jq prelude of the journal filters: a root process's entry (journald sets _UID from the
# sender's credentials), its message as text (journalctl prints a message with control bytes
# as an array of bytes), its time in microseconds.
# shellcheck disable=SC2016 # jq's variables
readonly WS_AUDIT_JQ_ENTRY='
  def from_root($id): select(._UID == "0" and .SYSLOG_IDENTIFIER == $id);
  def text: if (.MESSAGE | type) == "array" then (try (.MESSAGE | implode) catch "") else (.MESSAGE // "") end;
  def event($kind; $detail): {usec: (.__REALTIME_TIMESTAMP | tonumber), kind: $kind, detail: $detail};'

# audit_ssh_events USER: journal JSON lines (stdin) to USER's SSH logins and logouts, as
# event objects: sshd's "Accepted METHOD for USER from HOST port N" and the PAM session's end.
audit_ssh_events() {
  jq -c --arg u "$1" "$WS_AUDIT_JQ_ENTRY"'
    from_root("sshd") | text as $m |
    ($m | capture("^Accepted (?<how>[^ ]+) for " + $u + " from (?<host>[^ ]+) port (?<port>[0-9]+)")? // null) as $in |
    if $in then event("ssh-login"; "from \($in.host) port \($in.port) (\($in.how))")
    elif $m == "pam_unix(sshd:session): session closed for user " + $u then event("ssh-logout"; "session closed")
    else empty end'
}

# audit_sudo_events USER UID: journal JSON lines to what USER ran (or was refused) through
# sudo: sudo's lines that begin with the name of the person who ran it. sudo logs the command
# under the real uid of who ran it (journald's _UID is the sender's real uid), so a line from
# USER's own uid counts too: a person can put a sudo-looking line into their own audit, never
# into anyone else's.
audit_sudo_events() {
  jq -c --arg u "$1" --arg uid "$2" "$WS_AUDIT_JQ_ENTRY"'
    select(._UID == "0" or ._UID == $uid) | select(.SYSLOG_IDENTIFIER == "sudo") | text as $m |
    ($m | capture("^ *" + $u + " : (?<what>.*COMMAND=.*)$")? // null) as $s |
    if $s then event("sudo"; $s.what) else empty end'
}

# audit_step_events USER: journal JSON lines to the program's steps that acted on USER (the
# fields journal_step writes).
audit_step_events() {
  jq -c --arg u "$1" "$WS_AUDIT_JQ_ENTRY"'
    from_root("workstation") | select(.WORKSTATION_USER == $u) |
    event("step"; "\(.WORKSTATION_STEP // "?"): \(.WORKSTATION_RESULT // "?") (exit \(.WORKSTATION_EXIT // "?"))" +
      (if (.WORKSTATION_FAILED_AT // "") != "" then ", at \(.WORKSTATION_FAILED_AT)" else "" end))'
}

# audit_connections USER EPOCH: USER's t3 and MCP sessions since EPOCH, from the kernel's set.
audit_connections() {
  local user="$1" from="$2" t3="" pw="" set names
  port_into t3 "$(user_path "$WS_T3_ENV_FILE" "$user")" "$WS_T3_PORT_KEY" || true
  port_into pw "$(user_path "$WS_PLAYWRIGHT_ENV_FILE" "$user")" "$WS_PLAYWRIGHT_PORT_KEY" || true
  [[ -n "$t3$pw" ]] || return 0
  # As text: nft's JSON gives the time left in whole seconds, the text in milliseconds.
  set="$(timeout 10 nft list set inet "$WS_AUDIT_TABLE" connections 2>/dev/null)" ||
    { warn "no connection record (table inet $WS_AUDIT_TABLE; workstation firewall apply makes it): t3 and MCP sessions not shown"; return 0; }
  names="$(getent passwd | awk -F: '{ print $3 " " $1 }')"
  audit_connection_events "${t3:-0}" "${pw:-0}" "$(date +%s%3N)" "$from" "$names" <<<"$set"
}

# audit_connection_events T3 PW NOW_MS EPOCH NAMES: `nft list set` of the connection record
# (stdin) to the sessions on port T3 (t3) and PW (mcp) since EPOCH. Each element is one new
# connection, "PORT . UID . CLIENT_PORT expires 6d23h59m58s948ms", made (the set's timeout -
# expires) before NOW_MS (milliseconds since the epoch). NAMES: "UID NAME" lines, to name who
# connected.
audit_connection_events() {
  jq -R -s -c --argjson t3 "$1" --argjson pw "$2" --argjson now "$3" --argjson from "$4" --arg names "$5" '
    def ms: [scan("([0-9]+)(d|h|ms|m|s)")] |
      map((.[0] | tonumber) * {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}[.[1]]) | add // 0;
    ($names | split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: .[1]}) | from_entries) as $who |
    ((capture("\\stimeout (?<t>[0-9dhms]+)\\s") // {t: "0s"}).t | ms) as $keep |
    scan("([0-9]+) [.] ([0-9]+) [.] ([0-9]+) expires ([0-9dhms]+)") |
    (.[0] | tonumber) as $port | .[1] as $uid | .[2] as $client |
    select($port != 0 and ($port == $t3 or $port == $pw)) |
    ($now - ($keep - (.[3] | ms))) as $at | select($at >= $from * 1000) |
    {usec: ($at * 1000), kind: (if $port == $t3 then "t3" else "mcp" end),
     detail: "port \($port), from \($who[$uid] // "uid \($uid)") (uid \($uid)) port \($client)"}'
}

# audit_render JSON: the event objects (stdin) in time order: a JSON array of {time, kind,
# detail} when JSON is 1, else a table (control characters in a detail shown as "?", so a
# name or command a person chose can't forge a line of its own).
audit_render() {
  local filter='sort_by(.usec) | map({time: ((.usec / 1000000) | floor | todate), kind, detail})'
  if (($1)); then
    jq -s "$filter"
  else
    jq -s -r "$filter"' | if length == 0 then "no events" else
      (["TIME", "KIND", "DETAIL"], (.[] | [.time, .kind, (.detail | explode | map(if . < 32 or . == 127 then 63 else . end) | implode)])) |
      "\(.[0] | . + " " * (20 - length)) \(.[1] | . + " " * (10 - length)) \(.[2])" end'
  fi
}
