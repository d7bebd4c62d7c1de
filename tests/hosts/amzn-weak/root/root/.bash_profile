# .bash_profile
PATH=$PATH:$HOME/bin:
export PATH
