#!/usr/bin/env bash
# The README's quick start in one command, as root: the host layer deployed to the disposable
# devvm of scripts/sandbox.sh through the `sandbox` stack (Pulumi.sandbox.yaml).
#
#   1. the Pulumi CLI pinned in .ci/versions (or newer), else a refusal naming the install command;
#   2. the sandbox, booted unless it already runs;
#   3. a local backend in a folder outside the repo (PULUMI_BACKEND_URL=file://..., so your own
#      `pulumi login` is left alone) and a generated passphrase file (0600) for the stack's secrets;
#   4. the `sandbox` stack; the box's host key and private key; every other key Pulumi requires
#      (the secret ones the sandbox has none of, as ''); Pulumi.yaml's defaults do the rest;
#   5. `pulumi install` and `pulumi up --stack sandbox --yes`.
# It is idempotent: run again on a running sandbox, every step finds its work done and `up`
# changes nothing. A sandbox booted afresh gets fresh stack state (the old one described a box
# that is gone). The secrets are written, encrypted, into Pulumi.sandbox.yaml as `secure:` values
# (with its `encryptionsalt`); `git checkout Pulumi.sandbox.yaml` drops them.
#
# Environment: WORKSTATION_QUICKSTART_HOME (default ~/.local/state/workstation-quickstart: the
# backend and the passphrase), WORKSTATION_CACHE and SANDBOX_SSH_PORT (scripts/sandbox.sh's),
# WORKSTATION_SANDBOX_SCRIPT (default scripts/sandbox.sh; the tests put a stand-in there).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too

readonly STACK=sandbox
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sandbox="${WORKSTATION_SANDBOX_SCRIPT:-$repo_root/scripts/sandbox.sh}"
home="${WORKSTATION_QUICKSTART_HOME:-${HOME:?}/.local/state/workstation-quickstart}"

die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }
log() { printf 'quickstart: %s\n' "$*" >&2; }

[[ $- != *x* ]] || die "refusing to run traced (bash -x would print the passphrase)"

# The pinned version, from the one place it is pinned.
pinned_pulumi() {
  local v
  v="$(sed -n 's/^PULUMI_CLI_VERSION=\([0-9][0-9.]*\)$/\1/p' "$repo_root/.ci/versions")"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die ".ci/versions has no PULUMI_CLI_VERSION=X.Y.Z line"
  printf '%s\n' "$v"
}

ensure_pulumi_cli() {
  local want have install
  want="$(pinned_pulumi)"
  install="curl -fsSL https://get.pulumi.com | sh -s -- --version $want"
  command -v pulumi >/dev/null || die "the Pulumi CLI is missing; install $want with: $install"
  have="$(timeout 30 pulumi version 2>/dev/null)" || die "'pulumi version' failed; install $want with: $install"
  have="${have#v}"
  [[ "$have" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "'pulumi version' said '$have'; install $want with: $install"
  if [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" != "$want" ]]; then
    die "Pulumi CLI $have is older than $want, which this project needs (.ci/versions); install it with: $install"
  fi
}

# A folder of our own outside the repo: the backend's state and the passphrase live there.
ensure_home() {
  home="$(realpath -m -- "$home")"
  case "$home/" in
    "$(realpath -- "$repo_root")/"*) die "WORKSTATION_QUICKSTART_HOME ($home) must be outside the repo" ;;
  esac
  mkdir -p -- "$home/state"
  chmod 700 -- "$home" "$home/state"
}

# The passphrase that encrypts the stack's secrets: generated once, 0600, written atomically.
ensure_passphrase() {
  local file="$home/passphrase" tmp
  if [[ ! -s "$file" ]]; then
    tmp="$(mktemp "$home/.passphrase.XXXXXX")"
    chmod 600 "$tmp"
    head -c 32 /dev/urandom | base64 >"$tmp"
    mv -f -- "$tmp" "$file"
    log "generated the stack's passphrase: $file"
  fi
  [[ -f "$file" && ! -L "$file" && "$(stat -c %a -- "$file")" == 600 ]] || die "$file must be a regular file with mode 0600"
  export PULUMI_BACKEND_URL="file://$home/state" PULUMI_CONFIG_PASSPHRASE_FILE="$file"
  unset PULUMI_CONFIG_PASSPHRASE
}

# Boots the sandbox unless it runs; prints "fresh" when this run booted it.
ensure_sandbox() {
  if "$sandbox" status >/dev/null 2>&1; then
    log "the sandbox is running"
  else
    log "booting the sandbox ($sandbox up)"
    "$sandbox" up >/dev/null || die "'$sandbox up' failed"
    echo fresh
  fi
}

# The box's SSH values from `sandbox.sh env` (KEY=VALUE or KEY='VALUE' lines), never eval'd.
declare -A box=()
read_sandbox_env() {
  local line key value
  while IFS= read -r line; do
    [[ "$line" =~ ^(SANDBOX_[A-Z_]+)=(.*)$ ]] || continue
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    [[ "$value" =~ ^\'(.*)\'$ ]] && value="${BASH_REMATCH[1]}"
    box[$key]="$value"
  done < <("$sandbox" env)
  for key in SANDBOX_SSH_HOST SANDBOX_SSH_PORT SANDBOX_SSH_KEY SANDBOX_HOST_KEY; do
    [[ -n "${box[$key]:-}" ]] || die "'$sandbox env' printed no $key"
  done
  [[ -f "${box[SANDBOX_SSH_KEY]}" ]] || die "the sandbox's key ${box[SANDBOX_SSH_KEY]} is missing"
}

stack_exists() { pulumi stack select --stack "$STACK" --non-interactive >/dev/null 2>&1; }

ensure_stack() { # $1: "fresh" when the sandbox was booted by this run
  if [[ "${1:-}" == fresh ]] && stack_exists; then
    log "a fresh sandbox: the old $STACK stack's state described a box that is gone; starting it anew"
    pulumi stack rm --yes --force --preserve-config --stack "$STACK" >/dev/null
  fi
  pulumi stack select --create --stack "$STACK" >/dev/null
}

main() {
  local booted
  ensure_pulumi_cli
  ensure_home
  ensure_passphrase
  booted="$(ensure_sandbox)"
  read_sandbox_env
  cd "$repo_root"
  ensure_stack "$booted"
  log "the box's address, host key and private key"
  pulumi config set --stack sandbox sshHost "${box[SANDBOX_SSH_HOST]}"
  pulumi config set --stack sandbox sshPort "${box[SANDBOX_SSH_PORT]}"
  pulumi config set --stack sandbox sshHostKey "${box[SANDBOX_HOST_KEY]}"
  pulumi config set --stack sandbox --secret sshPrivateKey <"${box[SANDBOX_SSH_KEY]}"
  log "the secret keys the sandbox has none of: '' (the switched-off layers and backups never read them)"
  pulumi config set --stack sandbox --secret kubeconfig </dev/null
  pulumi config set --stack sandbox --secret vaultToken </dev/null
  pulumi config set --stack sandbox --secret authentikToken </dev/null
  pulumi config set --stack sandbox --secret backupPassword </dev/null
  log "pulumi install (NuGet packages, and the Authentik SDK under sdks/)"
  pulumi install
  pulumi up --stack sandbox --yes --non-interactive

  local admin
  admin="$(sed -n '/^admin:/,/^[^ #]/s/^  os_user: *\([a-z_][a-z0-9_-]*\).*/\1/p' roster.yaml | head -n 1)"
  cat <<EOF

The sandbox runs the host layer of roster.yaml.
  Log in to it as a person:  scripts/sandbox.sh ssh   then   su - ${admin:-OS_USER}   (any os_user of roster.yaml)
  Throw it away:             scripts/sandbox.sh down   (and rm -rf $home for the stack's state)
  Its stack, later:          PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE pulumi preview --stack sandbox
EOF
}

main "$@"
