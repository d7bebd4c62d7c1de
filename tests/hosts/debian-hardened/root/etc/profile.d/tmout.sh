# idle shell timeout (KISA U-54)
TMOUT=600
readonly TMOUT
export TMOUT
