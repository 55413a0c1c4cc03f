"""Just enough ELF reading to know what a bundle asks of the host (DT_NEEDED names, glibc versions)
and whether the dynamic loader will accept a file at all.

Pure Python (struct) so the checks need no binutils and stay fast over a few hundred files.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

_DT_NEEDED, _DT_STRTAB = 1, 5
_PT_DYNAMIC, _PT_LOAD = 2, 1


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _program_headers(data: bytes) -> tuple[str, list[tuple[int, int, int, int, int]]]:
    """(byte-order prefix, [(p_type, p_offset, p_vaddr, p_filesz, p_align), ...]) of an ELF image."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    is64, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if is64:  # e_phoff, and e_phentsize/e_phnum, at their ELF64 offsets
        (phoff,) = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    headers = []
    for i in range(phnum):
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, p_align = struct.unpack_from(
                end + "IIQQQQQQ", data, phoff + i * phentsize)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _flags, p_align = struct.unpack_from(
                end + "IIIIIIII", data, phoff + i * phentsize)
        headers.append((p_type, p_offset, p_vaddr, p_filesz, p_align))
    return end, headers


def loadable(path: Path) -> bool:
    """False when a loadable segment's file offset and address disagree modulo its alignment: the
    dynamic loader refuses such a file ("ELF load command address/offset not page-aligned"). That
    is what ``strip`` makes of a library patchelf has rewritten (auditwheel's vendored libraries)."""
    _end, headers = _program_headers(path.read_bytes())
    return all((vaddr - offset) % align == 0 for p_type, offset, vaddr, _size, align in headers
               if p_type == _PT_LOAD and align > 1)


def needed(path: Path) -> list[str]:
    """The shared libraries an ELF file names in its dynamic section (empty for static files)."""
    data = path.read_bytes()
    end, headers = _program_headers(data)
    dyn_fmt = end + ("qQ" if data[4] == 2 else "iI")
    loads = [(vaddr, offset, size) for p_type, offset, vaddr, size, _align in headers if p_type == _PT_LOAD]
    dynamic = next(((offset, size) for p_type, offset, _vaddr, size, _align in headers if p_type == _PT_DYNAMIC),
                   None)
    if dynamic is None:
        return []
    entry_size = struct.calcsize(dyn_fmt)
    names, strtab = [], None
    for offset in range(dynamic[0], dynamic[0] + dynamic[1], entry_size):
        tag, value = struct.unpack_from(dyn_fmt, data, offset)
        if tag == 0:
            break
        if tag == _DT_NEEDED:
            names.append(value)
        elif tag == _DT_STRTAB:
            strtab = value
    if strtab is None:
        return []
    # DT_STRTAB is a virtual address: map it to a file offset through the loadable segments.
    base = next((off + strtab - vaddr for vaddr, off, size in loads if vaddr <= strtab < vaddr + size), strtab)
    return [data[base + n: data.index(b"\0", base + n)].decode() for n in names]


def symbol_versions(path: Path, prefix: str = "GLIBC") -> set[tuple[int, ...]]:
    """The symbol versions ``<prefix>_x.y[.z]`` a file refers to (GLIBC, GLIBCXX, ...)."""
    pattern = re.escape(prefix.encode()) + rb"_(\d+\.\d+(?:\.\d+)?)\x00"
    return {tuple(int(p) for p in m.split(b".")) for m in re.findall(pattern, path.read_bytes())}
