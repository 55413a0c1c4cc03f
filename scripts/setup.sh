#!/usr/bin/env bash
# One command to set up and run LoRA Studio on Debian/Ubuntu (and other Linux with the packages).
#   scripts/setup.sh app  [lora-studio options]   install the GUI and launch it
#   scripts/setup.sh test [pytest options]        install everything and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
[ $# -gt 0 ] && shift

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- system packages ---------------------------------------------------------------------------
# The window needs these X/xcb libraries; tests run offscreen and need only the ones Qt loads always.
apt_needed=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3)
if [ "$mode" = app ]; then
  apt_needed+=(libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0
               libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
fi
if [ "$mode" = test ]; then  # the packaging tests build a .run (makeself) and compile the NSIS script
  apt_needed+=(makeself nsis binutils)
fi
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${apt_needed[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      || say "could not install ${missing[*]}; install them with apt-get and run this again"
  fi
fi

# --- a supported Python (3.10 to 3.13) -----------------------------------------------------
python=""
for candidate in "${LORA_STUDIO_PYTHON:-}" python3.12 python3.11 python3.13 python3.10 python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 && \
     "$candidate" -c 'import sys; sys.exit(0 if (3,10) <= sys.version_info[:2] <= (3,13) else 1)' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "LoRA Studio needs Python 3.10 to 3.13 (with venv); none was found. On Debian/Ubuntu: sudo apt-get install python3 python3-venv" >&2
  exit 2
fi

# --- the virtual environment ---------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($python --version)"
  "$python" -m venv .venv || { echo "python3-venv is missing: sudo apt-get install python3-venv" >&2; exit 2; }
fi
req="requirements/$mode.txt"
[ -f "$req" ] || { echo "usage: scripts/setup.sh app|test [options]" >&2; exit 2; }
stamp=".venv/.installed-$mode"
digest=$(cat "$req" pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  say "installing $req into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$req"
  echo "$digest" > "$stamp"
fi

if [ "$mode" = app ]; then
  exec .venv/bin/lora-studio "$@"
else
  export QT_QPA_PLATFORM=offscreen
  exec .venv/bin/python -m pytest "$@"
fi
