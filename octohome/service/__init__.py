"""The running service: the daemon's supervised stages, systemd notify, logs."""
