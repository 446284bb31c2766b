# Sourced by .ci/run: makes headless Chromium available to the browser tests of
# `rotabot demo --web` (cmd/rotabot/web_test.go), from Debian's packages when it
# is missing, with the colour emoji font the page's cards use.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "Chromium: installing Debian's chromium package"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi
echo "Chromium: $(chromium --version 2>/dev/null || echo 'not runnable')"
