# /etc/zsh/zshrc.d/00-workstation.zsh — written by workstation base apply; the ~/.zshrc from
# /etc/skel sources every /etc/zsh/zshrc.d/*.zsh, then the person's own ~/.zshrc.d/*.sh.
# Debian's zsh reads no /etc/profile.d: the machine-wide environment comes in here.
[[ -r /etc/profile.d/00-workstation.sh ]] && emulate sh -c 'source /etc/profile.d/00-workstation.sh'
HISTFILE="$HOME/.zsh_history"
HISTSIZE=50000
SAVEHIST=50000
setopt append_history hist_ignore_dups share_history
bindkey -e
