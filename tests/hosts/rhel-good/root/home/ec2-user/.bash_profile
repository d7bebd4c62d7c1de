# .bash_profile
