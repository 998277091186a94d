#!/usr/bin/env bash
# Installs the Debian packages Perceive's tests and tools use, only when they are missing.
#   kcat                      a Kafka client nobody here wrote (end-to-end producer test)
#   r-base-core r-cran-dslabs ship MovieLens (small); converted at run time, never committed
set -euo pipefail
need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
[ -d /usr/lib/R/site-library/dslabs ] || [ -d /usr/share/R/library/dslabs ] || need+=(r-cran-dslabs)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing missing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
