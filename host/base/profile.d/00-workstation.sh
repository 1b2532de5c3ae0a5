# shellcheck shell=sh
# /etc/profile.d/00-workstation.sh — written by workstation base apply, for every login shell
# (zsh reads it through Debian's /etc/zsh/zprofile). Machine-wide, so no secret and nothing personal.
# The pinned tools (tools.txt) and the npm globals (claude, playwright-mcp) are in /usr/local/bin.
case ":$PATH:" in
  *:/usr/local/bin:*) ;;
  *) PATH="/usr/local/bin:$PATH" ;;
esac
export PATH
# Claude Code moves only with the base step's pin (npm-packages.txt), never per session.
export DISABLE_AUTOUPDATER=1
