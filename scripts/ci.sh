#!/usr/bin/env bash
# The pipelines' one script (.woodpecker/roster.yaml and .github/workflows/roster.yml call it),
# so their logic is written once.
#
#   scripts/ci.sh pr        validate the roster, post (or update) the roster diff as one PR
#                           comment, run the fast test layers, and `pulumi preview --diff`
#                           when the pipeline holds the credentials
#   scripts/ci.sh deploy    on the main branch, behind the forge's manual approval: pulumi up
#   scripts/ci.sh drift     (scheduled) the devvm's `workstation status --json` against
#                           roster.yaml: exits non-zero listing every drifted fact
#   scripts/ci.sh comment FILE   post FILE as the PR's roster-diff comment, or update the one
#                           posted before (never a second one)
#
# Environment (secrets come only from the forge's secret store, never from the repo):
#   FORGE_API      API base: https://FORGEJO/api/v1 or https://api.github.com
#   FORGE_REPO     owner/name
#   FORGE_PR       the pull request's number
#   FORGE_TOKEN    a token that may comment (secret)
#   BASE_REF       the branch the PR goes into (default main)
#   DEVVM_HOST, DEVVM_HOST_KEY ('TYPE BASE64'), DEVVM_SSH_KEY (secret): for drift
#   PULUMI_STACK   default devvm; preview and deploy run only when PULUMI_CONFIG_PASSPHRASE
#                  (or PULUMI_ACCESS_TOKEN) is set
# The script never prints a secret: it refuses to run traced (bash -x), and the token reaches
# curl in a header file, never in an argument.
set -euo pipefail

readonly MARKER='<!-- workstation-roster-diff -->'
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { printf 'ci: %s\n' "$*" >&2; exit 1; }
log() { printf 'ci: %s\n' "$*" >&2; }

[[ $- != *x* ]] || die "refusing to run traced (bash -x would print secrets)"

need() { # VAR...: set and non-empty
  local v
  for v in "$@"; do [[ -n "${!v:-}" ]] || die "$v is not set (the pipeline sets it from the forge)"; done
}

roster() { dotnet run --project "$repo_root/Roster" --nologo -v q -- "$@"; }

# api METHOD PATH [BODY_FILE]: one forge API call; the response body on stdout.
# A subshell, so its EXIT trap removes the header file (the token) whatever happens.
api() (
  local method="$1" path="$2" body="${3:-}" headers status out
  headers="$(mktemp)"
  out="$(mktemp)"
  trap 'rm -f "$headers" "$out"' EXIT
  chmod 600 "$headers"
  printf 'Authorization: token %s\nAccept: application/json\nContent-Type: application/json\n' "$FORGE_TOKEN" >"$headers"
  local -a args=(--silent --show-error --max-time 30 --request "$method" --header "@$headers" --output "$out" --write-out '%{http_code}')
  [[ -z "$body" ]] || args+=(--data-binary "@$body")
  status="$(curl "${args[@]}" -- "$FORGE_API$path")" || die "$method $path: no answer from the forge"
  [[ "$status" == 2?? ]] || die "$method $path: HTTP $status: $(head -c 300 "$out")"
  cat -- "$out"
)

# comment FILE: the PR's one roster-diff comment carries FILE's text (with the marker).
cmd_comment() (
  local file="$1" body existing
  need FORGE_API FORGE_REPO FORGE_PR FORGE_TOKEN
  [[ "$FORGE_PR" =~ ^[0-9]+$ ]] || die "FORGE_PR must be a number, not '$FORGE_PR'"
  [[ "$FORGE_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "FORGE_REPO must be owner/name"
  body="$(mktemp)"
  trap 'rm -f "$body"' EXIT
  jq -n --rawfile text "$file" --arg marker "$MARKER" '{body: ($marker + "\n" + $text)}' >"$body"
  existing="$(api GET "/repos/$FORGE_REPO/issues/$FORGE_PR/comments?per_page=100" |
    jq -r --arg marker "$MARKER" '[.[] | select(.body | startswith($marker))][0].id // empty')"
  if [[ -n "$existing" ]]; then
    api PATCH "/repos/$FORGE_REPO/issues/comments/$existing" "$body" >/dev/null
    log "updated the roster diff comment ($existing)"
  else
    api POST "/repos/$FORGE_REPO/issues/$FORGE_PR/comments" "$body" >/dev/null
    log "posted the roster diff comment"
  fi
)

has_pulumi_credentials() { [[ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}${PULUMI_ACCESS_TOKEN:-}" ]]; }

cmd_pr() (
  local base="${BASE_REF:-main}" diff
  cd "$repo_root"
  log "validate (and the capacity ceiling of the devvm stack)"
  roster validate roster.yaml --stack "Pulumi.${PULUMI_STACK:-devvm}.yaml"
  log "roster diff against $base"
  git fetch --quiet --depth=1 origin "$base" 2>/dev/null || true
  diff="$(mktemp)"
  trap 'rm -f "$diff"' EXIT
  roster diff "origin/$base:roster.yaml" roster.yaml >"$diff"
  cat -- "$diff"
  if [[ -n "${FORGE_TOKEN:-}" ]]; then cmd_comment "$diff"; else log "no FORGE_TOKEN: the diff is not posted"; fi
  log "the fast test layers"
  WORKSTATION_SKIP_HOST=1 scripts/test.sh
  if has_pulumi_credentials; then
    pulumi preview --stack "${PULUMI_STACK:-devvm}" --diff --non-interactive
  else
    log "no Pulumi credentials here: pulumi preview is skipped (it runs where the pipeline holds them)"
  fi
)

# drift: read the host's report over SSH (a subshell: the key file goes whatever happens).
cmd_drift() (
  need DEVVM_HOST DEVVM_HOST_KEY DEVVM_SSH_KEY
  local dir
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  chmod 700 "$dir"
  printf '%s\n' "$DEVVM_SSH_KEY" >"$dir/key"
  chmod 600 "$dir/key"
  printf '%s %s\n' "$DEVVM_HOST" "$DEVVM_HOST_KEY" >"$dir/known_hosts"
  ssh -i "$dir/key" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" \
    "root@$DEVVM_HOST" /usr/local/lib/workstation/bin/workstation status --json >"$dir/report.json" ||
    die "could not read the devvm's status report"
  cd "$repo_root"
  roster drift "$dir/report.json" roster.yaml
)

cmd_deploy() {
  cd "$repo_root"
  has_pulumi_credentials || die "deploy needs the Pulumi credentials from the forge's secret store"
  roster validate roster.yaml --stack "Pulumi.${PULUMI_STACK:-devvm}.yaml"
  pulumi up --stack "${PULUMI_STACK:-devvm}" --yes --non-interactive
}

case "${1:-}" in
  pr) cmd_pr ;;
  deploy) cmd_deploy ;;
  drift) cmd_drift ;;
  comment)
    (($# == 2)) || die "usage: scripts/ci.sh comment FILE"
    [[ -f "$2" ]] || die "$2: no such file"
    cmd_comment "$2"
    ;;
  *) die "usage: scripts/ci.sh pr | deploy | drift | comment FILE" ;;
esac
