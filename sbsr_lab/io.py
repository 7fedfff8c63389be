"""Small file helpers: atomic writes (temporary name, then rename) so no half-written file is ever left,
and a bounded image opener (:func:`open_image`) so no image file can make a reader allocate gigabytes."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator

import numpy as np

from sbsr_lab.errors import DiskFullError, SbsrError, SketchError

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image as PILImage

__all__ = ["sha256_file", "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "save_png", "load_png",
           "open_image", "MAX_IMAGE_PIXELS", "IMAGE_FORMATS", "check_output_path", "OutputPathError", "portable_path"]

#: The only image formats sbsr_lab decodes (Pillow's ``formats=`` allow-list): no format handed to an outside
#: program (Pillow gives EPS/PostScript to Ghostscript), no rarely used decoder.
IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "GIF", "WEBP")

#: Most pixels :func:`open_image` decodes (4096 x 4096): a sketch or a view needs far fewer. Larger JPEGs
#: are decoded at a reduced scale (``draft``); larger images of other formats are refused.
MAX_IMAGE_PIXELS = 4096 * 4096
#: Images up to this many pixels (a 600 dpi A4 scan is 35 MP) are decoded, then shrunk to MAX_IMAGE_PIXELS.
MAX_DECODE_PIXELS = 3 * MAX_IMAGE_PIXELS


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB blocks (any size, bounded memory)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def portable_path(path: str | os.PathLike[str], keep: int = 2) -> str:
    """A path as it may be written into a committed file: relative paths as they are, absolute ones cut to
    their last ``keep`` parts (``/work/exp/cmp2/s0`` -> ``cmp2/s0``), so no machine's folders are recorded."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    parts = [x for x in p.parts if x != p.anchor][-keep:]
    return Path(*parts).as_posix() if parts else "."


def _disk_full(exc: BaseException) -> bool:
    """An error that means no space was left: an ``OSError`` with ENOSPC/EDQUOT, or a library's own error
    wrapping one (safetensors raises ``SafetensorError("... IoError(Os { code: 28, kind: StorageFull ...")``)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "StorageFull" in text or "Disk quota exceeded" in text


class OutputPathError(SbsrError, OSError):
    """An output path that is not a regular file (a link, a FIFO, a device, a folder): never written."""


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if sbsr_lab may write it: absent, or an existing regular file. A symbolic link (even to a
    regular file), a FIFO, a device or a folder is refused with :class:`OutputPathError` naming the fix:
    sbsr_lab never follows a link when writing and never replaces one."""
    path = Path(path)
    if path.is_symlink():
        raise OutputPathError(f"{path} is a symbolic link; sbsr_lab does not write through links or replace them. "
                              "Fix: give the real path of a file to write")
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a FIFO, socket or device)"
        raise OutputPathError(f"{path} is {kind}; nothing was written. Fix: give the path of a regular file to write")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``, on error delete it.

    The temporary name keeps the suffix so that libraries choosing a format by extension still work::

        with atomic_path("views/a.png") as tmp:
            image.save(tmp)

    ``path`` must be absent or a regular file (:func:`check_output_path`): links, FIFOs and devices are refused.
    """
    path = check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if not isinstance(exc, DiskFullError) and _disk_full(exc):
            raise DiskFullError(errno.ENOSPC, f"cannot write {path}: the disk is full (nothing was half-written; "
                                f"an older file of that name is kept). Fix: free some space on {path.parent} "
                                "or write elsewhere") from exc
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Save a float image in [0, 1] (``(H, W)`` or ``(H, W, 3)``) or a uint8 image as PNG, atomically."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG", optimize=False)


def open_image(source: "str | os.PathLike[str] | IO[bytes]", *, max_pixels: int = MAX_IMAGE_PIXELS,
               error: type[Exception] | None = None) -> "PILImage":
    """Open and decode an image with bounded memory; the one way sbsr_lab opens PNG/JPEG files.

    Only :data:`IMAGE_FORMATS` are decoded (a PostScript file named ``.png`` is refused, never handed to
    Ghostscript). The header is read first (no pixels): an image of more than ``max_pixels`` is decoded at a reduced
    scale where the format allows it (JPEG ``draft``: 1/2, 1/4 or 1/8, no full-size decode); other formats
    up to 3 x ``max_pixels`` (e.g. a 600 dpi page scan) are decoded and at once shrunk by an integer factor
    to at most ``max_pixels``; anything larger is refused before anything large is allocated, with ``error`` (default
    :class:`~sbsr_lab.errors.SketchError`) naming the file, its size and the fix. Unreadable files raise
    the same error. Returns a loaded PIL image (the file is closed).
    """
    from PIL import Image, UnidentifiedImageError

    error = error or SketchError
    name = getattr(source, "name", None) if not isinstance(source, (str, os.PathLike)) else source
    name = name or "the image"
    fix = (f"Fix: shrink it to at most {int(max_pixels ** 0.5)}x{int(max_pixels ** 0.5)} pixels "
           "(a sketch needs about 1000 px a side) and save it again as PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below, more strictly
            try:
                im = Image.open(source, formats=IMAGE_FORMATS)
            except UnidentifiedImageError:
                raise error(f"{name}: cannot read the image: not one of the formats sbsr_lab reads "
                            f"({', '.join(IMAGE_FORMATS)}). Fix: save it again as PNG (black ink on white)") from None
        try:
            w, h = im.size
            if w * h > max_pixels and im.format == "JPEG":
                scale = next((k for k in (2, 4, 8) if -(-w // k) * -(-h // k) <= max_pixels), 8)
                im.draft(im.mode, (-(-w // scale), -(-h // scale)))
            shrink = 1
            if im.size[0] * im.size[1] > max_pixels and w * h <= 3 * max_pixels and im.format != "JPEG":
                shrink = next(k for k in (2, 3, 4) if -(-w // k) * -(-h // k) <= max_pixels)
            elif im.size[0] * im.size[1] > max_pixels or w <= 0 or h <= 0:
                raise error(f"{name}: the image is {w}x{h} pixels ({w * h / 1e6:.1f} megapixels), more than the "
                            f"{max_pixels / 1e6:.1f} megapixels sbsr_lab decodes; nothing was decoded. {fix}")
            im.load()
            if shrink > 1:  # box-filtered integer reduction: thin lines stay visible
                small = im.reduce(shrink) if im.mode not in ("1", "P") else im.convert("L").reduce(shrink)
                im.close()
                im = small
        except BaseException:
            im.close()
            raise
        return im
    except Image.DecompressionBombError as exc:
        raise error(f"{name}: the image is too large to decode safely ({exc}); nothing was decoded. {fix}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, error):
            raise
        raise error(f"{name}: cannot read the image ({exc}). Fix: save it again as PNG (black ink on white)") from None


def load_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a PNG as float32 in [0, 1]: ``(H, W)`` for grayscale, ``(H, W, 3)`` for colour
    (decoded through :func:`open_image`, so its pixel bound holds)."""
    from PIL import Image

    with open_image(path) as im:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            # transparent paper is white paper: composite onto white before dropping alpha
            mode, rgba = im.mode, im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            im = im.convert("RGB" if mode == "RGBA" else "L")
        elif im.mode in ("L", "I;16", "I", "F", "1", "P"):
            im = im.convert("L")
        else:
            im = im.convert("RGB")
        return np.asarray(im, dtype=np.float32) / 255.0
