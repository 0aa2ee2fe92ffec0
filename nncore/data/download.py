"""Download one file over HTTP(S) with the standard library: streamed, checksummed, atomic.

The bytes go to a hidden temporary file next to the destination; only when the transfer is complete and the
MD5 matches is it renamed into place with ``os.replace``. A half-downloaded or corrupt file therefore never
appears under the final name, and the temporary file is removed on any failure (including Ctrl-C). A download
has an overall deadline besides the per-read timeout, so a server that trickles bytes cannot hold it for ever.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from nncore.errors import ConfigError

CHUNK_SIZE = 1 << 16          # bytes read per network call
DEFAULT_TIMEOUT = 30.0        # seconds to wait on connect and between received chunks
DEFAULT_DEADLINE = 900.0      # seconds for the whole transfer of one file (26 MB at ~30 kB/s)
USER_AGENT = "nncore-dataset-downloader"

Progress = Callable[[int, "int | None"], None]


def file_md5(path, chunk_size: int = 1 << 20) -> str:
    """Hex MD5 of the file at ``path``, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _reason(exc: BaseException, timeout: float) -> str:
    """A short human reason for a network failure."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _reason(reason, timeout)
        return str(reason)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, socket.gaierror):
        return "the host name could not be resolved (offline?)"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed early ({len(exc.partial)} bytes of the last block received)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def download(url: str, dest_path, md5: str | None, progress: Progress | None = None,
             timeout: float = DEFAULT_TIMEOUT, chunk_size: int = CHUNK_SIZE, hint: str | None = None,
             deadline: float = DEFAULT_DEADLINE) -> Path:
    """Fetch ``url`` to ``dest_path`` and return the path once the file is complete and verified.

    ``md5`` is the expected hex digest (``None`` skips the check). ``progress(done_bytes, total_bytes)`` is
    called once with 0 before the first chunk and after every chunk; ``total_bytes`` is the server's
    Content-Length, or ``None`` when it sent none. ``timeout`` (seconds) bounds the connect and each read;
    ``deadline`` (seconds) the whole transfer: a server that sends a few bytes at a time is given up on then.
    ``hint`` replaces the default "what to do" sentence appended to network errors.

    Raises ``ConfigError`` on any network, HTTP, size or checksum failure, and when the destination folder
    cannot be written; in every case nothing is left at ``dest_path`` or in temporary files.
    """
    dest = Path(dest_path)
    name = dest.name
    if hint is None:
        hint = f"Check the connection and try again, or put the file at {dest} by hand."
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write to {dest.parent}: {exc.strerror or exc}; choose a writable data folder "
                          f"(set NNCORE_DATA_DIR)", "data_dir") from None
    tmp = Path(tmp_name)
    started = time.monotonic()
    timeout = min(timeout, deadline)

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"could not download {name} from {url}: {reason}. {hint}", "data_dir")

    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except ValueError as exc:   # malformed URL or unknown scheme
                raise ConfigError(f"could not download {name}: {url!r} is not a valid URL ({exc})",
                                  "base_url") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()
                raise fail(_reason(exc, timeout)) from None
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.strip().isdigit() else None
                digest = hashlib.md5()
                done = 0
                if progress is not None:
                    progress(0, total)
                while True:
                    try:
                        block = response.read1(chunk_size)  # what has arrived: a trickle cannot block past the deadline
                    except (http.client.HTTPException, OSError) as exc:
                        raise fail(_reason(exc, timeout)) from None
                    if not block:
                        break
                    if time.monotonic() - started > deadline:
                        size = f" of {total}" if total is not None else ""
                        raise fail(f"the transfer took longer than {deadline:g} s ({done + len(block)}{size} bytes "
                                   "received)")
                    try:
                        out.write(block)
                    except OSError as exc:
                        raise ConfigError(f"cannot write {name} to {dest.parent}: {exc.strerror or exc}; free some "
                                          f"space or choose another data folder (set NNCORE_DATA_DIR)",
                                          "data_dir") from None
                    digest.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
            if total is not None and done != total:
                raise fail(f"the connection closed after {done} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if md5 is not None and actual.lower() != md5.lower():
            raise ConfigError(f"{name} downloaded from {url} is damaged or not the expected file: its MD5 is {actual}, "
                              f"expected {md5.lower()}; the file was not saved", "data_dir")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
