"""The readable part of a damaged rosbag2, as a recorder that lost power leaves it.

An mcap cut mid-file has no summary or footer, so ``rosbags`` refuses it; its records are read
here in file order up to the cut (a chunk cut in the middle gives the messages it holds whole,
decompressed as far as the data goes). A db3 cut mid-page is larger in its header than on disk;
SQLite reads it with ``writable_schema`` on, row by row until the first unreadable page. What
was read is written to a new, valid mcap bag, which every tool then opens as usual.
"""
from __future__ import annotations

import contextlib
import mmap
import shutil
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import lz4.frame
from rosbags.highlevel import AnyReader

from modot_ros.bags.io import BagError, BagWriter, bag_distro, open_bag, typestore_for

try:
    from compression import zstd  # Python 3.14
except ImportError:  # pragma: no cover - rosbags depends on the backport before 3.14
    from backports import zstd

MCAP_MAGIC = b"\x89MCAP0\r\n"
SCHEMA, CHANNEL, MESSAGE, CHUNK, DATA_END = 0x03, 0x04, 0x05, 0x06, 0x0F
RecordedMessage = tuple[str, str, int, bytes]  # topic, message type, bag time (ns), CDR bytes


@dataclass(frozen=True)
class Recovered:
    """A bag rebuilt from the readable part of a damaged one."""

    path: Path
    messages: int
    problem: str  # why the damaged bag could not be opened


def _string(buf, pos: int) -> tuple[str, int]:
    (size,) = struct.unpack_from("<I", buf, pos)
    return bytes(buf[pos + 4:pos + 4 + size]).decode(), pos + 4 + size


def _records(buf, pos: int = 0) -> Iterator[tuple[int, bytes, bool]]:
    """(opcode, body, complete) of each record from ``pos``; a cut record comes last, incomplete."""
    while pos + 9 <= len(buf):
        op, size = buf[pos], struct.unpack_from("<Q", buf, pos + 1)[0]
        end = pos + 9 + size
        yield op, bytes(buf[pos + 9:min(end, len(buf))]), end <= len(buf)
        if end > len(buf) or op == DATA_END:
            return
        pos = end


def _chunk_records(body: bytes) -> bytes:
    """The records inside a chunk body, complete or cut (then as far as they decompress)."""
    try:
        compression, pos = _string(body, 28)  # after start/end time, uncompressed size and crc
        data = body[pos + 8:pos + 8 + struct.unpack_from("<Q", body, pos)[0]]
        if compression == "zstd":
            return zstd.ZstdDecompressor().decompress(data)
        if compression == "lz4":
            return lz4.frame.LZ4FrameDecompressor().decompress(data)
    except Exception:  # noqa: BLE001 - a chunk cut inside its header, or damaged data: nothing readable
        return b""
    return data if compression == "" else b""


def _walk(buf, pos: int, schemas: dict[int, str], channels: dict[int, tuple[str, str]]) -> Iterator[RecordedMessage]:
    for op, body, complete in _records(buf, pos):
        if op == CHUNK:
            yield from _walk(_chunk_records(body), 0, schemas, channels)
        elif not complete:
            return
        elif op == SCHEMA:
            schemas[struct.unpack_from("<H", body)[0]] = _string(body, 2)[0]
        elif op == CHANNEL:
            key, schema = struct.unpack_from("<HH", body)
            channels[key] = (_string(body, 4)[0], schemas.get(schema, ""))
        elif op == MESSAGE and struct.unpack_from("<H", body)[0] in channels:
            topic, msgtype = channels[struct.unpack_from("<H", body)[0]]
            yield topic, msgtype, struct.unpack_from("<Q", body, 6)[0], body[22:]


def _mcap_messages(path: Path) -> Iterator[RecordedMessage]:
    """Messages of an mcap file in file order, up to the first record the file does not hold whole."""
    with path.open("rb") as handle:
        if handle.read(8) != MCAP_MAGIC:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            yield from _walk(buf, 8, {}, {})


def _sqlite_messages(path: Path) -> Iterator[RecordedMessage]:
    """Rows of a db3 file in insertion order, up to the first one SQLite cannot read."""
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    try:
        db.execute("PRAGMA writable_schema=ON")  # accept a file shorter than its header says
        topics = {key: (name, msgtype) for key, name, msgtype in db.execute("SELECT id, name, type FROM topics")}
        rows = db.execute("SELECT topic_id, timestamp, data FROM messages ORDER BY id")
        while True:
            try:
                row = rows.fetchone()
            except sqlite3.DatabaseError:
                return
            if row is None:
                return
            if row[0] in topics:
                yield *topics[row[0]], int(row[1]), bytes(row[2])
    except sqlite3.DatabaseError:
        return
    finally:
        db.close()


def recover_bag(path: str | Path, destination: str | Path, problem: str, distro: str | None = None) -> Recovered:
    """Rewrite the readable messages of the damaged bag ``path`` into a new mcap bag ``destination``.

    Topics whose type the distro's typestore does not know are left out (the new bag must describe
    them). Raises BagError (``problem`` plus why) when nothing could be read.
    """
    path, destination, problem = Path(path), Path(destination), problem.rstrip(".")
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in (".mcap", ".db3"))
    typestore = typestore_for(path, distro)
    if destination.exists():
        shutil.rmtree(destination)  # the rebuilt bag of an earlier run on the same output
    count = 0
    with BagWriter(destination, "mcap", typestore) as out:
        for file in files:
            read = _mcap_messages if file.suffix == ".mcap" else _sqlite_messages
            for topic, msgtype, t_ns, raw in read(file):
                if msgtype in typestore.fielddefs:
                    out.write_raw(topic, msgtype, raw, t_ns)
                    count += 1
    if not count:
        shutil.rmtree(destination, ignore_errors=True)
        raise BagError(f"{problem}; no message could be recovered from it")
    return Recovered(destination, count, problem)


def _open_problem(path: Path, distro: str | None) -> str | None:
    try:
        with open_bag(path, distro):
            return None
    except BagError as error:
        return str(error)


@contextlib.contextmanager
def open_or_recover(path: str | Path, workdir: str | Path,
                    distro: str | None = None) -> Iterator[tuple[AnyReader, Recovered | None]]:
    """``open_bag``; a bag that cannot be opened is recovered into ``workdir/recovered_bag`` first.

    Yields (reader, None) for a sound bag and (reader of the rebuilt bag, Recovered) otherwise.
    """
    path = Path(path)
    problem = _open_problem(path, distro) if path.exists() else None
    if problem is None:
        with open_bag(path, distro) as reader:
            yield reader, None
        return
    distro = distro or bag_distro(path)
    recovered = recover_bag(path, Path(workdir) / "recovered_bag", problem, distro)
    with open_bag(recovered.path, distro) as reader:
        yield reader, recovered
