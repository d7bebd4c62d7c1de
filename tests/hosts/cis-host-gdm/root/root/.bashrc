# ~/.bashrc
umask 027
