# .bashrc
alias rm='rm -i'
