"""Zip and tar archives of GNSS files, as national CORS services deliver them.

Rule: a member of an archive is named ``ARCHIVE::MEMBER`` (``day.zip::ABMF0010.24o.gz``);
that name is accepted wherever satnav reads a file (:func:`satnav.io.textfile.read_bytes`),
and the member may itself be compressed or Hatanaka. A zip holding exactly one file is
opened as that file, as before. :func:`satnav.info.split_archive_inputs` turns a whole archive given as
the observation input into its observation member (exactly one, else name it) and its
navigation members (all of them), and an archive given as a navigation input into its
navigation members.

Archives are read within the limits of :func:`satnav.io.textfile.limits`; at most
:data:`MAX_MEMBERS` members are listed, and only regular files (no links, no devices).
Tar archives may be gzip or bzip2 compressed (``.tar.gz``, ``.tgz``).
"""

from __future__ import annotations

import bz2
import os
import zlib
from dataclasses import dataclass
from os import PathLike

from ..errors import FormatError
from ._bounded import MEMBER_SEPARATOR, _read_stream, limits, open_regular

__all__ = ["ArchiveMember", "is_archive", "list_members", "read_member", "member_names", "MAX_MEMBERS"]

#: Most members an archive may list.
MAX_MEMBERS = 10000

def _errors() -> tuple:
    """What reading a damaged archive raises (zipfile and tarfile are imported on first use:
    telling that a file is not an archive does not need them)."""
    import tarfile
    import zipfile

    return (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, OSError, EOFError, ValueError,
            RuntimeError, NotImplementedError)


@dataclass(frozen=True)
class ArchiveMember:
    """One regular file of an archive: its name inside and its size (bytes, as stored)."""

    name: str
    size: int

    def spec(self, archive) -> str:
        """The ``ARCHIVE::MEMBER`` name of this member."""
        return f"{os.fspath(archive)}{MEMBER_SEPARATOR}{self.name}"


def _kind(path) -> str | None:
    """'zip', 'tar' or None, from the content of ``path``."""
    with open_regular(path) as fh:
        head = fh.read(1024)
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh":  # a compressed tar: look inside its start
        with open_regular(path) as fh:
            start = fh.read(1 << 16)
        try:
            if head[:2] == b"\x1f\x8b":
                inner = zlib.decompressobj(47).decompress(start, 512)
            else:
                inner = bz2.BZ2Decompressor().decompress(start, max_length=512)
        except (zlib.error, OSError, EOFError, ValueError):
            return None
        if inner[257:262] == b"ustar":
            return "tar"
    return None


def _open(path):
    import tarfile
    import zipfile

    kind = _kind(path)  # also refuses what is not a regular file
    try:
        if kind == "zip":
            return kind, zipfile.ZipFile(os.fspath(path))
        if kind == "tar":
            return kind, tarfile.open(os.fspath(path), mode="r:*")
    except _errors() as exc:
        raise FormatError(f"damaged {kind} archive ({' '.join(str(exc).split())})", path) from None
    raise FormatError("not a zip or tar archive", path)


def list_members(path: str | PathLike) -> list[ArchiveMember]:
    """Regular-file members of the zip or tar archive ``path``, in archive order."""
    kind, arc = _open(path)
    out: list[ArchiveMember] = []
    try:
        with arc:
            if kind == "zip":
                items = ((i.filename, i.file_size) for i in arc.infolist() if not i.is_dir())
            else:
                items = ((m.name, m.size) for m in arc if m.isreg())
            for name, size in items:
                out.append(ArchiveMember(name, int(size)))
                if len(out) > MAX_MEMBERS:
                    raise FormatError(f"archive holds more than {MAX_MEMBERS} files", path)
    except FormatError:
        raise
    except _errors() as exc:
        raise FormatError(f"damaged {kind} archive ({' '.join(str(exc).split())})", path) from None
    return out


def is_archive(path: str | PathLike) -> bool:
    """True for a tar archive, or a zip archive that does not hold exactly one file (a
    one-file zip is read as that file)."""
    if MEMBER_SEPARATOR in os.fspath(path) and not os.path.exists(path):
        return False
    try:
        kind = _kind(path)
    except FormatError:
        return False
    if kind == "tar":
        return True
    if kind == "zip":
        try:
            return len(list_members(path)) != 1
        except FormatError:
            return False
    return False


def member_names(path: str | PathLike) -> list[str]:
    """``ARCHIVE::MEMBER`` names of every member of ``path``."""
    return [m.spec(path) for m in list_members(path)]


def read_member(spec: str, n: int | None = None) -> bytes:
    """Stored bytes of the member named by ``spec`` (``ARCHIVE::MEMBER``), at most ``n``
    (all, within the input limit, when None); still compressed when the member is."""
    archive, _, name = os.fspath(spec).partition(MEMBER_SEPARATOR)
    if not name:
        raise FormatError(f"no member named after {MEMBER_SEPARATOR!r}: expected ARCHIVE{MEMBER_SEPARATOR}MEMBER",
                          spec)
    kind, arc = _open(archive)
    limit, _ = limits()
    try:
        with arc:
            if kind == "zip":
                try:
                    stream = arc.open(name)
                except KeyError:
                    stream = None
            else:
                try:
                    member = arc.getmember(name)
                    stream = arc.extractfile(member) if member.isreg() else None
                except KeyError:
                    stream = None
            if stream is None:
                names = [m.name for m in list_members(archive)]
                shown = ", ".join(names[:10]) + (f" (and {len(names) - 10} more)" if len(names) > 10 else "")
                raise FormatError(f"no file {name!r} in the archive; it holds {shown}", archive)
            with stream:
                if n is not None:
                    return stream.read(n)
                return _read_stream(stream, spec, limit, None, _errors(), kind)
    except FormatError:
        raise
    except _errors() as exc:
        raise FormatError(f"damaged {kind} archive ({' '.join(str(exc).split())})", archive) from None
