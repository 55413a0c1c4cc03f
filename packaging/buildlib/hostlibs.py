"""Which shared libraries a Linux bundle takes from the host instead of carrying its own copy.

PyInstaller copies every library the build machine resolves. For the libraries that talk to the
desktop (X11/xcb, Wayland, OpenGL, fontconfig, GLib, D-Bus) and the C/C++ runtimes, a private copy
is what breaks on another distribution (a bundled libstdc++ older than the one the host's GL driver
needs, a bundled fontconfig that cannot read the host's configuration). So the bundle leaves them
out, the .deb depends on the packages that provide them, and the .run checks for them at install.

``HOST`` maps each such soname to the Debian dependency that provides it. ``DROPPED`` are libraries
only needed by the Qt plugins the spec leaves out (GTK theme, EGLFS, linuxfb, VNC) or only by host
libraries; nothing in the bundle may need them (checks.py verifies that).
"""

from __future__ import annotations

import re

_GLIB = "libglib2.0-0t64 | libglib2.0-0"  # renamed by the 64-bit time_t transition (Debian 13, Ubuntu 24.04)

HOST: dict[str, str] = {
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libglib-2.0.so.0": _GLIB, "libgobject-2.0.so.0": _GLIB, "libgio-2.0.so.0": _GLIB,
    "libgmodule-2.0.so.0": _GLIB, "libgthread-2.0.so.0": _GLIB,
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# Needed only by the Wayland platform plugin: without them Qt uses X11 (XWayland), so the .run's
# installer does not ask for them (the .deb depends on them all the same).
OPTIONAL = {"libwayland-client.so.0", "libwayland-cursor.so.0", "libwayland-egl.so.1"}

# glibc itself: always the host's, never bundled (PyInstaller already leaves it out).
GLIBC = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1",
         "libresolv.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld-linux-armhf.so.3"}

DROPPED = {
    # the GTK platform theme's stack (the plugin is not shipped: Qt uses the XDG portal instead)
    "libatk-1.0.so.0", "libcairo.so.2", "libcairo-gobject.so.2", "libpango-1.0.so.0", "libpangocairo-1.0.so.0",
    "libpangoft2-1.0.so.0", "libgdk_pixbuf-2.0.so.0", "libharfbuzz.so.0", "libfribidi.so.0", "libthai.so.0",
    "libdatrie.so.1", "libgraphite2.so.3", "libpixman-1.so.0", "libpng16.so.16", "libjpeg.so.62",
    # what only host libraries (GLib, D-Bus, fontconfig, X11) need themselves
    "libselinux.so.1", "libmount.so.1", "libblkid.so.1", "libpcre2-8.so.0", "libsystemd.so.0", "libgcrypt.so.20",
    "libgpg-error.so.0", "liblz4.so.1", "libcap.so.2", "libbsd.so.0", "libmd.so.0", "libexpat.so.1",
    "libXau.so.6", "libXdmcp.so.6", "libXext.so.6", "libXrender.so.1", "libdrm.so.2",
    # EGLFS (full-screen embedded devices), wherever PyInstaller puts them or links to them
    "libQt6EglFSDeviceIntegration.so.6", "libQt6EglFsKmsSupport.so.6",
}

# Qt plugins and libraries for targets a desktop app does not run on, or whose dependencies would
# drag a second copy of the host's toolkit into the bundle. Paths relative to the bundle's root.
DROPPED_QT = (
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    "PySide6/Qt/plugins/egldeviceintegrations/",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
)

_XCB_EXTENSION = re.compile(r"libxcb-([a-z][a-z0-9-]*)\.so\.(\d+)")


def host_package(soname: str) -> str | None:
    """The Debian dependency providing a host library, or None if the bundle must carry it."""
    if soname in HOST:
        return HOST[soname]
    match = _XCB_EXTENSION.fullmatch(soname)
    if match:  # libxcb-render-util.so.0 -> libxcb-render-util0, libxcb-xinput.so.0 -> libxcb-xinput0
        name, number = match.groups()
        return f"libxcb-{name}{'-' if name[-1].isdigit() else ''}{number}"
    return None


def is_host(soname: str) -> bool:
    return soname in GLIBC or host_package(soname) is not None


def leave_out(dest: str) -> bool:
    """True for a bundle entry (its destination path) that a Linux bundle must not carry."""
    dest = dest.replace("\\", "/")
    name = dest.rsplit("/", 1)[-1]
    if any(dest == p or (p.endswith("/") and dest.startswith(p)) for p in DROPPED_QT):
        return True
    return is_host(name) or name in DROPPED


# GLIBCXX_3.4.N -> the GCC (and so Debian libstdc++6) release that introduced it.
_GLIBCXX_TO_GCC = {29: "11", 30: "12", 31: "13", 32: "13.2", 33: "14"}


def libstdcxx_requirement(glibcxx_minor: int) -> str:
    known = {k: v for k, v in _GLIBCXX_TO_GCC.items() if k <= glibcxx_minor}
    return f"libstdc++6 (>= {known[max(known)]})" if known else "libstdc++6"
