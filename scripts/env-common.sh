# Shared definitions for scripts/setup-env.sh and scripts/env-run (sourced, not run).
: "${here:?}"
FEM_ASSB_CACHE=${FEM_ASSB_CACHE:-/var/cache/fem-assb}
FEM_ASSB_PACKAGES="$here/docker/packages.txt"
# The hash covers the package list only: editing the scripts never forces a rebuild.
FEM_ASSB_HASH=$(sha256sum <"$FEM_ASSB_PACKAGES" | cut -c1-16)
FEM_ASSB_ROOT="$FEM_ASSB_CACHE/sid-$FEM_ASSB_HASH"
