#!/usr/bin/env bash
# Installs the Debian packages matquant needs, if any is missing.
set -euo pipefail
pkgs=(cmake ninja-build g++ lld python3 llvm-22-dev llvm-22-tools libmlir-22-dev
      mlir-22-tools libgtest-dev libeigen3-dev libbenchmark-dev libomp-22-dev
      python3-matplotlib)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "matquant: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
