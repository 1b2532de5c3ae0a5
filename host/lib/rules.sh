# shellcheck shell=bash
# rules.sh — the roster engine's rules for the host, generated from Roster/Rules.cs,
# Roster/Derive.cs and Roster/HostCommands.cs by `dotnet run --project Roster -- host-rules`.
# Do not edit: a test fails when this file and the C# disagree. Sourced by common.sh.
# shellcheck disable=SC2034 # read by the files that source this one

# Patterns (bash ERE; the engine's, with '$' for the end).
readonly WS_RE_OS_USER='^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$'
readonly WS_RE_ACCOUNT='^[a-z_][a-z0-9_-]{0,31}$'
readonly WS_RE_AUTHENTIK='^[A-Za-z0-9._@-]{1,64}$'
readonly WS_RE_SWAP_SIZE='^[1-9][0-9]{0,3}[MG]$'
readonly WS_RE_HOST_PATH='^(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$'
readonly WS_RE_RESTIC_REPO='^(/[A-Za-z0-9_.@/-]+|(sftp|rest|s3|b2|azure|gs|rclone):[A-Za-z0-9_.@:/?=&%+-]+)$'
readonly WS_RE_ON_CALENDAR='^[A-Za-z0-9*,:./~ -]{1,64}$'
readonly WS_RE_MEMORY_SIZE='^[1-9][0-9]{0,12}[KMGT]?$'
readonly WS_RE_TOOLS_MIRROR='^(https?://[A-Za-z0-9._~:/?=&%+-]+|/[A-Za-z0-9_-][A-Za-z0-9._/-]*)$'
readonly WS_RE_NPM_PIN='^(@[a-z0-9][a-z0-9._-]{0,60}/)?[a-z0-9][a-z0-9._-]{0,100}@[0-9]+[.][0-9]+[.][0-9]+([-+][0-9A-Za-z.-]{1,40})?$'
readonly WS_RE_CONFIG_BASE_REF='^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$'
readonly WS_RE_COMMIT_HASH='^[0-9a-f]{40}$'
readonly WS_RE_NODE_EXPORTER='^(loopback|off|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))$'
readonly WS_RE_DNS1123_LABEL='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
readonly WS_RE_DNS1123_SUBDOMAIN='^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
readonly WS_NODE_EXPORTER_LOOPBACK='127.0.0.1:9100'
readonly WS_RE_PORT='^[1-9][0-9]{3,4}$' WS_RE_UID='^[1-9][0-9]{3,4}$'

# Ranges.
readonly WS_MIN_PORT=1024 WS_MAX_PORT=65535
readonly WS_MIN_UID=1000 WS_MAX_UID=59999
readonly WS_SUBID_BASE=400000000 WS_SUBID_COUNT=65536
readonly WS_MIN_MEMORY=67108864 WS_MAX_MEMORY=17592186044416
readonly WS_MIN_CPU_WEIGHT=1 WS_MAX_CPU_WEIGHT=10000
readonly WS_MIN_TASKS_MAX=16 WS_MAX_TASKS_MAX=4194304
readonly WS_MIN_SWAPPINESS=0 WS_MAX_SWAPPINESS=200
readonly WS_DEFAULT_BACKUP_MAX_FILE_SIZE='4G'
readonly WS_MAX_RESTART_IDLE_MINUTES=1440 WS_DEFAULT_RESTART_IDLE_MINUTES=20
readonly WS_MAX_DNS1123_SUBDOMAIN=253

# Bounds at the cut, in seconds.
readonly WS_UNIT_STOP_GRACE=5 WS_UNSTAGE_TIMEOUT=30

# Names: space-delimited lists, with a space at both ends for " $name " matching.
readonly WS_MARKER_GROUP='workstation'
readonly WS_TIERS=' admin power-user namespace-owner '
readonly WS_ADMIN_TIER='admin'
readonly WS_RESERVED_USERS=' _apt backup bin daemon games gnats irc list lp mail man messagebus news nobody polkitd proxy root sshd sync sys systemd-coredump systemd-network systemd-resolve systemd-timesync uucp workstation www-data '
readonly WS_RESERVED_GROUP_NAMES=' code-shared docker sudo workstation '
readonly WS_PRIVILEGED_GROUPS=' code-shared docker sudo '
readonly WS_SHARED_CODE_GROUP='code-shared'
readonly WS_SECRETS=' beads-key claude-credentials ha-url kube-token memory-key repo-token snapshot-token '
readonly WS_PERSONAL_SECRETS=' kube-token '
readonly WS_OIDC_GRANT_TYPES=' authcode-keyboard device-code '
readonly WS_DEFAULT_OIDC_GRANT_TYPE='device-code'
readonly WS_KUBE_AUTHS=' oidc service-account-token '
readonly WS_KUBE_TOKEN_PATH='.config/workstation/kube-token'
# Where each secret lands: a file relative to the home, or an MCP server in ~/.claude.json.
declare -grA WS_SECRET_FILE=(
  [beads-key]='code/.beads/.beads-credential-key'
  [claude-credentials]='.claude/.credentials.json'
  [kube-token]='.config/workstation/kube-token'
  [repo-token]='.config/workstation/repo-token'
  [snapshot-token]='.config/workstation/snapshot-token'
)
declare -grA WS_SECRET_MCP=(
  [ha-url]='ha'
  [memory-key]='claude_memory'
)

# Per-user names, as printf patterns of the os_user.
readonly WS_USER_UNITS=' playwright-mcp@%s.service playwright-snapshot-refresh@%s.timer t3-serve@%s.service '
readonly WS_PLAYWRIGHT_ENV_FILE='/etc/workstation/playwright-%s.env'
readonly WS_T3_ENV_FILE='/etc/workstation/t3-%s.env'
readonly WS_PLAYWRIGHT_UNIT='playwright-mcp@%s.service' WS_T3_UNIT='t3-serve@%s.service'
readonly WS_SNAPSHOT_TIMER='playwright-snapshot-refresh@%s.timer'
# The variables the env files set, and the t3 command line when site.env has none (the shell expands the port).
readonly WS_PLAYWRIGHT_PORT_KEY='PLAYWRIGHT_PORT' WS_T3_PORT_KEY='T3_PORT'
# shellcheck disable=SC2016 # the shell that runs the command expands it
readonly WS_DEFAULT_T3_COMMAND='t3 serve --host 127.0.0.1 --port ${T3_PORT}'
# The suspension record's fields (account.sh writes and reads it).
readonly WS_SUSPENSION_LOCK='LOCK' WS_SUSPENSION_EXPIRE='EXPIRE'
readonly WS_HOME='/home/%s'
readonly WS_ROOT='/usr/local/lib/workstation'

# The base's shared files, "PATH SOURCE MODE" (SOURCE under WS_ROOT/base); the launcher is written only when owned,
# the node_exporter drop-in only while the stack's nodeExporter is not off.
readonly WS_LAUNCHER='/etc/skel/start-claude.sh' WS_LAUNCHER_NAME='start-claude.sh'
readonly WS_NODE_EXPORTER_DROPIN='/etc/systemd/system/prometheus-node-exporter.service.d/50-workstation.conf'
readonly WS_BASE_SHARED=(
  '/etc/claude-code/managed-settings.json managed-settings.json 0644'
  '/etc/profile.d/00-workstation.sh profile.d/00-workstation.sh 0644'
  '/etc/zsh/zshrc.d/00-workstation.zsh zshrc.d/00-workstation.zsh 0644'
  '/etc/skel/.zshrc skel/zshrc 0644'
  '/etc/skel/.tmux.conf skel/tmux.conf 0644'
  '/etc/skel/start-claude.sh skel/start-claude.sh 0755'
  '/etc/systemd/system/prometheus-node-exporter.service.d/50-workstation.conf node-exporter.conf 0644'
)
readonly WS_UNIT_DIR='/etc/systemd/system'
# The edge's maps (maps apply).
readonly WS_TTYD_MAP='/etc/ttyd-user-map' WS_DISPATCH_DIR='/etc/t3-serve' WS_DISPATCH_JSON='/etc/t3-serve/dispatch.json'

# What the base step's --inputs-sha256 covers, relative to WS_ROOT (folders: every file below).
readonly WS_BASE_INPUTS=' base lib/base.sh lib/configbase.sh lib/pressure.sh lib/swap.sh lib/tools.sh npm-packages.txt packages.txt tools.txt '

# The verbs whose line may end with --host-rev HEX (the hash of the host code the step runs), '|'-delimited.
readonly WS_HOST_REV_VERBS='|user account apply|user code apply|user services apply|user secrets apply|'
