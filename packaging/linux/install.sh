#!/bin/sh
# LoRA Studio's installer for one user (run by the self-extracting .run archive; no root needed).
# Puts the app in ~/.local/opt/lora-studio (as the .deb uses /opt/lora-studio; ~/.local/share/lora-studio
# is where the app keeps the user's data), a desktop entry and icons beside the other applications
# of this user (${XDG_DATA_HOME:-~/.local/share}), a `lora-studio` command in ~/.local/bin, and an
# uninstaller.
# A previous install is replaced; settings and datasets (in the user's folders) are left alone.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
version=$(cat "$here/VERSION")
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
bin_home=$HOME/.local/bin
app_dir=$HOME/.local/opt/lora-studio
exe=$app_dir/lora-studio
say() { printf '%s\n' "$*"; }

case "$data_home" in /*) ;; *) data_home=$HOME/.local/share ;; esac  # a relative one is invalid (XDG)
case "$app_dir" in
  /*) ;;
  *) say "HOME is not an absolute path ($HOME); cannot install." >&2; exit 2 ;;
esac

# Replace an earlier install by its own uninstaller (it removes exactly what it installed).
if [ -f "$app_dir/.lora-studio-install" ] && [ -x "$app_dir/uninstall.sh" ]; then
  say "Removing the LoRA Studio already installed in $app_dir"
  "$app_dir/uninstall.sh" --quiet
elif [ -e "$app_dir" ]; then
  say "$app_dir exists and was not made by this installer; move it away and run this again." >&2
  exit 2
fi

say "Installing LoRA Studio $version into $app_dir"
mkdir -p "$(dirname "$app_dir")"
staging=$(mktemp -d "$app_dir.install.XXXXXX")
trap 'rm -rf "$staging"' EXIT
cp -R "$here/lora-studio/." "$staging/"
cp "$here/uninstall.sh" "$staging/uninstall.sh"
chmod 755 "$staging/uninstall.sh"
printf '%s\n' "$version" > "$staging/.lora-studio-install"
: > "$staging/installed-files.txt"
mv "$staging" "$app_dir"
trap - EXIT
manifest=$app_dir/installed-files.txt

# Icons (hicolor theme of this user) and the desktop entry.
for size_dir in "$here"/icons/*; do
  size=$(basename "$size_dir")
  mkdir -p "$data_home/icons/hicolor/$size/apps"
  for icon in "$size_dir"/*; do
    cp "$icon" "$data_home/icons/hicolor/$size/apps/"
    printf '%s\n' "$data_home/icons/hicolor/$size/apps/$(basename "$icon")" >> "$manifest"
  done
done
mkdir -p "$data_home/applications"
# Exec is quoted as the Desktop Entry Specification asks (the path may hold spaces): inside the
# quotes \ " ` $ take a backslash, and the value's own escaping doubles every backslash; % is %%.
quoted=$(printf '%s' "$exe" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g' -e 's/%/%%/g')
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec="%s"\n' "$quoted" ;;
    TryExec=*) printf 'TryExec=%s\n' "$exe" ;;
    Icon=*) printf 'Icon=lora-studio\n' ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$here/lora-studio.desktop.in" > "$data_home/applications/lora-studio.desktop"
chmod 644 "$data_home/applications/lora-studio.desktop"
printf '%s\n' "$data_home/applications/lora-studio.desktop" >> "$manifest"

# The command, unless something else already answers to that name in ~/.local/bin.
mkdir -p "$bin_home"
if [ ! -e "$bin_home/lora-studio" ] && [ ! -L "$bin_home/lora-studio" ]; then
  ln -s "$exe" "$bin_home/lora-studio"
  printf '%s\n' "$bin_home/lora-studio" >> "$manifest"
fi

# Menus notice the new entry by themselves (it declares no MIME types, so no cache to update).

# The window needs some desktop libraries of the system (a .deb would have installed them).
missing_packages=""
ldconfig_cmd=$(command -v ldconfig || { [ -x /sbin/ldconfig ] && echo /sbin/ldconfig; } || true)
if [ -n "$ldconfig_cmd" ]; then
  libraries=$("$ldconfig_cmd" -p 2>/dev/null || true)
  while read -r soname package; do
    [ -n "$soname" ] || continue
    printf '%s\n' "$libraries" | grep -q -F "$soname (" || missing_packages="$missing_packages ${package##*| }"
  done < "$here/host-libraries.txt"  # only what the X11 window needs (Wayland's are optional)
fi

say ""
say "LoRA Studio $version is installed. Start it from your applications menu, or run:"
say "  $exe"
case ":$PATH:" in *":$bin_home:"*) say "  (or simply: lora-studio)" ;; esac
say "To uninstall it: $app_dir/uninstall.sh"
if [ -n "$missing_packages" ]; then
  say ""
  say "The window needs system libraries that are missing here. On Debian or Ubuntu:"
  say "  sudo apt-get install$(printf '%s\n' $missing_packages | sort -u | tr '\n' ' ' | sed 's/ $//; s/^/ /')"
fi
