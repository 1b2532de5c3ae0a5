# shellcheck shell=bash
# account.sh — the account steps of `user apply` and `user suspend`: the
# account, its groups, lock state and home mode, and the drift report. Each
# ensure_* checks one fact, then acts only when it is not so. Sourced by
# bin/workstation after common.sh and validate.sh.

readonly WS_SUSPENDED_DIR="$WS_ETC/suspended"
readonly WS_PENDING_DIR="$WS_ETC/pending"

# passwd -S status: L (locked), P (usable password), NP (no password).
lock_status() { passwd -S -- "$1" | awk '{print $2}'; }
# Field 8 of /etc/shadow: account expiry in days since the epoch, or empty.
expiry_days() { getent shadow "$1" | cut -d: -f8; }

is_suspended() { [[ -f "$WS_SUSPENDED_DIR/$1" ]]; }

# account_guards USER UID ADOPT: everything that can refuse, decided before
# anything is touched. Sets ACCOUNT_HOME.
account_guards() {
  local user="$1" uid="$2" adopt="$3" entry cur_uid
  if entry="$(getent passwd "$user")"; then
    cur_uid="$(cut -d: -f3 <<<"$entry")"
    ACCOUNT_HOME="$(cut -d: -f6 <<<"$entry")"
    if ! has_marker "$user" && ((!adopt)); then
      die_refused "account $user exists but is not managed (no '$WS_MARKER_GROUP' group); pass --adopt to take it over"
    fi
    if [[ -n "$uid" && "$cur_uid" != "$uid" ]]; then
      die_refused "account $user has uid $cur_uid, the roster pins $uid"
    fi
    if [[ -e "$WS_PENDING_DIR/$user" && ! -e "$ACCOUNT_HOME" ]]; then
      : # our own creation was interrupted inside useradd; finished by ensure_account
    elif [[ "$ACCOUNT_HOME" != /* || ! -d "$ACCOUNT_HOME" ]]; then
      die_refused "account $user has no home directory ($ACCOUNT_HOME)"
    fi
  else
    ACCOUNT_HOME="$(user_path "$WS_HOME" "$user")"
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
    if [[ -e "$ACCOUNT_HOME" || -L "$ACCOUNT_HOME" ]]; then
      die_refused "$ACCOUNT_HOME already exists but there is no account $user"
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
  local user="$1" file="$WS_SUSPENDED_DIR/$1" line prior_lock="" prior_expire=""
  is_suspended "$user" || return 0
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
  rm -f -- "$file"
  changed "$user resumed"
}

# --- the cut (user suspend) --------------------------------------------------------

# record_suspension USER: the prior lock state and expiry, for resume; only
# when there is no record yet, so a re-run does not record its own lock.
record_suspension() {
  is_suspended "$1" && return 0
  ensure_dir "$WS_ETC" 0755
  ensure_dir "$WS_SUSPENDED_DIR" 0700
  write_if_changed "$WS_SUSPENDED_DIR/$1" 0600 root:root \
    "LOCK=$(lock_status "$1")"$'\n'"EXPIRE=$(expiry_days "$1")"$'\n'
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

# end_processes USER: SIGKILL every process of USER's uid. kill(-1) sent as the
# user reaches exactly the processes the user could signal (its own) in one
# atomic sweep, so a forking job cannot outrun it. setpriv, not runuser: no
# PAM, so it works on the expired account. Never for a uid below WS_MIN_UID.
# Returns non-zero when a process is still alive 5 seconds later.
end_processes() {
  local user="$1" uid gid i
  uid="$(id -u -- "$user")"
  gid="$(id -g -- "$user")"
  if ((uid < WS_MIN_UID)); then
    warn "$user has uid $uid (< $WS_MIN_UID): its processes are left alone"
    return 0
  fi
  [[ -n "$(live_pids "$uid")" ]] || return 0
  for ((i = 0; i < 50; i++)); do
    setpriv --reuid "$uid" --regid "$gid" --clear-groups -- kill -KILL -1 2>/dev/null || true
    sleep 0.1
    [[ -n "$(live_pids "$uid")" ]] || break
  done
  changed "$user: ended every process running as $user"
  [[ -z "$(live_pids "$uid")" ]]
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
#   home-mode MODE          the home is open to others (fix: private_home).
drift_lines() {
  local user="$1" home="$2" g mode group
  shift 2
  local granted=" $* "
  while IFS= read -r g; do
    [[ -n "$g" && "$granted" != *" $g "* ]] || continue
    if in_group "$user" "$g"; then
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

# report_drift USER HOME GRANTED...: a warning per drift (apply never fixes it implicitly).
report_drift() {
  local _kind _value detail
  while read -r _kind _value detail; do
    warn "drift: $1 $detail"
  done < <(drift_lines "$@")
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
