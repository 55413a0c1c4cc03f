"""Caption files: read them whatever their encoding, write them back exactly as they came.

A caption file is the ``.txt`` (or ``.caption``, ...) beside an image. People make them with many
tools, so we read UTF-8, UTF-8 with a BOM and UTF-16 with a BOM, and remember the encoding, the
BOM and the line-ending style so that a write gives back the same kind of file. Anything else
(Latin-1, Shift-JIS, UTF-16 without BOM, binary junk) is *flagged undecodable* and never written
over: we cannot show it faithfully, so we must not replace it.

Every read takes a snapshot (mtime, size, content hash). A write compares the file on disk with
the snapshot it was based on and refuses with ``ConflictError`` if another program changed it in
between; writes are atomic (``services.atomic``).

``CaptionFile.text`` is the content with line endings normalised to ``\\n`` and one final line
ending removed (remembered in ``CaptionFormat.final_newline``), so editors see ``"a, b, c"``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from services.atomic import atomic_write_bytes
from services.errors import ConflictError, FileAccessError, FileFormatError, UserInputError

# Caption files above this size are not captions (a mis-named dump); flag instead of loading.
MAX_CAPTION_BYTES = 4 * 1024 * 1024

_BOMS = (  # longest first: the UTF-32 BOM starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", None),  # UTF-32 LE: not supported, flagged
    (b"\x00\x00\xfe\xff", None),  # UTF-32 BE
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_BOM_FOR = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}


@dataclass(frozen=True)
class CaptionFormat:
    """How a caption file is encoded on disk; a write reproduces it."""

    codec: str = "utf-8"  # "utf-8", "utf-16-le" or "utf-16-be"
    bom: bool = False
    newline: str = "\n"  # "\n", "\r\n" or "\r"
    final_newline: bool = False

    @property
    def label(self) -> str:
        """A short human name: "UTF-8", "UTF-8 BOM", "UTF-16 LE BOM", with "CRLF" when not LF."""
        name = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}.get(self.codec, self.codec)
        if self.bom:
            name += " BOM"
        if self.newline == "\r\n":
            name += ", CRLF"
        elif self.newline == "\r":
            name += ", CR"
        return name


DEFAULT_FORMAT = CaptionFormat()


@dataclass(frozen=True)
class CaptionSnapshot:
    """What the file looked like when read or written; compared before the next write."""

    mtime_ns: int
    size: int
    digest: str  # blake2b-128 of the raw bytes


@dataclass(frozen=True)
class CaptionFile:
    """One caption file as read (or as it would be created when ``exists`` is False)."""

    path: Path
    text: str = ""
    format: CaptionFormat = field(default=DEFAULT_FORMAT)
    snapshot: CaptionSnapshot | None = None  # None: the file did not exist
    undecodable: bool = False  # True: never write over this file
    error: str = ""  # why it is undecodable or unreadable

    @property
    def exists(self) -> bool:
        return self.snapshot is not None

    @property
    def is_empty(self) -> bool:
        return self.exists and not self.undecodable and not self.text.strip()


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _newline_style(text: str) -> str:
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    if crlf and crlf >= lf and crlf >= cr:
        return "\r\n"
    if cr > lf:
        return "\r"
    return "\n"


def decode_caption_bytes(data: bytes) -> tuple[str, CaptionFormat] | str:
    """Decode raw caption bytes: ``(text, format)`` or, when undecodable, the reason (a str)."""
    codec, bom = "utf-8", False
    body = data
    for mark, name in _BOMS:
        if data.startswith(mark):
            if name is None:
                return "UTF-32 text is not supported"
            codec, bom, body = name, True, data[len(mark):]
            break
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        what = "UTF-16" if codec.startswith("utf-16") else "UTF-8"
        return f"not valid {what} (byte {exc.start}); it may be in a legacy encoding"
    if "\x00" in text:
        return "contains NUL characters (UTF-16 without a byte-order mark, or not text)"
    newline = _newline_style(text)
    final = text.endswith(("\n", "\r"))
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if final:
        text = text[:-1]
    return text, CaptionFormat(codec, bom, newline, final)


def encode_caption_text(text: str, fmt: CaptionFormat) -> bytes:
    """The bytes ``write_caption`` would store for ``text`` in format ``fmt``."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if fmt.final_newline:
        body += "\n"
    if fmt.newline != "\n":
        body = body.replace("\n", fmt.newline)
    try:
        encoded = body.encode(fmt.codec)
    except UnicodeEncodeError as exc:
        raise UserInputError("The caption contains characters that cannot be saved.",
                             f"Remove the character at position {exc.start}.") from exc
    return (_BOM_FOR.get(fmt.codec, b"") if fmt.bom else b"") + encoded


def read_caption(path: str | os.PathLike) -> CaptionFile:
    """Read a caption file. A missing file gives an empty, non-existing CaptionFile; an unreadable
    or undecodable one gives ``undecodable=True`` with the reason in ``error``. Never raises for
    the content; only the absence of permission is reported as ``undecodable`` too."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > MAX_CAPTION_BYTES:
                snap = CaptionSnapshot(st.st_mtime_ns, st.st_size, "")
                return CaptionFile(path, "", DEFAULT_FORMAT, snap, True,
                                   f"{st.st_size} bytes is far too large for a caption")
            data = fh.read()
    except FileNotFoundError:
        return CaptionFile(path)
    except IsADirectoryError:
        return CaptionFile(path, undecodable=True, error="is a folder, not a file",
                           snapshot=CaptionSnapshot(0, 0, ""))
    except OSError as exc:
        return CaptionFile(path, undecodable=True, error=f"cannot be read: {exc.strerror or exc}",
                           snapshot=CaptionSnapshot(0, 0, ""))
    snap = CaptionSnapshot(st.st_mtime_ns, len(data), digest_bytes(data))
    decoded = decode_caption_bytes(data)
    if isinstance(decoded, str):
        return CaptionFile(path, "", DEFAULT_FORMAT, snap, True, decoded)
    text, fmt = decoded
    return CaptionFile(path, text, fmt, snap)


def current_snapshot(path: str | os.PathLike) -> CaptionSnapshot | None:
    """The snapshot of the file as it is now (None if it does not exist)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(MAX_CAPTION_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileAccessError(f"The caption file {path} cannot be read.", details=str(exc)) from exc
    return CaptionSnapshot(st.st_mtime_ns, st.st_size, digest_bytes(data))


def changed_on_disk(caption: CaptionFile) -> bool:
    """True when the file's content differs from ``caption``'s snapshot (created, deleted or edited).
    A touch that leaves the content alone is not a change."""
    now = current_snapshot(caption.path)
    if now is None or caption.snapshot is None:
        return (now is None) != (caption.snapshot is None)
    return now.digest != caption.snapshot.digest


def write_caption(base: CaptionFile, text: str, *, fmt: CaptionFormat | None = None, check_conflict: bool = True,
                  fsync: bool = True) -> CaptionFile:
    """Write ``text`` to ``base.path`` in ``base``'s format (or ``fmt`` for a new file) and return
    the new CaptionFile (with a fresh snapshot).

    ``base`` is the CaptionFile the edit started from. Raises ``FileFormatError`` if it was
    undecodable (its bytes are never replaced), ``ConflictError`` if the file changed on disk since
    ``base`` was read (unless ``check_conflict`` is False), ``FileAccessError`` if it cannot be written.
    """
    if base.undecodable:
        raise FileFormatError(
            f"The caption file {base.path.name} was not written: its encoding could not be read "
            f"({base.error or 'unknown encoding'}), so saving would destroy its content.",
            "Convert it to UTF-8 with a text editor, then refresh the dataset.")
    if check_conflict and changed_on_disk(base):
        raise ConflictError(
            f"The caption file {base.path.name} was changed by another program since it was loaded.",
            "Reload it to see the other change, or keep your edit and save again after reloading.",
            details=str(base.path))
    use = fmt if (fmt is not None and not base.exists) else base.format
    data = encode_caption_text(text, use)
    try:
        atomic_write_bytes(base.path, data, fsync=fsync)
        st = os.stat(base.path)
    except OSError as exc:
        raise FileAccessError(f"The caption file {base.path} could not be written.",
                              details=f"{type(exc).__name__}: {exc}") from exc
    return replace(base, text=text.replace("\r\n", "\n").replace("\r", "\n"), format=use,
                   snapshot=CaptionSnapshot(st.st_mtime_ns, len(data), digest_bytes(data)), error="")


def caption_path_for(image_path: str | os.PathLike, extension: str) -> Path:
    """``cat.png`` + ``.txt`` -> ``cat.txt`` (sd-scripts' convention: the image's stem + extension)."""
    image_path = Path(image_path)
    return image_path.with_name(image_path.stem + normalise_extension(extension))


def normalise_extension(extension: str) -> str:
    """``txt`` -> ``.txt``; rejects empty, path-like or image extensions."""
    ext = extension.strip()
    if not ext.startswith("."):
        ext = "." + ext
    if len(ext) < 2 or any(c in ext for c in "/\\:*?\"<>| ") or ext.count(".") != 1:
        raise UserInputError(f"{extension!r} is not a usable caption extension.",
                             "Use a short extension such as .txt, .caption or .cap.")
    if ext.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"):
        raise UserInputError(f"{extension!r} is an image extension.", "Use .txt, .caption or .cap.")
    return ext
