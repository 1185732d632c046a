#!/usr/bin/env bash
# Chromium for the browser tests, from Debian's packages (never a downloaded browser build),
# with a colour emoji font: reactions and the picker are emoji, drawn as empty boxes without it.
set -euo pipefail
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if [ -x /usr/bin/chromium ] && [ -f "$EMOJI_FONT" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium or its emoji font is missing and this user cannot install them: run" \
    "'apt-get install chromium fonts-dejavu-core fonts-noto-color-emoji' as root." >&2
  exit 1
fi
echo "Installing Chromium and fonts from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version
