"""Download the SHREC sketch benchmarks: resumable HTTP, sha256 checks, safe extraction.

Backend of ``sbsr-lab data fetch shrec13|shrec14 --root DIR``::

    >>> fetch_dataset("shrec13", "data/shrec13")            # doctest: +SKIP

What it does, archive by archive (see :data:`REGISTRY`):

1. If the archive is already in ``ROOT/downloads/`` (or ``ROOT/``), use it: this is how files downloaded
   by hand are picked up. Otherwise download it there with :func:`download`: HTTP ``Range`` requests
   continue an interrupted download from ``<name>.part`` (servers that ignore ``Range`` get a clean
   restart), with a progress bar.
2. Verify it. Where the registry knows the sha256, a mismatch deletes the download and raises.
   The organisers publish no checksums and we could not download the archives when writing this
   module, so every ``sha256`` in the registry is ``None``: the first download that passes an
   integrity check (every zip member's CRC, or a readable tar) has its digest recorded in
   ``ROOT/.sbsr_checksums.json``, and later downloads into the same root are checked against it
   (trust on first use). To pin a digest, edit that file or pass ``Archive(sha256=...)``.
3. Extract it with :func:`safe_extract` (no absolute paths, no ``..``, no links out of the root,
   only the benchmark's expected top-level folder, capped in size and compression ratio), into a
   fresh temporary folder first, then renamed into place; nothing it did not extract is replaced.

Offline, or when a server refuses, the :class:`~sbsr_lab.errors.DownloadError` explains how to download
the files by hand and where to put them (exact names and folder).

**The archive URLs are not verified** (no network when this was written): they follow the layout
of the organisers' pages (``REGISTRY[name].page``). If one fails, pass ``base_url=`` (a mirror that serves
the same file names) or download by hand.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import http.client
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Collection

from sbsr_lab.errors import DownloadError
from sbsr_lab.io import atomic_write_json

__all__ = [
    "Archive",
    "DatasetSource",
    "REGISTRY",
    "CHECKSUMS_FILE",
    "fetch_dataset",
    "download",
    "safe_extract",
    "file_sha256",
    "manual_instructions",
]

CHECKSUMS_FILE = ".sbsr_checksums.json"
_USER_AGENT = "sbsr-lab/0.1 (dataset fetcher)"
_CHUNK = 1 << 20  # bytes read per network call


@dataclass(frozen=True)
class Archive:
    """One file to download: its name, URL, and what we know of it (``None`` = unknown)."""

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None       # bytes
    provides: str = ""            # top-level folder it unpacks to (for messages)


@dataclass(frozen=True)
class DatasetSource:
    """A benchmark: a title, the organisers' page (for manual download) and its archives."""

    name: str
    title: str
    page: str
    archives: tuple[Archive, ...]


def _archives(base: str, names: list[tuple[str, str]]) -> tuple[Archive, ...]:
    return tuple(Archive(filename=f, url=base + f, provides=p) for f, p in names)


_BASE13 = "https://sites.usm.edu/bli/sharp/sharp/contest/2013/SBR/"
_BASE14 = "https://sites.usm.edu/bli/sharp/sharp/contest/2014/SBR/"

#: name -> source. sha256/size are ``None``: not published, see the module docstring.
REGISTRY: dict[str, DatasetSource] = {
    "shrec13": DatasetSource(
        name="shrec13",
        title="SHREC'13 large scale sketch-based 3D shape retrieval (90 classes, 1,258 models, 7,200 sketches)",
        page=_BASE13 + "data.html",
        archives=_archives(_BASE13, [
            ("SHREC13_SBR_TARGET_MODELS.zip", "SHREC13_SBR_TARGET_MODELS"),
            ("SHREC13_SBR_TRAINING_SKETCHES.zip", "SHREC13_SBR_TRAINING_SKETCHES"),
            ("SHREC13_SBR_TESTING_SKETCHES.zip", "SHREC13_SBR_TESTING_SKETCHES"),
            ("SHREC2013_Sketch_Evaluation.zip", "SHREC2013_Sketch_Evaluation"),
        ]),
    ),
    "shrec14": DatasetSource(
        name="shrec14",
        title="SHREC'14 extended large scale sketch-based 3D shape retrieval (171 classes, 8,987 models, "
        "13,680 sketches)",
        page=_BASE14 + "data.html",
        archives=_archives(_BASE14, [
            ("SHREC14LSSTB_TARGET_MODELS.zip", "SHREC14LSSTB_TARGET_MODELS"),
            ("SHREC14LSSTB_SKETCHES.zip", "SHREC14LSSTB_SKETCHES"),
            ("SHREC14_Sketch_Evaluation.zip", "SHREC14_Sketch_Evaluation"),
        ]),
    ),
}


# ---------------------------------------------------------------------------------------------
# hashing and bookkeeping


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _load_checksums(root: Path) -> dict[str, dict]:
    path = root / CHECKSUMS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DownloadError(f"{path}: unreadable ({exc}); delete it (digests will be recorded again)") from None
    return data.get("archives", {}) if isinstance(data, dict) else {}


def _save_checksums(root: Path, archives: dict[str, dict]) -> None:
    atomic_write_json(root / CHECKSUMS_FILE, {
        "note": "sha256 of archives recorded by sbsr-lab on first verified download (trust on first use); "
                "later downloads into this folder must match",
        "archives": archives,
    })


def manual_instructions(name: str, root: str | os.PathLike[str]) -> str:
    """How to download ``name`` by hand and where to put the files (shown when offline)."""
    source = REGISTRY[name]
    root = Path(root)
    files = "\n".join(f"       {a.filename}" for a in source.archives)
    folders = ", ".join(f"{a.provides}/" for a in source.archives if a.provides)
    return (
        f"To download {source.title} by hand:\n"
        f"  1. open {source.page} in a browser (the organisers may ask you to register)\n"
        f"  2. download these files:\n{files}\n"
        f"  3. put them, with exactly these names, in {root / 'downloads'}/\n"
        f"  4. run `sbsr-lab data fetch {name} --root {root}` again: it verifies and extracts them "
        f"without network\n"
        f"  (or extract them yourself into {root}, so that it contains {folders})"
    )


# ---------------------------------------------------------------------------------------------
# download


class _Interrupted(Exception):
    """The connection broke after some bytes; the ``.part`` file is kept for resuming."""

    def __init__(self, got: int, total: int | None, reason: object) -> None:
        super().__init__(f"stopped after {got:,} of {f'{total:,}' if total else 'unknown'} bytes ({reason})")


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse | None:
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the part file is already complete
            return None
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} ({exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: cannot connect ({reason}); are you offline?") from None


def _fetch_into(url: str, part: Path, progress: bool, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` (or restart it if the server ignores ``Range``)."""
    offset = part.stat().st_size if part.exists() else 0
    resp = _open(url, offset, timeout)
    if resp is None:
        return
    from tqdm.auto import tqdm

    with resp:
        status = getattr(resp, "status", None) or 200
        mode = "wb"
        if offset and status == 206:
            match = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            if match and int(match.group(1)) == offset:
                mode = "ab"
        if mode == "wb":
            offset = 0  # the server sent the whole file: start over
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        got = offset
        with open(part, mode) as f, tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                                         desc=part.name[: -len(".part")], disable=not progress, leave=False) as bar:
            while True:
                try:
                    block = resp.read(_CHUNK)
                except (http.client.HTTPException, OSError) as exc:
                    raise _Interrupted(got, total, exc) from None
                if not block:
                    break
                f.write(block)
                got += len(block)
                bar.update(len(block))
        if total is not None and got < total:
            raise _Interrupted(got, total, "the connection closed early")


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None = None,
    *,
    size: int | None = None,
    progress: bool = True,
    retries: int = 2,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming with HTTP ``Range`` requests.

    An existing ``dest`` (matching ``sha256`` when given) is kept as is. A broken connection is
    resumed up to ``retries`` times; after that the part file stays for the next call to continue.
    With ``sha256`` (hex) or ``size`` (bytes), a mismatching download is deleted, nothing is left
    behind, and :class:`DownloadError` names the file.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    if dest.exists():
        if sha256 is None or file_sha256(dest) == sha256.lower():
            return dest
        dest.unlink()  # a stale or corrupted copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            _fetch_into(url, part, progress, timeout)
            break
        except _Interrupted as exc:
            if attempt == retries:
                raise DownloadError(
                    f"{dest.name}: the download {exc}. The partial file {part} is kept: run the same command "
                    "again to resume where it stopped"
                ) from None
    problem = ""
    if size is not None and part.stat().st_size != size:
        problem = f"size mismatch (expected {size:,} bytes, got {part.stat().st_size:,})"
    elif sha256 is not None:
        digest = file_sha256(part)
        if digest != sha256.lower():
            problem = f"checksum mismatch (expected sha256 {sha256.lower()}, got {digest})"
    if problem:
        part.unlink()
        raise DownloadError(
            f"{dest.name}: {problem}; the corrupted download was deleted. Fix: run the command again; "
            f"if it fails again, the file at {url} differs from the one expected: download it by hand "
            "from the organisers' page, or delete the recorded digest if the new file is legitimate"
        )
    os.replace(part, dest)
    return dest


# ---------------------------------------------------------------------------------------------
# extraction


def _inside(root: Path, relative: str) -> bool:
    """Whether ``root/relative`` (normalised, links not followed) stays inside ``root``."""
    full = os.path.normpath(os.path.join(root, relative))
    return full == str(root) or full.startswith(str(root) + os.sep)


def _check_name(archive: Path, name: str, root: Path) -> None:
    clean = name.replace("\\", "/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise DownloadError(f"{archive}: refuses to extract {name!r}: absolute path. The archive is not safe: "
                            "delete it and download it again from the official page")
    if ".." in PurePosixPath(clean).parts or not _inside(root, clean):
        raise DownloadError(f"{archive}: refuses to extract {name!r}: it points outside the target folder ('..'). "
                            "The archive is not safe: delete it and download it again from the official page")


def _check_link(archive: Path, name: str, target: str, root: Path, hard: bool) -> None:
    clean = target.replace("\\", "/")
    base = "" if hard else str(PurePosixPath(name.replace("\\", "/")).parent)
    if clean.startswith("/") or not _inside(root, os.path.join(base, clean)):
        raise DownloadError(f"{archive}: refuses to extract {name!r}: a link to {target!r}, outside the target "
                            "folder. The archive is not safe: delete it and download it again")


#: Default caps on what one archive may write (``sbsr-lab data fetch --max-extract-gb / --max-extract-ratio``).
DEFAULT_MAX_EXTRACT_GB = 20.0
DEFAULT_MAX_RATIO = 200.0
_RATIO_FLOOR = 64 << 20  # archives writing less than this (bytes) are not ratio-checked (tiny test archives)


def _top(name: str) -> str:
    """The top-level entry of a member name (``a/b/c`` -> ``a``)."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    return parts[0] if parts else ""


def _check_size(archive: Path, total: int, target: Path, max_bytes: int, max_ratio: float) -> None:
    """Refuse archives that would write more than ``max_bytes``, expand more than ``max_ratio`` times
    (zip bombs), or not fit on the disk, before anything is written."""
    packed = max(1, archive.stat().st_size)
    gb = total / 1e9
    if total > max_bytes:
        raise DownloadError(
            f"{archive}: would write {gb:.2f} GB, more than the {max_bytes / 1e9:.2f} GB limit. If this is a real "
            f"benchmark archive, raise the limit: `sbsr-lab data fetch ... --max-extract-gb {int(gb) + 1}` "
            f"(max_extract_gb= in Python); otherwise delete it, it is not the expected file")
    if total > _RATIO_FLOOR and total / packed > max_ratio:
        raise DownloadError(
            f"{archive}: {packed:,} bytes would expand to {total:,} bytes ({total / packed:.0f}x, more than "
            f"{max_ratio:g}x): this looks like a zip bomb, nothing was extracted. Delete it; if you trust it, "
            f"pass --max-extract-ratio {int(total / packed) + 1}")
    free = shutil.disk_usage(target).free
    if total > free:
        raise DownloadError(f"{archive}: needs {gb:.2f} GB but {target} has only {free / 1e9:.2f} GB free; "
                            "free some space or fetch into another --root")


def _extract_zip(archive: Path, tmp: Path, keep: Callable[[str], bool], size_check: Callable[[int], None]) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = []
            for info in zf.infolist():
                _check_name(archive, info.filename, tmp)
                if not keep(info.filename):
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    if info.file_size > 4096:
                        raise DownloadError(f"{archive}: refuses to extract {info.filename!r}: a link target "
                                            "longer than 4 KiB")
                    _check_link(archive, info.filename, zf.read(info).decode("utf-8", "replace"), tmp, hard=False)
                members.append(info)
            # declared sizes are a hard cap: zipfile stops reading a member at its declared size
            size_check(sum(i.file_size for i in members))
            for info in members:
                zf.extract(info, tmp)
    except DownloadError:  # (an OSError too: not to be wrapped below)
        raise
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DownloadError(f"{archive}: cannot extract ({exc}); delete it and download it again") from None


def _extract_tar(archive: Path, tmp: Path, keep: Callable[[str], bool], size_check: Callable[[int], None]) -> None:
    try:
        with tarfile.open(archive, "r:*") as tf:
            members = []
            for m in tf.getmembers():
                _check_name(archive, m.name, tmp)
                if not keep(m.name):
                    continue
                if m.issym() or m.islnk():
                    _check_link(archive, m.name, m.linkname, tmp, hard=m.islnk())
                elif not (m.isfile() or m.isdir()):
                    raise DownloadError(f"{archive}: refuses to extract {m.name!r}: a device or special file")
                members.append(m)
            size_check(sum(m.size for m in members if m.isfile()))
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: the stdlib's own checks too
                tf.extractall(tmp, members=members, filter="data")
            else:  # pragma: no cover - older Pythons rely on the checks above
                tf.extractall(tmp, members=members)
    except DownloadError:
        raise
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DownloadError(f"{archive}: cannot extract ({exc}); delete it and download it again") from None


def safe_extract(archive: str | os.PathLike[str], target: str | os.PathLike[str], *,
                 names: Collection[str] | None = None, replace: Collection[str] = (),
                 max_extract_gb: float = DEFAULT_MAX_EXTRACT_GB, max_ratio: float = DEFAULT_MAX_RATIO) -> list[Path]:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``target`` safely; return the top-level paths made.

    * Every member is checked before anything is written: absolute paths, ``..`` and links that leave
      the target are refused (:class:`DownloadError`), as are device files.
    * Only members under the top-level ``names`` are written (``None``: any name); others are skipped,
      and an archive holding none of them raises. Hidden top-level names (``.bashrc``) never are.
    * The total written is capped at ``max_extract_gb`` GB and at ``max_ratio`` times the archive's size
      (zip bombs), and must fit on the disk; all three are checked from the headers before writing.
    * Extraction goes into a fresh hidden folder inside ``target``; only when it is complete are its
      top-level entries renamed into place (atomic renames). An existing entry is never deleted or
      replaced unless its name is in ``replace`` (entries the caller made itself): otherwise it raises
      before anything moves.
    """
    archive, target = Path(archive), Path(target)
    if target.exists() and not target.is_dir():
        raise DownloadError(f"{target} is a file, not a folder; give --root a folder")
    target.mkdir(parents=True, exist_ok=True)
    wanted = set(names) if names is not None else None

    def keep(member: str) -> bool:
        top = _top(member)
        return bool(top) and not top.startswith(".") and (wanted is None or top in wanted)

    def size_check(total: int) -> None:
        _check_size(archive, total, target, int(max_extract_gb * 1e9), max_ratio)

    tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".extracting", dir=target)).resolve()
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, tmp, keep, size_check)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, tmp, keep, size_check)
        else:
            raise DownloadError(f"{archive}: not a zip or tar archive (a damaged or HTML download?); "
                                "delete it and download it again")
        entries = sorted(tmp.iterdir())
        if not entries:
            expected = ", ".join(sorted(wanted)) if wanted else "any non-hidden name"
            raise DownloadError(f"{archive}: holds nothing to extract (expected the top-level folder {expected}); "
                                "it is not the expected archive: delete it and download it again")
        for entry in entries:  # check every destination before moving any
            dest = target / entry.name
            if (dest.exists() or dest.is_symlink()) and entry.name not in replace:
                raise DownloadError(
                    f"{dest} already exists and was not extracted by sbsr-lab, so it is left alone and nothing "
                    f"was extracted from {archive.name}. Fix: move it away (or fetch into another --root); if you "
                    "extracted the archive yourself, use the folder as it is (`sbsr-lab data prepare`)")
        made = []
        for entry in entries:
            dest = target / entry.name
            if dest.exists() or dest.is_symlink():  # ours (in ``replace``): move aside, then delete with tmp
                os.replace(dest, tmp / f".old-{entry.name}")
            os.replace(entry, dest)
            made.append(dest)
        return made
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_archive(path: Path) -> None:
    """Read the whole archive once (zip: every member's CRC) so a corrupt file is caught early."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"{path}: member {bad!r} is corrupt; delete the file and download it again")
        elif tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as tf:
                tf.getmembers()
        else:
            raise DownloadError(f"{path}: not a zip or tar archive (a damaged or HTML download?); "
                                "delete it and download it again")
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise DownloadError(f"{path}: damaged archive ({exc}); delete it and download it again") from None


# ---------------------------------------------------------------------------------------------
# the whole dataset


def fetch_dataset(
    name: str,
    root: str | os.PathLike[str],
    base_url: str | None = None,
    progress: bool = True,
    *,
    extract: bool = True,
    retries: int = 2,
    timeout: float = 60.0,
    max_extract_gb: float = DEFAULT_MAX_EXTRACT_GB,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> Path:
    """Download, verify and extract benchmark ``name`` ("shrec13" or "shrec14") into ``root``.

    ``base_url`` replaces the registry's URLs by ``base_url/<file name>`` (a mirror). Archives
    stay in ``root/downloads`` (delete them to save space once extracted). Re-running is cheap:
    archives already there are verified, not downloaded again, and extraction is skipped when
    the recorded digest shows the same archive was already extracted.

    Each archive writes only its expected top-level folder (``Archive.provides``), at most
    ``max_extract_gb`` GB and ``max_ratio`` times its size (:func:`safe_extract`); an existing folder
    is replaced only when an earlier fetch into the same root extracted it (recorded in
    ``ROOT/.sbsr_checksums.json``), never a folder of the user's.

    Raises:
        DownloadError: offline, refused, interrupted or corrupted; the message says how to download
            by hand and where to put the files.
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(REGISTRY)}")
    source = REGISTRY[name]
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise DownloadError(f"--root {root} is a file, not a folder; give a folder (it is created if missing)")
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    record = _load_checksums(root)
    for arc in source.archives:
        known = arc.sha256 or record.get(arc.filename, {}).get("sha256")
        dest = next((p for p in (downloads / arc.filename, root / arc.filename) if p.is_file()), None)
        digest: str | None = None
        fresh = dest is None  # downloaded by this call (not placed by hand): ours to delete if bad
        if dest is None:
            url = f"{base_url.rstrip('/')}/{arc.filename}" if base_url else arc.url
            try:
                dest = download(url, downloads / arc.filename, known, size=arc.size, progress=progress,
                                retries=retries, timeout=timeout)
            except DownloadError as exc:
                raise DownloadError(f"{exc}\n\n{manual_instructions(name, root)}") from None
            digest = known
        if digest is None:
            digest = file_sha256(dest)
            if known and digest != known:
                raise DownloadError(
                    f"{dest}: checksum mismatch (expected sha256 {known}, got {digest}). If you placed this file "
                    f"by hand, it is not the expected archive: delete it and download it again.\n\n"
                    f"{manual_instructions(name, root)}"
                )
        entry = record.setdefault(arc.filename, {})
        if not known:
            try:
                _check_archive(dest)
            except DownloadError as exc:
                if fresh:
                    dest.unlink()
                    raise DownloadError(f"{exc} (the download was deleted)\n\n{manual_instructions(name, root)}") from None
                raise
            entry.update(sha256=digest, size=dest.stat().st_size, source="first verified download",
                         recorded=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        if extract and entry.get("extracted_sha256") != digest:
            made = safe_extract(dest, root, names=[arc.provides] if arc.provides else None,
                                replace=entry.get("extracted", []), max_extract_gb=max_extract_gb,
                                max_ratio=max_ratio)
            entry.update(extracted_sha256=digest, extracted=[p.name for p in made])
        _save_checksums(root, record)
    return root

