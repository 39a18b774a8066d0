#!/bin/sh
# Install Debian's headless-capable Chromium for the browser tests (tests/report/test_browser.py).
# Idempotent: does nothing when /usr/bin/chromium already exists. Needs root (CI runners, containers).
# The tests drive Chromium over the DevTools pipe, so chromedriver/Selenium are not needed.
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
/usr/bin/chromium --version
