# appended by the hardening role
GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX audit=1 audit_backlog_limit=8192 apparmor=1 security=apparmor"
