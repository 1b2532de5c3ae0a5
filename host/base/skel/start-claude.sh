#!/usr/bin/env bash
# start-claude.sh — from /etc/skel (workstation base): Claude in your own clone.
set -euo pipefail
cd "$HOME/code"
exec claude "$@"
