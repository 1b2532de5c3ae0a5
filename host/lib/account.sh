# shellcheck shell=bash
# account.sh — the account steps of `user apply` and `user suspend`: the
# account, its groups, lock state and home mode, and the drift report. Each
# ensure_* checks one fact, then acts only when it is not so. Sourced by
# bin/workstation after common.sh and validate.sh.

readonly WS_SUSPENDED_DIR="$WS_ETC/suspended"
readonly WS_PENDING_DIR="$WS_ETC/pending"
# cron's and atd's spools (Debian's), and where the cut keeps a person's jobs
# until resume: beside them, so a hard link moves a job without reading it.
readonly WS_CRONTABS=/var/spool/cron/crontabs WS_ATJOBS=/var/spool/cron/atjobs
readonly WS_JOBS_ASIDE=/var/spool/cron/workstation-suspended

# passwd -S status: L (locked), P (usable password), NP (no password).
lock_status() { passwd -S -- "$1" | awk '{print $2}'; }
# Field 8 of /etc/shadow: account expiry in days since the epoch, or empty.
expiry_days() { getent shadow "$1" | cut -d: -f8; }

is_suspended() { [[ -f "$WS_SUSPENDED_DIR/$1" ]]; }

# The suspension record ($WS_SUSPENDED_DIR/USER): the lock state and expiry the
# cut found, for the resume. Written and read only here; its field names are
# rules.sh's (Roster/HostRecords.cs).
write_suspension_record() { # USER LOCK EXPIRE
  ensure_dir "$WS_SUSPENDED_DIR" 0700
  write_if_changed "$WS_SUSPENDED_DIR/$1" 0600 root:root \
    "$WS_SUSPENSION_LOCK=$2"$'\n'"$WS_SUSPENSION_EXPIRE=$3"$'\n'
}

# read_suspension_record USER LOCK_VAR EXPIRE_VAR: sets the two variables to the
# record's fields (empty when a field is missing).
read_suspension_record() {
  local rec_line rec_lock="" rec_expire=""
  while IFS= read -r rec_line; do
    case "$rec_line" in
      "$WS_SUSPENSION_LOCK="*) rec_lock="${rec_line#*=}" ;;
      "$WS_SUSPENSION_EXPIRE="*) rec_expire="${rec_line#*=}" ;;
    esac
  done <"$WS_SUSPENDED_DIR/$1"
  printf -v "$2" '%s' "$rec_lock"
  printf -v "$3" '%s' "$rec_expire"
}

# account_guards USER UID ADOPT HOME: everything that can refuse, decided before
# anything is touched. The account's home (or the one it will get) lands in the
# variable HOME names.
account_guards() {
  local user="$1" uid="$2" adopt="$3" entry cur_uid
  local -n _guard_home="$4"
  if entry="$(getent passwd "$user")"; then
    IFS=: read -r _ _ cur_uid _ _ _guard_home _ <<<"$entry"
    if ! has_marker "$user" && ((!adopt)); then
      die_refused "account $user exists but is not managed (no '$WS_MARKER_GROUP' group); pass --adopt to take it over"
    fi
    if [[ -n "$uid" && "$cur_uid" != "$uid" ]]; then
      die_refused "account $user has uid $cur_uid, the roster pins $uid"
    fi
    if [[ -e "$WS_PENDING_DIR/$user" && ! -e "$_guard_home" ]]; then
      : # our own creation was interrupted inside useradd; finished by ensure_account
    elif [[ "$_guard_home" != /* || ! -d "$_guard_home" ]]; then
      die_refused "account $user has no home directory ($_guard_home)"
    fi
  else
    _guard_home="$(user_path "$WS_HOME" "$user")"
    local other
    if [[ -n "$uid" ]] && other="$(getent passwd "$uid" | cut -d: -f1)"; then
      has_marker "$other" || die_refused "uid $uid is already used by $other"
      # The roster renamed a person: an os_user is never renamed in place.
      die_refused "uid $uid is already used by $other, a managed account: an os_user can't be renamed." \
        "To rename $other to $user: move $other to retired: (it keeps uid $uid) and add $user with another uid," \
        "then pulumi up. To carry the files over afterwards, as root:" \
        "cp -a /home/$other/. /home/$user/ && chown -R $user:$user /home/$user"
    fi
    if getent group "$user" >/dev/null; then
      die_refused "a group named $user already exists; useradd would not create the account's own group"
    fi
    if [[ -e "$_guard_home" || -L "$_guard_home" ]]; then
      die_refused "$_guard_home already exists but there is no account $user"
    fi
  fi
}

ensure_group() { # GROUP
  getent group "$1" >/dev/null && return 0
  groupadd -r -- "$1"
  changed "group $1"
}

# ensure_account USER UID HOME: create the account when absent. A new account
# gets a locked password and a 0700 home whatever login.defs says (HOME_MODE,
# then chmod); an existing one is never locked or chmod-ed here.
ensure_account() {
  local user="$1" uid="$2" home="$3"
  if ! getent passwd "$user" >/dev/null; then
    ensure_dir "$WS_ETC" 0755
    ensure_dir "$WS_PENDING_DIR" 0700
    : >"$WS_PENDING_DIR/$user"
    local -a uid_opt=()
    [[ -z "$uid" ]] || uid_opt=(-u "$uid")
    # No subordinate ids from useradd: its own are first come, first served; ensure_subids gives a slot per uid.
    useradd -m -s /bin/zsh -U -G "$WS_MARKER_GROUP" -K HOME_MODE=0700 -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "${uid_opt[@]}" -- "$user"
    changed "account $user"
  fi
  # A creation that was interrupted finishes here: only our own has a pending marker.
  [[ -e "$WS_PENDING_DIR/$user" ]] || return 0
  if [[ ! -d "$home" ]]; then
    mkdir -m 0700 -- "$home"
    cp -a /etc/skel/. "$home/"
    chown -R -- "$user:" "$home"
    changed "$home (from /etc/skel)"
  fi
  passwd -l -- "$user" >/dev/null
  chmod 0700 -- "$home"
  rm -f -- "$WS_PENDING_DIR/$user"
}

# ensure_subids USER: rootless podman's subordinate uid and gid ranges (/etc/subuid,
# /etc/subgid, the record). A person with none gets WS_SUBID_COUNT ids from
# WS_SUBID_BASE + (uid - WS_MIN_UID) * WS_SUBID_COUNT (Rules.SubIdStart): a slot per uid, so
# no two people's ranges meet, and newuidmap lets each map only their own. A range they
# already have (useradd's, on an adopted account) is kept; nothing is ever removed here (userdel,
# at purge, removes them). Someone else's range over the slot refuses the step, naming it.
ensure_subids() {
  local user="$1" uid start end file name s c
  uid="$(id -u -- "$user")"
  if ((uid < WS_MIN_UID || uid > WS_MAX_UID)); then
    warn "$user: uid $uid is outside $WS_MIN_UID-$WS_MAX_UID, so no subordinate ids (rootless podman): pin a uid in the roster"
    return 0
  fi
  start=$((WS_SUBID_BASE + (uid - WS_MIN_UID) * WS_SUBID_COUNT))
  end=$((start + WS_SUBID_COUNT - 1))
  local -a add=() where=()
  grep -qE "^($user|$uid):" /etc/subuid 2>/dev/null || { add+=(--add-subuids "$start-$end"); where+=(/etc/subuid); }
  grep -qE "^($user|$uid):" /etc/subgid 2>/dev/null || { add+=(--add-subgids "$start-$end"); where+=(/etc/subgid); }
  ((${#add[@]})) || return 0
  for file in /etc/subuid /etc/subgid; do
    [[ -f "$file" ]] || continue
    while IFS=: read -r name s c; do
      [[ "$name" != "$user" && "$name" != "$uid" && "$s" =~ ^[0-9]+$ && "$c" =~ ^[0-9]+$ ]] || continue
      ((s > end || s + c - 1 < start)) ||
        die_refused "$user: $file gives $name $s-$((s + c - 1)), over $user's subordinate ids $start-$end; nothing was added for $user (fix $file by hand)"
    done <"$file"
  done
  usermod "${add[@]}" -- "$user"
  changed "$user: subordinate ids $start-$end in ${where[*]}"
}

ensure_adopted() { # USER
  has_marker "$1" && return 0
  gpasswd -a "$1" "$WS_MARKER_GROUP" >/dev/null
  changed "adopted $1 (group $WS_MARKER_GROUP)"
}

# ensure_groups USER GROUP...: each group exists and has USER; none is removed.
ensure_groups() {
  local user="$1" g
  shift
  for g in "$@"; do
    ensure_group "$g"
    in_group "$user" "$g" && continue
    gpasswd -a "$user" "$g" >/dev/null
    changed "$user added to group $g"
  done
}

# ensure_revoked USER GROUP...: the roster's explicit revoke_groups, the only
# way a group is ever taken away.
ensure_revoked() {
  local user="$1" g
  shift
  for g in "$@"; do
    in_group "$user" "$g" || continue
    gpasswd -d "$user" "$g" >/dev/null
    changed "$user removed from group $g (revoke_groups)"
  done
}

# lost_gids USER: "GID GROUP" for each privileged group (privileged_groups)
# that exists and that the account does not hold (any more): what none of the
# person's processes may still carry.
lost_gids() {
  local user="$1" g gid held
  held="$(held_groups "$user")"
  while IFS= read -r g; do
    [[ -n "$g" ]] || continue
    gid="$(getent group "$g")" || continue
    gid="${gid#*:*:}"
    gid="${gid%%:*}"
    [[ "$gid" =~ ^[0-9]+$ ]] || continue
    [[ "$held" == *" $g "* ]] || printf '%s %s\n' "$gid" "$g"
  done < <(privileged_groups)
}

# ensure_groups_released USER: a group taken away (revoke_groups, or by hand)
# is gone from running processes too: /etc/group is read only at login, and a
# process holding the docker gid is root. Each of the person's units whose
# main process still holds a lost privileged group is restarted at once: a
# security change does not wait for the idle gate (the restart is the revoke;
# the person may lose a terminal mid-sentence). Then every other process of
# theirs still holding one (an SSH session, tmux, their user manager, one in
# a user namespace) is ended.
ensure_groups_released() {
  local user="$1" gid g unit main restarted=0
  local -a gids=() names=()
  while read -r gid g; do
    gids+=("$gid")
    names+=("$g")
  done < <(lost_gids "$user")
  ((${#gids[@]})) || return 0
  local holders
  holders=" $(person_procs "$user" "${gids[@]}" | awk '{ print $1 }' | paste -sd' ') "
  [[ "$holders" != "  " ]] || return 0
  while IFS= read -r unit; do
    [[ "$unit" == *.service ]] || continue
    systemctl is-active --quiet -- "$unit" || continue
    main="$(systemctl show -p MainPID --value -- "$unit" 2>/dev/null || true)"
    [[ "$main" =~ ^[1-9][0-9]*$ && "$holders" == *" $main "* ]] || continue
    timeout 30 systemctl restart -- "$unit"
    changed "restarted $unit at once: it held group ${names[*]}, which $user no longer has"
    if [[ -f "$WS_RESTART_PENDING_DIR/$unit" ]]; then
      remove_file "$WS_RESTART_PENDING_DIR/$unit"
      restarted=1
    fi
  done < <(user_units "$user")
  # A pending restart just done: its old port leaves the firewall.
  ((!restarted)) || firewall_apply
  end_processes "$user" "${gids[@]}" ||
    warn "drift: processes of $user still hold group ${names[*]}: $(person_procs "$user" "${gids[@]}" | awk '{ print $1 }' | paste -sd' ')"
}

# ensure_private_home USER HOME: the roster's explicit private_home: 0700.
ensure_private_home() {
  local mode
  mode="$(stat -c '%a' -- "$2")"
  [[ "$mode" != 700 ]] || return 0
  chmod 0700 -- "$2"
  changed "$2: mode $mode -> 700 (private_home)"
}

# ensure_resumed USER: undo what suspend did, as recorded in $WS_SUSPENDED_DIR/USER.
ensure_resumed() {
  local user="$1" file="$WS_SUSPENDED_DIR/$1" prior_lock="" prior_expire=""
  is_suspended "$user" || return 0
  read_suspension_record "$user" prior_lock prior_expire
  if [[ "$(expiry_days "$user")" != "$prior_expire" ]]; then
    if [[ -z "$prior_expire" ]]; then
      usermod -e '' -- "$user"
    else
      [[ "$prior_expire" =~ ^[0-9]+$ ]] || die "$file: bad $WS_SUSPENSION_EXPIRE"
      usermod -e "$(date -u -d "@$((prior_expire * 86400))" +%F)" -- "$user"
    fi
    changed "$user: account expiry restored"
  fi
  if [[ "$prior_lock" == P && "$(lock_status "$user")" == L ]]; then
    usermod -U -- "$user"
    changed "$user: password unlocked (it was usable before the suspension)"
  fi
  ensure_jobs_restored "$user"
  rm -f -- "$file"
  changed "$user resumed"
}

# move_job SRC DST: a job file moved by hard link (same filesystem: never read,
# whatever its size), its owner and mode kept; a symlink or other non-file is left.
move_job() {
  [[ -f "$1" && ! -L "$1" ]] || return 1
  ln -- "$1" "$2" && rm -f -- "$1"
}

# move_crontab SRC DST WARNING: a crontab at SRC moved to DST (move_job), unless something is
# at DST already: then WARNING, and SRC stays. Fails when nothing moved.
move_crontab() {
  [[ -f "$1" ]] || return 1
  if [[ -e "$2" ]]; then
    warn "$3"
    return 1
  fi
  move_job "$1" "$2"
}

# ensure_jobs_aside USER: the person's crontab and at jobs out of cron's and
# atd's reach, into a root-only folder, for resume to put back. (Both also
# refuse an expired account's jobs; this holds when their PAM does not ask.)
ensure_jobs_aside() {
  local user="$1" uid dir f n=0
  uid="$(id -u -- "$user")"
  dir="$WS_JOBS_ASIDE/$user"
  [[ -f "$WS_CRONTABS/$user" || -d "$WS_ATJOBS" ]] || return 0
  ensure_dir "$WS_JOBS_ASIDE" 0700
  ensure_dir "$dir" 0700
  move_crontab "$WS_CRONTABS/$user" "$dir/crontab" \
    "$dir/crontab exists already: $user's crontab is left in place (cron refuses an expired account's jobs)" && n=$((n + 1))
  if [[ -d "$WS_ATJOBS" ]]; then
    ensure_dir "$dir/atjobs" 0700
    while IFS= read -r -d '' f; do
      [[ ! -e "$dir/atjobs/${f##*/}" ]] || continue
      move_job "$f" "$dir/atjobs/${f##*/}" && n=$((n + 1))
    done < <(find "$WS_ATJOBS" -mindepth 1 -maxdepth 1 -type f -uid "$uid" -print0 2>/dev/null)
  fi
  ((n == 0)) || changed "$user: $n cron or at job(s) put aside in $dir until resume"
}

# ensure_jobs_restored USER: what ensure_jobs_aside put aside, back in the
# spools (a crontab made meanwhile is kept, and the old one stays aside).
ensure_jobs_restored() {
  local user="$1" dir f n=0
  dir="$WS_JOBS_ASIDE/$user"
  [[ -d "$dir" && ! -L "$dir" ]] || return 0
  move_crontab "$dir/crontab" "$WS_CRONTABS/$user" \
    "$user has a new crontab; the one from before the suspension stays in $dir/crontab" && n=$((n + 1))
  if [[ -d "$dir/atjobs" ]]; then
    for f in "$dir"/atjobs/*; do
      [[ -f "$f" && ! -e "$WS_ATJOBS/${f##*/}" ]] || continue
      move_job "$f" "$WS_ATJOBS/${f##*/}" && n=$((n + 1))
    done
    rmdir --ignore-fail-on-non-empty -- "$dir/atjobs"
  fi
  rmdir --ignore-fail-on-non-empty -- "$dir"
  ((n == 0)) || changed "$user: $n cron or at job(s) back from $dir"
}

# --- the cut (user suspend) --------------------------------------------------------

# record_suspension USER: the prior lock state and expiry, for resume; only
# when there is no record yet, so a re-run does not record its own lock.
record_suspension() {
  is_suspended "$1" && return 0
  ensure_dir "$WS_ETC" 0755
  write_suspension_record "$1" "$(lock_status "$1")" "$(expiry_days "$1")"
}

ensure_locked() { # USER
  if [[ "$(lock_status "$1")" != L ]]; then
    passwd -l -- "$1" >/dev/null
    changed "$1: password locked"
  fi
  if [[ "$(expiry_days "$1")" != 1 ]]; then
    usermod --expiredate 1 -- "$1"
    changed "$1: account expired"
  fi
}

# live_pids UID: the user's processes that are still alive (zombies are dead).
live_pids() {
  ps -U "$1" -o pid=,stat= 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }' | paste -sd' ' || true
}

# subid_ranges USER UID FILE: "START COUNT" for each range FILE (/etc/subuid or /etc/subgid)
# gives USER, by name or UID. Only ranges wholly above 65535: a hand-written one over system
# or login ids is nobody's to sweep. One awk, whatever the number of lines.
subid_ranges() {
  [[ -f "$3" ]] || return 0
  # Printed as the digits without leading zeros: awk's own number formats stop at 2^31 or 6 digits.
  awk -F: -v user="$1" -v uid="$2" '
    function digits(s) { sub(/^0+/, "", s); return s }
    NF == 3 && ($1 == user || $1 == uid) && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ &&
      length($2) <= 10 && length($3) <= 10 && $2 + 0 > 65535 && $3 + 0 > 0 { print digits($2), digits($3) }' "$3"
}

# person_procs USER [GID...]: "PID RUID SUID" for each live process that is the
# person's: one of its uids (real, effective, saved, filesystem) is theirs or
# in their subordinate uids, or one of its gids is in their subordinate gids.
# Inside a user namespace a person can run, or make a setuid binary, as a
# subordinate id, which kill(-1) as them can't reach. With GIDs, only those of
# the person's processes that hold one of them (as a gid or a supplementary
# group). One pass over /proc, in two processes whatever the process count.
person_procs() {
  local user="$1" uid ur gr
  shift
  uid="$(id -u -- "$user")"
  ur="$(subid_ranges "$user" "$uid" /etc/subuid | paste -sd' ')"
  gr="$(subid_ranges "$user" "$uid" /etc/subgid | paste -sd' ')"
  grep -s -E '^(State|Uid|Gid|Groups):' /proc/[0-9]*/status 2>/dev/null |
    awk -v uid="$uid" -v ur="$ur" -v gr="$gr" -v want=" $* " -v self="$BASHPID" '
      function inr(x, r,   n, a, i) {
        n = split(r, a, " ")
        for (i = 1; i < n; i += 2) if (x + 0 >= a[i] + 0 && x + 0 < a[i] + a[i + 1]) return 1
        return 0
      }
      function done_pid(   ok, held, i) {
        if (pid == "" || pid == self || state == "Z") return
        ok = 0
        for (i = 2; i <= 5; i++) if (u[i] == uid || inr(u[i], ur)) ok = 1
        for (i = 2; i <= 5; i++) if (inr(g[i], gr)) ok = 1
        if (!ok) return
        if (want != "  ") {
          held = 0
          for (i = 2; i <= 5; i++) if (index(want, " " g[i] " ")) held = 1
          for (i = 1; i <= ng; i++) if (index(want, " " gs[i] " ")) held = 1
          if (!held) return
        }
        print pid, u[2], u[4]
      }
      {
        # $1 is /proc/PID/status:KEY:
        split($1, p, "/")
        split(p[4], k, ":")
        key = k[2]
        if (p[3] != pid) { done_pid(); pid = p[3]; state = ""; ng = 0; split("", u); split("", g); split("", gs) }
        if (key == "State") state = $2
        else if (key == "Uid") for (i = 2; i <= 5; i++) u[i] = $i
        else if (key == "Gid") for (i = 2; i <= 5; i++) g[i] = $i
        else if (key == "Groups") { ng = 0; for (i = 2; i <= NF; i++) gs[++ng] = $i }
      }
      END { done_pid() }' || true
}

# end_processes USER [GID...]: SIGKILL every process of the person's
# (person_procs; with GIDs, only those holding one of them). Each round first
# sends kill(-1) as each uid they run under: it reaches exactly what that uid
# could signal (its own), in one atomic sweep, so a forking job cannot outrun
# it; then by pid what remains (a process only a subordinate gid names).
# setpriv, not runuser: no PAM, so it works on the expired account. Never for
# a uid below WS_MIN_UID. Returns non-zero when a process is still alive
# 5 seconds later.
end_processes() {
  local user="$1" uid i pid ruid suid u ended=0
  shift
  uid="$(id -u -- "$user")"
  if ((uid < WS_MIN_UID)); then
    warn "$user has uid $uid (< $WS_MIN_UID): its processes are left alone"
    return 0
  fi
  local -a pids
  local -A uids
  for ((i = 0; i < 50; i++)); do
    pids=()
    uids=()
    while read -r pid ruid suid; do
      pids+=("$pid")
      for u in "$ruid" "$suid"; do
        ((u < WS_MIN_UID)) || uids[$u]=1
      done
    done < <(person_procs "$user" "$@")
    ((${#pids[@]})) || break
    ended=1
    # With GIDs, only the processes named (another of the person's may be innocent).
    if (($# == 0)); then
      # Bounded: a person with more uids than this in play is swept by pid below.
      for u in $(printf '%s\n' "${!uids[@]}" | head -n 64); do
        setpriv --reuid "$u" --regid "$u" --clear-groups -- kill -KILL -1 2>/dev/null || true
      done
    fi
    kill -KILL -- "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  if ((ended)); then
    if (($#)); then
      changed "$user: ended every process of theirs still holding gid $*"
    else
      changed "$user: ended every process running as $user or as one of their subordinate ids"
    fi
  fi
  [[ -z "$(person_procs "$user" "$@")" ]]
}

# stop_logins USER: the person's login sessions and user manager, once their
# processes are dead: whatever is left in their slices (a root helper of a
# session, such as sshd's own half) is killed, then the slices are stopped,
# each bounded. A later login is refused (the account is expired).
stop_logins() {
  local user="$1" uid slice stopped=0
  uid="$(id -u -- "$user")"
  for slice in "user-$uid.slice" "workstation-$user.slice"; do
    systemctl is-active --quiet -- "$slice" 2>/dev/null || continue
    # The admin cut by hand from their own session: killing the slice would
    # kill this run; the sweeps end their processes, the rest goes at logout.
    if grep -q "/$slice/" "/proc/$BASHPID/cgroup" 2>/dev/null; then
      warn "this run is in $slice: $user's sessions are left to the sweeps of their processes"
      continue
    fi
    timeout 10 systemctl kill --signal=SIGKILL -- "$slice" 2>/dev/null || true
    timeout 20 systemctl stop -- "$slice" 2>/dev/null || warn "$slice did not stop within 20s"
    stopped=1
  done
  ((!stopped)) || changed "$user: stopped their login sessions and user manager"
}

# --- drift: what an account holds beyond its tier ----------------------------------

# privileged_groups: the built-in list (rules.sh) and the site's own.
privileged_groups() {
  local extra
  extra="$(site_get PRIVILEGED_GROUPS)"
  # shellcheck disable=SC2086 # word lists, one group per word
  printf '%s\n' $WS_PRIVILEGED_GROUPS ${extra//,/ } | sort -u
}

# drift_lines USER HOME GRANTED...: one line per drift, "KIND VALUE DETAIL":
#   privileged-group GROUP  held, not granted by the tier (fix: revoke_groups);
#   home-mode MODE          the home is open to others (fix: private_home);
#   stale-group GROUP       a process of theirs still holds a privileged group
#                           the account no longer has (fix: the account step ends it).
drift_lines() {
  stale_group_lines "$1"
  account_drift_lines "$@"
}

# stale_group_lines USER: drift_lines' stale-group lines.
stale_group_lines() {
  local user="$1" line gid g n
  local -a lost=()
  mapfile -t lost < <(lost_gids "$user")
  # One pass over the processes for all the lost groups; group by group only when one is held.
  if ((${#lost[@]})) && [[ -n "$(person_procs "$user" "${lost[@]%% *}")" ]]; then
    for line in "${lost[@]}"; do
      read -r gid g <<<"$line"
      n="$(person_procs "$user" "$gid" | wc -l)"
      ((n == 0)) ||
        echo "stale-group $g $n running process(es) of $user still hold group $g, which the account no longer has (fix: workstation user account apply $user ends them)"
    done
  fi
}

# account_drift_lines USER HOME GRANTED...: drift_lines' privileged-group and home-mode lines.
account_drift_lines() {
  local user="$1" home="$2" g mode group held
  shift 2
  local granted=" $* "
  held="$(held_groups "$user")"
  while IFS= read -r g; do
    [[ -n "$g" && "$granted" != *" $g "* ]] || continue
    if [[ "$held" == *" $g "* ]]; then
      echo "privileged-group $g holds privileged group $g, which its tier does not grant (fix: revoke_groups: [$g])"
    fi
  done < <(privileged_groups)
  [[ -d "$home" ]] || return 0
  read -r mode group < <(stat -c '%a %G' -- "$home")
  # Others may read or enter it; or a group other than the user's own may.
  if (((8#$mode & 8#007) != 0)) || { (((8#$mode & 8#070) != 0)) && [[ "$group" != "$user" ]]; }; then
    echo "home-mode $mode home $home is mode $mode (group $group): other accounts can read or enter it (fix: private_home: true)"
  fi
}

# report_drift USER HOME GRANTED...: a warning per drift that apply leaves as it is (a
# privileged group, the home's mode: apply never fixes those implicitly). Stale groups are not
# reported here: the same step ends them (ensure_groups_released), in its one pass over the processes.
report_drift() {
  local _kind _value detail
  while read -r _kind _value detail; do
    warn "drift: $1 $detail"
  done < <(account_drift_lines "$@")
}

# --- purged uids: never given to a new account (issue 24 §8) -------------------------

# purged_uids: "UID USER" for each purge record ($WS_PURGED_DIR/USER, root's, 0600).
purged_uids() {
  local f uid
  for f in "$WS_PURGED_DIR"/*; do
    [[ -f "$f" && ! -L "$f" ]] || continue
    uid="$(sed -n 's/^UID=\([0-9][0-9]*\)$/\1/p' -- "$f" | head -n 1)"
    [[ -z "$uid" ]] || printf '%s %s\n' "$uid" "$(basename -- "$f")"
  done
}

# ensure_uid_not_purged USER UID: a new account never takes a purged person's uid (files of
# theirs left outside the home, in archives or other systems, would become the newcomer's).
# The purged person themselves comes back with `user restore`, which keeps the record.
ensure_uid_not_purged() {
  local user="$1" uid="$2" puid puser
  [[ -n "$uid" ]] || return 0
  ! getent passwd "$user" >/dev/null || return 0
  while read -r puid puser; do
    [[ "$puid" == "$uid" ]] || continue
    [[ "$puser" != "$user" ]] ||
      die_refused "uid $uid is $user's, who was purged ($WS_PURGED_DIR/$user): bring them back with 'workstation user restore $user --from ARCHIVE', not as a new account"
    die_refused "uid $uid belonged to $puser, who was purged ($WS_PURGED_DIR/$puser): a purged uid is never reused; pin another uid in the roster"
  done < <(purged_uids)
}

# unpurged_uid: the uid for a new account the roster pins none for: what useradd picks (one
# above the highest in use, WS_MIN_UID..WS_MAX_UID), counting purged uids as in use. Run under
# the accounts lock.
unpurged_uid() {
  local top=$((WS_MIN_UID - 1)) u
  while read -r u; do
    [[ "$u" =~ ^[0-9]+$ ]] || continue
    ((u < WS_MIN_UID || u > WS_MAX_UID || u <= top)) || top="$u"
  done < <(
    getent passwd | cut -d: -f3
    purged_uids | cut -d' ' -f1
  )
  ((top < WS_MAX_UID)) || die_refused "no uid above $top is free in $WS_MIN_UID-$WS_MAX_UID: pin one in the roster (uid:)"
  echo "$((top + 1))"
}

# --- another stack's bindings of a person -------------------------------------------
#
# The RoleBindings and ClusterRoleBindings another stack made for a person (the
# roster's external_bindings and cluster_bindings). Workstation never deletes them;
# the account step records their names so `user status` keeps naming them after the
# cut, until the roster drops them (the next account apply rewrites the record) or
# the purge. Only names, but root's: 0600 in a 0700 folder.
readonly WS_BINDINGS_DIR="$WS_ETC/bindings"
bindings_file() { printf '%s/%s' "$WS_BINDINGS_DIR" "$1"; }

# ensure_bindings_record USER LINE...: each LINE "RoleBinding NAMESPACE NAME" or
# "ClusterRoleBinding NAME"; none: no record.
ensure_bindings_record() {
  local user="$1"
  shift
  if (($# == 0)); then
    remove_file "$(bindings_file "$user")"
    return 0
  fi
  ensure_dir "$WS_BINDINGS_DIR" 0700
  write_if_changed "$(bindings_file "$user")" 0600 root:root "$(printf '%s\n' "$@")"$'\n'
}

# bindings_json USER: the record as a JSON list of {kind, namespace?, name}; lines
# that are not a binding (a hand edit) are left out.
bindings_json() {
  local f
  f="$(bindings_file "$1")"
  if [[ ! -f "$f" ]]; then
    echo '[]'
    return 0
  fi
  jq -R -s -c 'split("\n") | map(split(" ") |
    if length == 3 and .[0] == "RoleBinding" then {kind: .[0], namespace: .[1], name: .[2]}
    elif length == 2 and .[0] == "ClusterRoleBinding" then {kind: .[0], name: .[1]}
    else empty end)' "$f"
}
