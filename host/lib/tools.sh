# shellcheck shell=bash
# tools.sh — tools Debian's archive lacks (tools.txt), each pinned to a version and
# to the sha256 of its release artifact. Every artifact of a run is fetched and
# checked before any is installed: one mismatch refuses the run, naming the tool,
# and installs nothing. The source is upstream (the manifest's URL) or a mirror
# (--tools-mirror: a URL or a local folder laid out as MIRROR/NAME/VERSION/FILE),
# so an offline devvm can be fed. A binary of that name Workstation did not
# install is left alone. Sourced by bin/workstation; base apply runs it.
#
# Manifest lines: NAME VERSION SHA256 URL [MEMBER]. NAME is what lands in
# /usr/local/bin; MEMBER is the file inside a .zip or .tar.gz to install.

readonly WS_TOOLS_MANIFEST="$WS_ROOT/tools.txt"
readonly WS_TOOLS_BIN=/usr/local/bin
readonly WS_TOOLS_RECORDS=/var/lib/workstation/tools
readonly RE_TOOL_NAME='^[a-z][a-z0-9_-]{0,40}$'
readonly RE_TOOL_VERSION='^[0-9][0-9A-Za-z.+-]{0,40}$'
readonly RE_TOOL_URL='^https://[A-Za-z0-9._~:/?=&%+-]+/[A-Za-z0-9._+-]+$'
readonly RE_TOOL_MEMBER='^[A-Za-z0-9_+-][A-Za-z0-9._+-]*(/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)*$'

# The parsed manifest: one entry per tool, "NAME VERSION SHA256 URL MEMBER" (MEMBER may be -).
declare -a WS_TOOLS=()

# read_tools_manifest FILE: every line checked (file:line named), or exit 2.
read_tools_manifest() {
  local file="$1" n=0 line name version sha url member extra
  local -A seen=()
  [[ -f "$file" && -r "$file" ]] || die_usage "tools manifest $(describe "$file"): not a readable file"
  WS_TOOLS=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    line="${line%%#*}"
    [[ "$line" =~ [^[:space:]] ]] || continue
    member="" extra=""
    read -r name version sha url member extra <<<"$line"
    local at="$file:$n"
    [[ -z "$extra" ]] || die_usage "$at: more than NAME VERSION SHA256 URL [MEMBER]"
    [[ "$name" =~ $RE_TOOL_NAME ]] || die_usage "$at: tool name $(describe "$name") must match $RE_TOOL_NAME"
    [[ -z "${seen[$name]:-}" ]] || die_usage "$at: $name is pinned twice"
    seen[$name]=1
    [[ "$version" =~ $RE_TOOL_VERSION ]] || die_usage "$at: $name: version $(describe "$version") must match $RE_TOOL_VERSION"
    [[ "$sha" =~ ^[0-9a-f]{64}$ ]] || die_usage "$at: $name: sha256 $(describe "$sha") is not 64 lowercase hex digits"
    [[ "$url" =~ $RE_TOOL_URL ]] || die_usage "$at: $name: $(describe "$url") is not an https URL of a file"
    [[ -z "$member" || ("$member" =~ $RE_TOOL_MEMBER && "$member" != *..*) ]] ||
      die_usage "$at: $name: archive member $(describe "$member") must be a relative path without '..'"
    [[ -z "$member" || "$url" == *.zip || "$url" == *.tar.gz || "$url" == *.tgz ]] ||
      die_usage "$at: $name: a member is only for a .zip, .tar.gz or .tgz"
    WS_TOOLS+=("$name $version $sha $url ${member:--}")
  done <"$file"
}

valid_tools_mirror() {
  [[ "$1" =~ $WS_RE_TOOLS_MIRROR && "$1" != *..* ]] ||
    die_usage "--tools-mirror $(describe "$1"): an http(s) URL or an absolute folder, like https://mirror.example/tools or /srv/tools"
}

tool_record() { printf '%s/%s' "$WS_TOOLS_RECORDS" "$1"; }

# tool_state NAME SHA256: installed (ours, at this pin, unchanged), ours (another
# pin, or changed since), foreign (a binary we did not install), or absent.
tool_state() {
  local name="$1" sha="$2" bin="$WS_TOOLS_BIN/$1" record pin binsha
  record="$(tool_record "$name")"
  if [[ ! -e "$bin" && ! -L "$bin" ]]; then
    echo absent
  elif [[ ! -f "$record" ]]; then
    echo foreign
  else
    read -r pin binsha <"$record"
    if [[ "$pin" == "$sha" && -f "$bin" && ! -L "$bin" && "$(sha256sum -- "$bin" | cut -d' ' -f1)" == "$binsha" ]]; then
      echo installed
    else
      echo ours
    fi
  fi
}

# fetch_tool SRC DEST: a local file (a mirror folder) or http(s).
fetch_tool() {
  if [[ "$1" == /* ]]; then
    cp -- "$1" "$2"
  else
    curl -fsSL --proto '=https,http' --retry 2 --connect-timeout 20 --max-time 600 -o "$2" -- "$1"
  fi
}

# ensure_tools MANIFEST MIRROR: every tool of MANIFEST installed at its pin.
ensure_tools() {
  local manifest="$1" mirror="${2%/}" entry name version sha url member state src have scratch
  read_tools_manifest "$manifest"
  local -a todo=()
  for entry in "${WS_TOOLS[@]}"; do
    read -r name version sha url member <<<"$entry"
    state="$(tool_state "$name" "$sha")"
    case "$state" in
      installed) ;;
      foreign) warn "$WS_TOOLS_BIN/$name was not installed by Workstation: left alone (remove it to have $name $version installed)" ;;
      *) todo+=("$entry") ;;
    esac
  done
  ((${#todo[@]})) || return 0

  # Leftovers of an interrupted run, then a scratch folder only root can read.
  find /var/tmp -maxdepth 1 -name 'workstation-tools.*' -type d -user root -mmin +60 -exec rm -rf -- {} + 2>/dev/null || true
  scratch="$(mktemp -d /var/tmp/workstation-tools.XXXXXX)"
  for entry in "${todo[@]}"; do
    read -r name version sha url member <<<"$entry"
    if [[ -n "$mirror" ]]; then src="$mirror/$name/$version/${url##*/}"; else src="$url"; fi
    if ! fetch_tool "$src" "$scratch/$name.artifact"; then
      rm -rf -- "$scratch"
      die "tools: could not fetch $name $version from $src; nothing was installed"
    fi
    have="$(sha256sum -- "$scratch/$name.artifact" | cut -d' ' -f1)"
    if [[ "$have" != "$sha" ]]; then
      rm -rf -- "$scratch"
      die_refused "tools: $name $version from $src has sha256 $have, not the pinned $sha: refused; nothing was installed"
    fi
  done
  # Every artifact checked: now install, each atomically.
  for entry in "${todo[@]}"; do
    read -r name version sha url member <<<"$entry"
    local art="$scratch/$name.artifact" out="$scratch/$name.bin"
    if [[ -n "$mirror" ]]; then src="$mirror/$name/$version/${url##*/}"; else src="$url"; fi
    case "$member:$url" in
      -:*) cp -- "$art" "$out" ;;
      *:*.zip) unzip -p -- "$art" "$member" >"$out" ;;
      *) tar -xzOf "$art" -- "$member" >"$out" ;;
    esac
    if [[ ! -s "$out" ]]; then
      rm -rf -- "$scratch"
      die "tools: $name $version: ${member/#-/the artifact} is empty or missing in ${url##*/}"
    fi
    install -m 0755 -o root -g root -- "$out" "$WS_TOOLS_BIN/.$name.ws-tmp"
    mv -f -T -- "$WS_TOOLS_BIN/.$name.ws-tmp" "$WS_TOOLS_BIN/$name"
    ensure_dir "$WS_TOOLS_RECORDS" 0755
    write_if_changed "$(tool_record "$name")" 0644 root:root "$sha $(sha256sum -- "$WS_TOOLS_BIN/$name" | cut -d' ' -f1)"$'\n'
    changed "$WS_TOOLS_BIN/$name $version (sha256 $sha, from $src)"
  done
  rm -rf -- "$scratch"
}

# workstation tools install [--manifest FILE] [--mirror SRC]: what base apply runs
# with tools.txt; by hand, another manifest (the sandbox tests' stand-ins).
cmd_tools_install() {
  local -A args=()
  parse_args "tools install" args "$@"
  require_root
  lock tools
  ensure_tools "${args[--manifest]-$WS_TOOLS_MANIFEST}" "${args[--mirror]:-}"
  log "tools install: done"
}

# tools_option_check RESULT NAME VALUE: --mirror, checked as it is read.
tools_option_check() {
  [[ "$2" != --mirror ]] || valid_tools_mirror "$3"
}
