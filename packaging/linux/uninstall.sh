#!/bin/sh
# Removes this user's LoRA Studio: the app folder this script sits in (~/.local/opt/lora-studio) and the files listed in its
# installed-files.txt (desktop entry, icons, the ~/.local/bin link). Settings, logs and datasets in
# your own folders are kept. `--quiet` prints nothing (used when a newer version replaces this one).
set -eu
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
app_dir=$(cd "$(dirname "$0")" && pwd)
say() { [ "$quiet" = 1 ] || printf '%s\n' "$*"; }

if [ ! -f "$app_dir/.lora-studio-install" ]; then
  echo "$app_dir does not look like a LoRA Studio install (no .lora-studio-install); nothing removed." >&2
  exit 2
fi
if [ -f "$app_dir/installed-files.txt" ]; then
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    if [ -L "$path" ]; then
      # the command link: only if it still points into this install
      case "$(readlink "$path")" in "$app_dir"/*) rm -f "$path" ;; esac
    elif [ -f "$path" ]; then
      rm -f "$path"
      # icon folders left empty (hicolor/<size>/apps, hicolor/<size>) go too
      folder=$(dirname "$path")
      while case "$folder" in */icons/hicolor/*) true ;; *) false ;; esac && rmdir "$folder" 2>/dev/null; do
        folder=$(dirname "$folder")
      done
    fi
  done < "$app_dir/installed-files.txt"
fi
rm -rf "$app_dir"
say "LoRA Studio was removed from $app_dir."
say "Your settings, logs and datasets were kept (LoRA Studio's settings are in ~/.config/lora-studio)."
