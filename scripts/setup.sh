#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for the ceremony tool: the system packages it talks to
# (SoftHSM, OpenSC's pkcs11-tool, GnuPG, Chromium for the UI tests), then the npm dependencies and
# the build. Safe to run again; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(softhsm2 opensc gnupg chromium opencryptoki sqv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root=(sudo); else as_root=(none); fi
  if [ "${as_root[0]:-}" = none ]; then
    echo "setup: missing system packages: ${missing[*]} (run as root or with sudo to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Electron's binary is downloaded from the internet at install time; air-gapped and CI machines cannot
# reach it. The CLI and the tests do not need it (the renderer is tested in Debian's Chromium).
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "setup: ready"
