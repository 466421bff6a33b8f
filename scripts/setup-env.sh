#!/usr/bin/env bash
# Build (or reuse) the Debian sid root file system holding the fem-assb stack.
#
# The root lives outside the clone, in $FEM_ASSB_CACHE (default /var/cache/fem-assb),
# in a folder named after a hash of docker/packages.txt and of this script, so a fresh
# clone on the same machine reuses it and a changed list builds a new one.
# Idempotent: when the root is complete, this returns in well under a second.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env-common.sh
source "$here/scripts/env-common.sh"

die() { echo "make setup: error: $*" >&2; exit 1; }

if [ -f "$FEM_ASSB_ROOT/.complete" ]; then
    echo "fem-assb environment is current: $FEM_ASSB_ROOT"
    exit 0
fi
[ "$(id -u)" = 0 ] || die "building the Debian root file system needs root (debootstrap, chroot, mount). Run as root, or use docker/Dockerfile."

mirror=${FEM_ASSB_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$FEM_ASSB_CACHE" || die "cannot create the cache folder $FEM_ASSB_CACHE; set FEM_ASSB_CACHE to a writable folder."
avail_kb=$(df -Pk "$FEM_ASSB_CACHE" | awk 'NR==2 {print $4}')
[ "$avail_kb" -ge 4000000 ] || die "only $((avail_kb / 1024)) MiB free under $FEM_ASSB_CACHE; the environment needs about 4 GiB. Free space or set FEM_ASSB_CACHE elsewhere."

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "installing debootstrap on the host ..."
    { apt-get update -q && apt-get install -y -q debootstrap; } >/dev/null 2>&1 \
        || die "could not install debootstrap with apt-get: is the Debian package registry reachable?"
fi
command -v unshare >/dev/null || die "unshare (util-linux) is missing on the host."

partial="$FEM_ASSB_ROOT.partial"
rm -rf "$partial"
log="$FEM_ASSB_CACHE/setup-$FEM_ASSB_HASH.log"
: >"$log"
echo "building the fem-assb environment in $FEM_ASSB_ROOT (log: $log) ..."
t0=$(date +%s)
echo "  debootstrap sid ..."
debootstrap --variant=minbase sid "$partial" "$mirror" >>"$log" 2>&1 \
    || die "debootstrap of Debian sid from $mirror failed (no network to the package registry?); see $log"
echo "  installing $(grep -cv '^\s*\(#\|$\)' "$FEM_ASSB_PACKAGES") packages from docker/packages.txt ..."
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^\s*$/d' "$FEM_ASSB_PACKAGES")
cat >"$partial/tmp/install.sh" <<INNER
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get -o Acquire::Check-Valid-Until=false update -q
apt-get -o Acquire::Check-Valid-Until=false install -y -q --no-install-recommends ${pkgs[*]}
apt-get clean
INNER
if ! unshare --mount --propagation private bash -c "
        mount -t proc proc '$partial/proc' && mount --rbind /dev '$partial/dev' &&
        cp /etc/resolv.conf '$partial/etc/resolv.conf' &&
        chroot '$partial' bash /tmp/install.sh" >>"$log" 2>&1; then
    missing=$(grep -oE "Unable to locate package [^ ]+|Package '[^']+' has no installation candidate" "$log" | head -5 || true)
    die "installing the package list failed${missing:+: $missing}; see $log"
fi
rm -f "$partial/tmp/install.sh"
# smoke test: DOLFINx imports inside the new root
unshare --mount --propagation private bash -c "
    mount -t proc proc '$partial/proc' && mount --rbind /dev '$partial/dev' &&
    chroot '$partial' python3 -c 'import dolfinx; print(\"DOLFINx\", dolfinx.__version__)'" >>"$log" 2>&1 \
    || die "DOLFINx does not import in the new environment; see $log"
touch "$partial/.complete"
rm -rf "$FEM_ASSB_ROOT"
mv "$partial" "$FEM_ASSB_ROOT"
echo "fem-assb environment built in $(( $(date +%s) - t0 )) s: $FEM_ASSB_ROOT"
