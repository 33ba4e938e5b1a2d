#!/usr/bin/env bash
# Makes headless Chromium and its driver available for the browser test
# (sales/tests/test_browser.py): Debian's `chromium` and `chromium-driver`.
# Installs them with apt-get when running as root; otherwise, or if the install
# fails, says so and returns 0 — the test then skips with the reason.
set -uo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    echo "browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version 2>/dev/null | head -1)"
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "browser: chromium/chromedriver missing and cannot be installed here (needs root and apt-get); the browser test will skip"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 ||
        echo "browser: apt-get could not install chromium chromium-driver; the browser test will skip"
fi
command -v chromium >/dev/null && echo "browser: installed $(chromium --version 2>/dev/null | head -1)"
exit 0
