"""Caps on a tar stream's headers, checked as the bytes pass, before tarfile reads them.

Python's tarfile reads a pax extended header or a GNU long name or link whole into memory, whatever
size it declares: a 1.2 MB gzip declaring a 1 GiB header took a sync to 3.3 GB resident. `TarGuard`
sits between the decompressed stream and tarfile and follows the archive's 512-byte headers as they
go by: a pax or long-name header over `Limits.header_bytes`, more than `Limits.entries` entries, or
what GitHub never writes and would make the two readers disagree on where the next header starts
(sparse files, a pax `size` record) is refused before any byte of it reaches tarfile.
"""

from __future__ import annotations

import io
import re
import tarfile

from retrieval.errors import SyncError

BLOCK = 512
PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
LONG_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
# Entries whose data follows their header, as tarfile reads them: regular files and unknown types.
# Links, folders and devices have none, whatever their size field says.
DATALESS = tuple(t for t in tarfile.SUPPORTED_TYPES if t not in tarfile.REGULAR_TYPES)
# A pax record: "<length> <key>=<value>\n".
PAX_RECORD = re.compile(rb"(\d+) ([^=\n]*)=")
# Pax keys that would change where the next header starts.
SHIFTING_KEYS = (b"size", b"GNU.sparse.")


def _blocks(size: int) -> int:
    """`size` bytes rounded up to whole blocks."""
    return -(-size // BLOCK) * BLOCK


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU's base-256 (first byte 0x80 or 0xff)."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - (256 ** (len(field) - 1)) if field[0] == 0xFF else value
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits or b"0", 8)
    except ValueError:
        return 0  # tarfile refuses the header itself, saying so


def _pax_keys(body: bytes) -> list[bytes]:
    keys = []
    position = 0
    while (match := PAX_RECORD.match(body, position)) is not None and int(match[1]) > 0:
        keys.append(match[2])
        position += int(match[1])
    return keys


class TarGuard(io.RawIOBase):
    """The decompressed tar stream `raw`, handed on only after each header in it passed the caps."""

    def __init__(self, raw: io.BufferedIOBase, where: str, *, header_bytes: int, entries: int):
        self._raw = raw
        self._where = where
        self._header_bytes = header_bytes
        self._max_entries = entries
        self.entries = 0
        self.passed = 0  # bytes of tar handed on so far
        self._header = bytearray()
        self._skip = 0  # bytes of data (or padding) before the next header
        self._pax: bytearray | None = None  # the body of a pax header being collected
        self._pax_size = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with memoryview(buffer) as view:
            count = self._raw.readinto(view)
            self._watch(view[:count])
        self.passed += count
        return count

    def _watch(self, data: memoryview) -> None:
        while data and not self._ended:
            if self._skip:
                step = min(self._skip, len(data))
                self._skip -= step
            elif self._pax is not None:
                step = min(self._pax_size - len(self._pax), len(data))
                self._pax += data[:step]
                if len(self._pax) == self._pax_size:
                    self._check_pax(bytes(self._pax))
                    self._pax = None
                    self._skip = _blocks(self._pax_size) - self._pax_size
            else:
                step = min(BLOCK - len(self._header), len(data))
                self._header += data[:step]
                if len(self._header) == BLOCK:
                    self._check_header(bytes(self._header))
                    self._header.clear()
            data = data[step:]

    def _refuse(self, what: str) -> SyncError:
        return SyncError(f"{self._where}: the archive {what}; refusing all of it")

    def _check_header(self, block: bytes) -> None:
        if not block.strip(b"\0"):
            self._ended = True  # tarfile stops at the first empty block
            return
        kind, size = block[156:157], max(0, _number(block[124:136]))
        if kind in PAX_TYPES or kind in LONG_TYPES:
            if size > self._header_bytes:
                raise self._refuse(f"has a {size:,}-byte header (at most {self._header_bytes:,} are accepted)")
            if kind in PAX_TYPES and size:
                self._pax, self._pax_size = bytearray(), size
            else:
                self._skip = _blocks(size)
            return
        if kind == tarfile.GNUTYPE_SPARSE:
            raise self._refuse("has a sparse file entry, which GitHub never writes")
        self.entries += 1
        if self.entries > self._max_entries:
            raise self._refuse(f"has more than {self._max_entries:,} entries")
        self._skip = 0 if kind in DATALESS else _blocks(size)

    def _check_pax(self, body: bytes) -> None:
        for key in _pax_keys(body):
            if key.startswith(SHIFTING_KEYS):
                raise self._refuse(f"has a pax {key.decode(errors='replace')!r} record, which GitHub never writes")
