# shellcheck shell=bash
# cli.sh — the command line, written once: every verb's syntax (the table below), the one
# option parser that reads it, and the usage printed from it (docs/host.md). Sourced by
# bin/workstation after common.sh and validate.sh; the verbs' own checks of what the values
# mean stay with the verbs.
#
# A verb's SYNOPSIS is what the usage shows after `workstation VERB`, and it is also what the
# parser accepts: "--name WORD" is an option with a value, "--name" (followed by another
# option, a closing bracket, or nothing) a switch, and "[--name WORD]..." an option that may
# be given more than once. Its STYLE says how the words that are not options are read, and
# how a wrong one is named (the messages each verb has always given):
#   user   one USER; "--" ends the options; an unknown option names the usage;
#   one    one USER; an unknown option is named alone;
#   opts   no USER: every word is an option; with "once" an option may not come twice, with
#          "hint" an unknown argument names the usage, and with "check=FN" FN RESULT NAME VALUE
#          checks each value as it is read (so the first bad word is the one named);
#   raw    the verb reads its words itself (lists of USER:PORT..., paths, or none).

declare -a WS_VERBS=()
declare -A WS_VERB_STYLE=() WS_VERB_SYNOPSIS=() WS_VERB_NOTE=()

# verb VERB STYLE SYNOPSIS [NOTE...]: one row of the table.
verb() {
  local name="$1" IFS=$'\n'
  WS_VERBS+=("$name")
  WS_VERB_STYLE["$name"]="$2"
  WS_VERB_SYNOPSIS["$name"]="$3"
  shift 3
  WS_VERB_NOTE["$name"]="$*"
}

readonly WS_ACCOUNT_SYNOPSIS="--tier TIER [--uid N] [--groups g1,g2] [--revoke-groups g1,g2] [--private-home] [--adopt] [--kube-auth AUTH] [--external-binding NAMESPACE/ROLEBINDING]... [--cluster-binding NAME]..."
readonly WS_SERVICES_SYNOPSIS="--t3-port N --playwright-port N [--memory-high SIZE --memory-max SIZE | --observe-memory] [--cpu-weight N --tasks-max N]"

verb "site apply" "opts once" "--repo-url URL --oidc-issuer URL --oidc-client-id ID --cluster-name NAME --cluster-server URL --vault-addr URL --admin USER [--t3-command CMD] [--snapshot-url URL] [--edge-user NAME] [--privileged-groups g1,g2] [--restart-idle-minutes N] [--oidc-grant-type device-code|authcode-keyboard] [--oidc-extra-scope SCOPE]"
verb "user account apply" user "USER $WS_ACCOUNT_SYNOPSIS" \
  "(another stack's bindings of the person: recorded, so 'user status' names them after the cut)"
verb "user code apply" user "USER [--repo-token]"
verb "user services apply" user "USER $WS_SERVICES_SYNOPSIS"
verb "user services stop" user "USER"
_names="${WS_SECRETS# }"
verb "user secrets apply" one "USER [--secrets a,b --values-stdin] [--rotate a=N,b=M] [--memory-url URL]" \
  "(the shared secrets, as one JSON object on stdin; names:" \
  " ${_names% })" \
  "(user account, code, services and secrets apply also take a last --host-rev HEX: the hash" \
  " of the host code the step runs, checked and logged)"
verb "user secrets remove" one "USER [--force]" \
  "(every secret the person holds leaves the home; prints the rotation lines)"
verb "user suspend" one "USER [--force]" \
  "(--force: also the admin, whom automation never cuts)"
verb "user apply" user "USER --tier TIER $WS_SERVICES_SYNOPSIS ${WS_ACCOUNT_SYNOPSIS#--tier TIER }" \
  "(the account, code and services steps in one run; for use by hand)"
verb "user purge" one "USER --archive-dir DIR [--uid N]" \
  "(a cut person only: archive the home, check it, then delete the account)"
verb "user restore" one "USER --from ARCHIVE"
verb "user move-out" one "USER --repo URL --password-stdin" \
  "(to another host: the cut, then a final snapshot of the home into URL; prints its id)"
verb "user move-in" one "USER --uid N --snapshot ID --repo URL --password-stdin" \
  "(from another host: the account with the same uid, left cut, and the home from the snapshot)"
verb "user cutover" one "USER"
verb "user cutover rollback" one "USER" \
  "(by hand, idle-gated: from a ~/code link into the admin's tree to an own locked clone, and back)"
verb "user migrate" user "USER $WS_SERVICES_SYNOPSIS"
verb "user migrate rollback" one "USER" \
  "(by hand, idle-gated: a hand-made per-user playwright unit gives way to the system instance, and back)"
verb "user status" one "USER [--json]"
verb "status" "opts hint" "[--json]" \
  "(every managed person: what the drift check compares with the roster)"
verb "audit" one "USER [--since TIME] [--json]" \
  "(root only: SSH logins, t3 and MCP sessions, sudo and the program's own steps, in time" \
  " order; TIME as journalctl reads it, -7d when not given)"
verb "me" "opts hint" "[--json]" \
  "(a person's own status, as the table of 'user status'; run as themselves, without sudo)"
verb "maps apply" raw "USER:AUTHENTIK_USER:T3_PORT ..."
verb "firewall apply" raw ""
verb "restart pending" raw "" \
  "(restarts each pending unit whose person is idle; the timer runs it)"
verb "firewall check" raw "USER"
verb "base apply" "opts check=base_option_check" "--inputs-sha256 HEX [--swap-size SIZE] [--swappiness N] [--tools-mirror URL|DIR] [--no-pinned-tools] [--no-launcher] [--config-base URL [--config-base-ref REF] [--config-base-hooks]] [--claude-code pinned|if-missing] [--t3-package NAME@X.Y.Z] [--node-exporter loopback|off|ADDRESS:PORT] [--take-over PATH]..."
verb "tools install" "opts hint check=tools_option_check" "[--manifest FILE] [--mirror URL|DIR]" \
  "(the pinned tools of tools.txt, or of FILE; base apply runs it)"
verb "backup apply" opts "--repository REPO --keep-daily N --keep-weekly N --keep-monthly N [--on-calendar SPEC] [--max-file-size SIZE] --password-stdin"
verb "adopt plan" raw "[USER:T3_PORT:PLAYWRIGHT_PORT ...]" \
  "(read-only: what a hand-made setup holds that the first apply would touch)"
verb "adopt record" raw "PATH..."
verb "pressure sample" "opts hint" "[--textfile-dir DIR] [--memory-warn PCT] [--io-warn PCT] [--disk-free-warn PCT]"
verb "backup run" raw ""
verb "backup snapshots" raw ""
verb "backup restore" one "USER --target DIR [--snapshot ID]"
unset -f verb
unset _names

# verb_usage VERB: "workstation VERB SYNOPSIS", as the messages name it.
verb_usage() {
  local line="workstation $1 ${WS_VERB_SYNOPSIS[$1]}"
  printf '%s' "${line% }"
}

# verb_options VERB KINDS: KINDS[--name] = value, switch or repeat, from VERB's synopsis.
verb_options() {
  local -n _kinds="$2"
  local -a words
  local i word next
  read -r -a words <<<"${WS_VERB_SYNOPSIS[$1]}"
  _kinds=()
  for ((i = 0; i < ${#words[@]}; i++)); do
    word="${words[i]##*[}"
    [[ "$word" == --* ]] || continue
    if [[ "$word" == *]* ]]; then
      _kinds["${word%%]*}"]=switch
      continue
    fi
    next="${words[i + 1]:-}"
    next="${next##*[}"
    if [[ -z "$next" || "$next" == --* || "$next" == "|" ]]; then
      _kinds["$word"]=switch
    elif [[ "$next" == *"]..." ]]; then
      _kinds["$word"]=repeat
    else
      _kinds["$word"]=value
    fi
  done
}

# usage_text: the usage, every verb of the table with its notes, long lines wrapped.
usage_text() {
  local v note
  printf 'usage:\n'
  for v in "${WS_VERBS[@]}"; do
    verb_usage "$v" | wrap_usage_line
    [[ -z "${WS_VERB_NOTE[$v]}" ]] || while IFS= read -r note; do printf '      %s\n' "$note"; done <<<"${WS_VERB_NOTE[$v]}"
  done
  printf '\nExit codes: 0 ok, 2 bad arguments, 3 refused by a safety guard (nothing was\n'
  printf 'touched in either case), 1 anything else.\n'
}

# wrap_usage_line: stdin's one line, indented, broken before 100 columns, before an option
# (never between an option and its value; a continued line ends in a backslash and the next
# is indented further).
wrap_usage_line() {
  local -a words units=()
  local word unit line="  "
  read -r -a words || true
  for word in "${words[@]}"; do
    if [[ "$word" == [[-]* || ${#units[@]} -eq 0 ]]; then units+=("$word"); else units[-1]+=" $word"; fi
  done
  for unit in "${units[@]}"; do
    if ((${#line} + ${#unit} > 92)) && [[ "$line" != "  " && "$line" != "    " ]]; then
      printf '%s \\\n' "$line"
      line="    "
    fi
    [[ "$line" == "  " || "$line" == "    " ]] || line+=" "
    line+="$unit"
  done
  printf '%s\n' "$line"
}

# parse_args VERB RESULT ARGS...: ARGS read by VERB's synopsis into the associative array
# RESULT: RESULT[user] (the one USER of a user or one verb), RESULT[--name] for each option
# given (a switch as 1, an option given again replaces the first, a repeated one holds its
# values one per line) and RESULT[order]: the repeated options' "NAME VALUE" lines, in order.
# Bad words exit 2 before anything is touched.
parse_args() {
  local verb="$1" style
  shift
  style="${WS_VERB_STYLE[$verb]}"
  case "$style" in
    user | one) parse_user_style "$verb" "$style" "$@" ;;
    opts*) parse_opts_style "$verb" "$style" "$@" ;;
    *) die "parse_args: $verb reads its own arguments" ;;
  esac
}

# add_value RESULT KIND NAME VALUE: one option's value into RESULT.
add_value() {
  local -n _into="$1"
  if [[ "$2" == repeat ]]; then
    _into["$3"]+="$4"$'\n'
    _into["order"]+="$3 $4"$'\n'
  else
    _into["$3"]="$4"
  fi
}

# parse_user_style VERB STYLE RESULT ARGS...: the verbs of one USER (styles user and one).
parse_user_style() {
  local verb="$1" style="$2" result="$3" usage kind
  local -n _got="$3"
  local -A kinds=()
  shift 3
  usage="$(verb_usage "$verb")"
  verb_options "$verb" kinds
  _got=([user]="" [order]="")
  while (($#)); do
    kind="${kinds[$1]:-}"
    if [[ "$style" == user && "$1" == -- ]]; then
      shift
      break
    elif [[ "$1" == -* && -z "$kind" ]]; then
      [[ "$style" == one ]] || die_usage "unknown option $(describe "$1") (usage: $usage)"
      die_usage "unknown option $(describe "$1")"
    elif [[ "$kind" == switch ]]; then
      _got["$1"]=1
      shift
    elif [[ -n "$kind" ]]; then
      need_value "$@"
      [[ "$style" != user ]] || user_option_check "$result" "$1" "$2"
      add_value "$result" "$kind" "$1" "$2"
      shift 2
    else
      [[ -z "${_got[user]}" || "$style" == one ]] ||
        die_usage "unexpected argument $(describe "$1") (USER is already $(describe "${_got[user]}"))"
      [[ -z "${_got[user]}" ]] || die_usage "unexpected argument $(describe "$1")"
      _got[user]="$1"
      shift
    fi
  done
  (($# == 0)) || die_usage "unexpected argument $(describe "$1")"
  [[ -n "${_got[user]}" ]] || die_usage "usage: $usage"
  valid_os_user "${_got[user]}" "USER"
  # The person this run acts on: named in its journal line (common.sh, journal_step).
  # shellcheck disable=SC2034 # read by common.sh (journal_step)
  WS_PERSON="${_got[user]}"
}

# parse_opts_style VERB STYLE RESULT ARGS...: the verbs of options only (style opts).
parse_opts_style() {
  local verb="$1" style=" $2 " result="$3" kind check=""
  local -n _got="$3"
  local -A kinds=()
  shift 3
  verb_options "$verb" kinds
  [[ "$style" != *" check="* ]] || { check="${style#* check=}"; check="${check%% *}"; }
  _got=([order]="")
  while (($#)); do
    kind="${kinds[$1]:-}"
    if [[ -z "$kind" ]]; then
      [[ "$style" == *" hint "* ]] || die_usage "unknown argument $(describe "$1")"
      die_usage "unknown argument $(describe "$1") (usage: $(verb_usage "$verb"))"
    elif [[ "$kind" == switch ]]; then
      _got["$1"]=1
      shift
    else
      need_value "$@"
      [[ "$style" != *" once "* || -z "${_got[$1]+set}" ]] || die_usage "$1 given twice"
      [[ -z "$check" ]] || "$check" "$result" "$1" "$2"
      add_value "$result" "$kind" "$1" "$2"
      shift 2
    fi
  done
}
