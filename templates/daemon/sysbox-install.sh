# Sysbox CE {{ v.sysbox }} on {{ where }}
# (github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/sysbox.md
# "Install sysbox on the runner hosts"). Packages exist for Ubuntu and Debian only, amd64 and arm64
# (docs/arch-compat.md); other distributions build from source. Kernel < 5.12 needs shiftfs, which
# is still recommended below 6.3; systemd must be the init. The installer restarts Docker: pause
# the runner and stop its containers first.
ARCH=$(dpkg --print-architecture)   # amd64 or arm64
case "$ARCH" in amd64|arm64) ;; *) echo "sysbox has no package for $ARCH" >&2; exit 1 ;; esac
PKG="sysbox-ce_{{ v.sysbox }}-0.linux_${ARCH}.deb"
curl -fsSLO "https://downloads.nestybox.com/sysbox/releases/v{{ v.sysbox }}/${PKG}"
# Compare with the SHA-256 listed for this package on
# https://github.com/nestybox/sysbox/releases/tag/v{{ v.sysbox }} before installing:
sha256sum "${PKG}"
echo "<sha256 from the release page>  ${PKG}" | sha256sum -c -
sudo apt-get install -y jq "./${PKG}"
# The installer registers the runtime in /etc/docker/daemon.json:
#   "runtimes": { "{{ v.sysbox_runtime }}": { "path": "/usr/bin/sysbox-runc" } }
# Keep runc as the default runtime and select sysbox per container (--runtime={{ v.sysbox_runtime }}).
systemctl is-active sysbox
docker info --format '{{ "{{" }} json .Runtimes {{ "}}" }}' | grep -q {{ v.sysbox_runtime }}
