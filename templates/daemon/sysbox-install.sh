# Sysbox {{ sysbox_version }} on {{ where }} (recipes §3.2, §3.3; nestybox/sysbox docs/user-guide/install-package.md).
# Packages exist for Ubuntu/Debian only (amd64, arm64); other distributions build from source.
# Kernel < 5.12 needs shiftfs; shiftfs is recommended below 6.3. systemd must be the init.
# Stop running containers first: the installer restarts Docker.
sudo apt-get install -y ./sysbox-ce_{{ sysbox_version }}-0.linux_amd64.deb
# The installer registers the runtime in /etc/docker/daemon.json:
#   "runtimes": { "{{ v.sysbox_runtime }}": { "path": "/usr/bin/sysbox-runc" } }
# Keep runc as the default runtime and select sysbox per container (--runtime={{ v.sysbox_runtime }}).
sudo systemctl status sysbox --no-pager
docker info --format '{{ "{{" }} json .Runtimes {{ "}}" }}'
