# Shared definitions for scripts/setup-env.sh and scripts/env-run (sourced, not run).
: "${here:?}"
FEM_ASSB_CACHE=${FEM_ASSB_CACHE:-/var/cache/fem-assb}
FEM_ASSB_PACKAGES="$here/docker/packages.txt"
FEM_ASSB_HASH=$(cat "$FEM_ASSB_PACKAGES" "$here/scripts/setup-env.sh" | sha256sum | cut -c1-16)
FEM_ASSB_ROOT="$FEM_ASSB_CACHE/sid-$FEM_ASSB_HASH"
