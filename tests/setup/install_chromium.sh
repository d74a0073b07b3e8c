#!/usr/bin/env bash
# Test set-up: Debian's headless Chromium for the dashboard browser test
# (tests/python/test_dashboard.py). Installs only when /usr/bin/chromium is missing; needs root
# (CI and the developer machines run as root) and Debian's package registry.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "installing Debian's chromium (headless browser for the dashboard test)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version)"
