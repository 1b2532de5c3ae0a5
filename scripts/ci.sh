#!/usr/bin/env bash
# The pipelines' one script (.woodpecker/roster.yaml and .github/workflows/roster.yml call it),
# so their logic is written once.
#
#   scripts/ci.sh pr        validate the roster, run the fast test layers, then, in order: the
#                           pinned .NET SDK and Pulumi CLI (.ci/versions), `pulumi login` to the
#                           self-hosted backend, `pulumi install`, the provider credentials into
#                           the stack's secrets, `pulumi preview --diff`; the roster diff and the
#                           preview's summary go into one PR comment (posted, or updated)
#   scripts/ci.sh deploy    on the main branch, behind the forge's manual approval: the same
#                           steps, then `pulumi up --continue-on-error` (an unreachable devvm
#                           fails its own people's steps; every other host's still run: docs/fleet.md)
#   scripts/ci.sh drift     (scheduled) the devvm's `workstation status --json` against
#                           roster.yaml: exits non-zero listing every drifted fact
#   scripts/ci.sh comment FILE   post FILE as the PR's roster-diff comment, or update the one
#                           posted before (never a second one)
#   scripts/ci.sh cut USER  (manual) the emergency cut, not waiting for review: USER moves to
#                           retired: on a branch of its own, the targeted `pulumi up` of
#                           `roster cut-targets` cuts them (or, when Pulumi can't run, the host's
#                           `workstation user suspend` over SSH), the cut probes are printed, and
#                           the branch goes to the forge as a PR so git catches up
#   scripts/ci.sh review    (scheduled, monthly) `roster access-report` with the devvm's status:
#                           the month's sign-off PR (reviews/YYYY-MM.json, the only file it
#                           touches) and one review issue with the report, opened or updated
#
# Environment (secrets come only from the forge's secret store, never from the repo;
# docs/pipelines.md says which to create, with the least privilege each needs):
#   FORGE_API      API base: https://FORGEJO/api/v1 or https://api.github.com
#   FORGE_REPO     owner/name
#   FORGE_PR       the pull request's number
#   FORGE_TOKEN    a token that may comment (secret)
#   BASE_REF       the branch the PR goes into (default main)
#   PULUMI_STACK   default devvm
#   PULUMI_BACKEND_URL   the self-hosted state: file:///PATH (a runner volume) or s3://BUCKET...
#                  (an S3-compatible store; its keys as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
#   PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE   the stack's passphrase (secret);
#                  Pulumi reads it from the environment, never from an argument
#   WORKSTATION_SSH_KEY, WORKSTATION_KUBECONFIG, WORKSTATION_VAULT_TOKEN,
#   WORKSTATION_AUTHENTIK_TOKEN (secrets): the stack's sshPrivateKey, kubeconfig, vaultToken and
#                  authentikToken, set with `pulumi config set --secret` from stdin
#   WORKSTATION_BACKUP_PASSWORD (secret, optional): backupPassword; unset: '' (no backups)
#   DEVVM_HOST, DEVVM_HOST_KEY ('TYPE BASE64'), DEVVM_SSH_KEY (secret): for drift, cut and review
#   CUT_USER       the person `cut` cuts (the manual job's input)
# The script never prints a secret: it refuses to run traced (bash -x), the forge token reaches
# curl in a header file, and every credential reaches pulumi on stdin or in its environment,
# never in an argument.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too

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

# pinned NAME: its X.Y[.Z] in .ci/versions, the one place the tool versions are pinned.
pinned() {
  local v
  v="$(sed -n "s/^$1=\([0-9][0-9.]*\)\$/\1/p" "$repo_root/.ci/versions")"
  [[ -n "$v" ]] || die ".ci/versions has no $1=X.Y[.Z] line"
  printf '%s\n' "$v"
}

ensure_dotnet() {
  local want have
  want="$(pinned DOTNET_SDK_VERSION)"
  have="$(dotnet --version 2>/dev/null)" || die "the .NET SDK is missing (.ci/versions pins $want)"
  [[ "$have" == "$want".* ]] || die ".NET SDK $have, but .ci/versions pins $want"
}

pulumi_version() {
  local v
  v="$(pulumi version 2>/dev/null)" || return 1
  printf '%s\n' "${v#v}"
}

# The pinned Pulumi CLI: installed (get.pulumi.com, into ~/.pulumi/bin) when missing or another version.
ensure_pulumi() {
  local want have
  want="$(pinned PULUMI_CLI_VERSION)"
  have="$(pulumi_version || true)"
  if [[ "$have" != "$want" ]]; then
    log "Pulumi CLI ${have:-missing}: installing the pinned $want"
    curl -fsSL --max-time 120 https://get.pulumi.com | sh -s -- --version "$want" >&2 ||
      die "could not install Pulumi CLI $want"
    export PATH="$HOME/.pulumi/bin:$PATH"
    have="$(pulumi_version || true)"
  fi
  [[ "$have" == "$want" ]] || die "Pulumi CLI ${have:-missing}, but .ci/versions pins $want"
}

stack_name() {
  local stack="${PULUMI_STACK:-devvm}"
  [[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]] || die "PULUMI_STACK must be a stack name, not '$stack'"
  printf '%s\n' "$stack"
}

# set_secret KEY VAR: $VAR's value becomes the stack's secret KEY, on pulumi's stdin (printf is a
# builtin: the value is in no process's arguments).
set_secret() {
  local key="$1" var="$2"
  printf '%s' "${!var:-}" | pulumi config set --stack "$stack" --secret "$key" >/dev/null ||
    die "could not set the stack's $key from $var"
}

# Everything before a preview or an up, in order: the pinned .NET SDK and Pulumi CLI, the login
# to the self-hosted backend, the passphrase (from the environment), `pulumi install` (the
# Authentik SDK is generated, never committed), the stack, and the provider credentials.
pulumi_session() {
  ensure_dotnet
  ensure_pulumi
  log "Pulumi CLI $(pulumi_version), .NET SDK $(dotnet --version)"
  need PULUMI_BACKEND_URL
  case "$PULUMI_BACKEND_URL" in
    file:///* | s3://*) ;;
    *) die "PULUMI_BACKEND_URL must be file:///PATH (a runner volume) or s3://BUCKET... (an S3-compatible store)" ;;
  esac
  [[ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]] ||
    die "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set (the pipeline sets it from the forge)"
  need WORKSTATION_SSH_KEY WORKSTATION_KUBECONFIG WORKSTATION_VAULT_TOKEN WORKSTATION_AUTHENTIK_TOKEN
  log "pulumi login (the backend named by PULUMI_BACKEND_URL)"
  pulumi login --non-interactive "$PULUMI_BACKEND_URL" >&2
  log "pulumi install"
  pulumi install --non-interactive >&2
  pulumi stack select --create --non-interactive "$stack" >&2
  log "the provider credentials, into the stack's secrets"
  set_secret sshPrivateKey WORKSTATION_SSH_KEY
  set_secret kubeconfig WORKSTATION_KUBECONFIG
  set_secret vaultToken WORKSTATION_VAULT_TOKEN
  set_secret authentikToken WORKSTATION_AUTHENTIK_TOKEN
  set_secret backupPassword WORKSTATION_BACKUP_PASSWORD
}

cmd_pr() (
  local base="${BASE_REF:-main}" stack dir status=0
  stack="$(stack_name)"
  cd "$repo_root"
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  ensure_dotnet
  log "validate (and the capacity ceiling of the $stack stack)"
  roster validate roster.yaml --stack "Pulumi.$stack.yaml"
  log "roster diff against $base"
  git fetch --quiet --depth=1 origin "$base" 2>/dev/null || true
  roster diff "origin/$base:roster.yaml" roster.yaml >"$dir/diff"
  cat -- "$dir/diff"
  log "the fast test layers"
  WORKSTATION_SKIP_HOST=1 scripts/test.sh
  # A subshell: whatever stops the session or the preview, the access diff is still posted. Not
  # in a `||` (that would switch errexit off inside it): set +e around it, set -e within.
  set +e
  (
    set -e
    pulumi_session
    log "pulumi preview --diff --stack $stack"
    pulumi preview --stack "$stack" --diff --non-interactive --color never
  ) >"$dir/preview" 2>&1
  status=$?
  set -e
  cat -- "$dir/preview"
  {
    cat -- "$dir/diff"
    # shellcheck disable=SC2016 # the backticks are Markdown
    printf '\n### `pulumi preview --diff --stack %s`\n\n' "$stack"
    if ((status == 0)); then
      printf '```\n'
      # The summary: from "Resources:" to the end (Pulumi shows secrets as [secret]).
      sed -n '/^Resources:/,$p' "$dir/preview"
      printf '```\n'
    else
      printf 'The preview failed (exit %s): see the pipeline log.\n' "$status"
    fi
  } >"$dir/comment"
  if [[ -n "${FORGE_TOKEN:-}" ]]; then cmd_comment "$dir/comment"; else log "no FORGE_TOKEN: the comment is not posted"; fi
  ((status == 0)) || die "pulumi preview failed (exit $status)"
)

# on_devvm DIR ARG...: `workstation ARG...` on the devvm as root over SSH, with the key and the
# pinned host key written into DIR (the caller's private folder, removed by its trap).
on_devvm() {
  local dir="$1"
  shift
  if [[ ! -f "$dir/key" ]]; then
    (umask 077 && printf '%s\n' "$DEVVM_SSH_KEY" >"$dir/key")
    printf '%s %s\n' "$DEVVM_HOST" "$DEVVM_HOST_KEY" >"$dir/known_hosts"
  fi
  ssh -i "$dir/key" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" -o ConnectTimeout=30 \
    "root@$DEVVM_HOST" /usr/local/lib/workstation/bin/workstation "$@"
}

# drift: read the host's report over SSH (a subshell: the key file goes whatever happens).
cmd_drift() (
  need DEVVM_HOST DEVVM_HOST_KEY DEVVM_SSH_KEY
  local dir
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  chmod 700 "$dir"
  on_devvm "$dir" status --json >"$dir/report.json" ||
    die "could not read the devvm's status report"
  cd "$repo_root"
  roster drift "$dir/report.json" roster.yaml
)

# open_pr BRANCH TITLE BODY_FILE: the forge's PR from BRANCH into BASE_REF (default main), or the
# open one from BRANCH when there is one (its body updated); prints its web address.
open_pr() {
  local branch="$1" title="$2" text="$3" base="${BASE_REF:-main}" req number
  req="$(mktemp)"
  jq -n --arg title "$title" --arg head "$branch" --arg base "$base" --rawfile body "$text" \
    '{title: $title, head: $head, base: $base, body: $body}' >"$req"
  number="$(api GET "/repos/$FORGE_REPO/pulls?state=open&per_page=100" | jq -r --arg b "$branch" '[.[] | select(.head.ref == $b)][0].number // empty')"
  if [[ -n "$number" ]]; then
    api PATCH "/repos/$FORGE_REPO/pulls/$number" "$req" | jq -r '.html_url // .url // empty'
  else
    api POST "/repos/$FORGE_REPO/pulls" "$req" | jq -r '.html_url // .url // empty'
  fi
  rm -f -- "$req"
}

# commit_as_ci MESSAGE: commit what is staged, as the pipeline (the forge's merge will name the reviewer).
commit_as_ci() {
  git -c user.name="workstation-ci" -c user.email="workstation-ci@invalid" -c commit.gpgsign=false commit -q -m "$1"
}

# cut USER: the emergency cut (see the top of this file). Pulumi first: the targeted up of the
# retired roster is the same cut a merged retire runs; the host's own suspend when it can't run.
cmd_cut() (
  local user="$1" stack branch dir status=0 via
  [[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "cut: '$user' is not an os_user"
  need DEVVM_HOST DEVVM_HOST_KEY DEVVM_SSH_KEY FORGE_API FORGE_REPO FORGE_TOKEN
  [[ "$FORGE_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "FORGE_REPO must be owner/name"
  stack="$(stack_name)"
  cd "$repo_root"
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  chmod 700 "$dir"
  ensure_dotnet
  branch="cut/$user-$(date -u +%Y%m%d-%H%M%S)"
  log "the roster edit, on $branch: $user moves to retired:"
  git checkout -q -b "$branch"
  roster retire "$user" roster.yaml >&2
  if ! git diff --quiet -- roster.yaml; then
    git add -- roster.yaml
    commit_as_ci "Emergency cut: retire $user"
  fi
  roster cut-targets "$user" roster.yaml --stack "Pulumi.$stack.yaml" >"$dir/targets"
  set +e
  (
    set -e
    pulumi_session
    local -a targets=()
    local t
    while IFS= read -r t; do targets+=(--target "$t"); done <"$dir/targets"
    log "pulumi up --stack $stack, targeted: the cut of $user (${#targets[@]} targets)"
    pulumi up --stack "$stack" --yes --non-interactive --color never "${targets[@]}"
  ) >&2
  status=$?
  set -e
  if ((status == 0)); then
    via="the targeted pulumi up"
  else
    log "pulumi could not cut $user (exit $status): suspending them on the host over SSH"
    on_devvm "$dir" user suspend "$user" >&2 || die "could not cut $user: pulumi up failed, and so did 'workstation user suspend' over SSH"
    via="'workstation user suspend' over SSH (pulumi up failed, exit $status)"
  fi
  on_devvm "$dir" user status "$user" --json >"$dir/status.json" || die "could not read $user's cut probes from the devvm"
  # The probes, on stdout: what the job shows and the PR says.
  jq -r --arg via "$via" '"cut of \(.user) by \($via): state \(.state), cut at \(.cut_at // "unknown")",
    (.cut // {} | to_entries[] | "  \(.key): \(.value)")' "$dir/status.json" | tee "$dir/probes"
  [[ "$(jq -r '.cut.holds' "$dir/status.json")" == true ]] || log "warning: the cut of $user does not hold on every probe yet (see above)"
  git push -q origin "$branch" >&2 || die "could not push $branch: the cut is done, open the roster PR by hand"
  {
    # shellcheck disable=SC2016 # the backticks are Markdown
    printf 'Emergency cut of `%s` (scripts/ci.sh cut), by %s.\n\n' "$user" "$via"
    printf 'The person is already cut; merging this PR makes the roster in git say so (review it as any retire).\n\n```\n'
    cat -- "$dir/probes"
    printf '```\n'
  } >"$dir/body"
  log "the roster PR: $(open_pr "$branch" "Emergency cut: retire $user" "$dir/body")"
)

# review: the month's access report, from the roster's history and the devvm's status. The
# sign-off PR holds reviews/YYYY-MM.json alone (the next month's --previous, so a rewritten
# history shows); the review issue (one a month, found by its marker) holds the report.
cmd_review() (
  need DEVVM_HOST DEVVM_HOST_KEY DEVVM_SSH_KEY FORGE_API FORGE_REPO FORGE_TOKEN
  [[ "$FORGE_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "FORGE_REPO must be owner/name"
  local month branch file marker dir previous pr number
  month="$(date -u +%Y-%m)"
  branch="review/$month"
  file="reviews/$month.json"
  marker="<!-- workstation-access-review $month -->"
  cd "$repo_root"
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  chmod 700 "$dir"
  ensure_dotnet
  # The evidence is the whole history: a shallow clone would cite the wrong commits.
  [[ "$(git rev-parse --is-shallow-repository)" != true ]] || git fetch --quiet --unshallow origin || die "could not fetch the whole history"
  on_devvm "$dir" status --json >"$dir/devvm.json" || die "could not read the devvm's status report"
  local -a args=(roster.yaml --status "$dir/devvm.json")
  previous=""
  [[ ! -d reviews ]] ||
    previous="$(find reviews -maxdepth 1 -name '20[0-9][0-9]-[01][0-9].json' ! -name "$month.json" | LC_ALL=C sort | tail -n 1)"
  [[ -z "$previous" ]] || args+=(--previous "$previous")
  roster access-report "${args[@]}" --format json >"$dir/report.json"
  roster access-report "${args[@]}" --format md >"$dir/report.md"
  git checkout -q -B "$branch"
  mkdir -p reviews
  cp -- "$dir/report.json" "$file"
  git add -- "$file"
  git diff --cached --quiet || commit_as_ci "Access review $month: the report to sign off"
  git push -q --force origin "$branch" >&2 || die "could not push $branch"
  printf 'Access review %s: the report, from the roster at %s and the devvm'"'"'s status. Sign off: see docs/access-review.md.\n' \
    "$month" "$(git rev-parse --short HEAD~1)" >"$dir/pr"
  pr="$(open_pr "$branch" "Access review $month: sign-off" "$dir/pr")"
  {
    printf '%s\n' "$marker"
    printf 'Sign-off PR: %s (docs/access-review.md says how).\n\n' "$pr"
    # An issue body holds 65,536 characters: the whole report is the PR's file.
    if (($(wc -c <"$dir/report.md") > 60000)); then
      head -c 60000 -- "$dir/report.md"
      printf '\n\n(cut at 60,000 characters: the whole report is %s in the sign-off PR)\n' "$file"
    else
      cat -- "$dir/report.md"
    fi
  } >"$dir/issue.md"
  jq -n --arg title "Access review $month" --rawfile body "$dir/issue.md" '{title: $title, body: $body}' >"$dir/issue.json"
  number="$(api GET "/repos/$FORGE_REPO/issues?state=open&per_page=100" |
    jq -r --arg m "$marker" '[.[] | select((.body // "") | startswith($m))][0].number // empty')"
  if [[ -n "$number" ]]; then
    api PATCH "/repos/$FORGE_REPO/issues/$number" "$dir/issue.json" >/dev/null
    log "updated the review issue #$number"
  else
    number="$(api POST "/repos/$FORGE_REPO/issues" "$dir/issue.json" | jq -r '.number')"
    log "opened the review issue #$number"
  fi
)

cmd_deploy() (
  local stack
  stack="$(stack_name)"
  cd "$repo_root"
  ensure_dotnet
  roster validate roster.yaml --stack "Pulumi.$stack.yaml"
  pulumi_session
  # --continue-on-error (Pulumi 3.114.0, .ci/versions): a failed step skips only what depends on
  # it (pulumi/pulumi pkg/resource/deploy/deployment_executor.go), so one unreachable host of the
  # fleet holds up its own people's steps, never another host's creates, updates or deletes; the
  # up still exits non-zero, and the next one finishes the rest (docs/fleet.md).
  log "pulumi up --stack $stack --continue-on-error"
  pulumi up --stack "$stack" --yes --non-interactive --color never --continue-on-error
)

case "${1:-}" in
  pr) cmd_pr ;;
  deploy) cmd_deploy ;;
  drift) cmd_drift ;;
  comment)
    (($# == 2)) || die "usage: scripts/ci.sh comment FILE"
    [[ -f "$2" ]] || die "$2: no such file"
    cmd_comment "$2"
    ;;
  cut)
    (($# == 2)) || die "usage: scripts/ci.sh cut USER"
    cmd_cut "$2"
    ;;
  review) cmd_review ;;
  *) die "usage: scripts/ci.sh pr | deploy | drift | comment FILE | cut USER | review" ;;
esac
