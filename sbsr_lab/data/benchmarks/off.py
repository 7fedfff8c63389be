"""OFF meshes as found in the wild: a forgiving reader and an atomic writer.

The Object File Format is the format of the SHREC'13/'14 target models and of ModelNet. Real files
break the specification in many small ways; :func:`read_off` accepts all of these:

* counts glued to the keyword (``OFF1234 2345 0``) or on the keyword's line (``OFF 8 6 0``),
* the ``COFF``, ``NOFF``, ``CNOFF``, ``STOFF`` variants (extra per-vertex values are ignored),
* a missing ``OFF`` keyword (the file starts with the three counts),
* ``#`` comments anywhere, blank lines, CRLF line ends, a UTF-8 byte-order mark,
* polygons with more than 3 vertices (fan-triangulated), per-face colour values after the indices,
* scientific notation (``1.5e-03``).

Files that cannot be read (truncated, garbage, indices out of range, NaN coordinates) raise
:class:`~sbsr_lab.errors.MeshError` naming the file, the line and the fix.

    >>> mesh = read_off("SHREC13_SBR_TARGET_MODELS/models/m0.off")   # doctest: +SKIP
    >>> mesh.vertices.shape, mesh.faces.shape                          # doctest: +SKIP
    ((V, 3), (F, 3))
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import trimesh

from sbsr_lab.errors import MeshError
from sbsr_lab.io import atomic_write_text

__all__ = ["read_off", "parse_off", "write_off"]

# keyword prefixes: ST (texture coords), C (colours), N (normals), 4 (4-D), n (n-D); then OFF,
# then possibly the counts glued on (``OFF1234 2345 0``).
_HEADER = re.compile(r"^(?P<kw>(?:ST)?C?N?4?n?OFF)(?P<rest>.*)$")
_FIX_REDOWNLOAD = "the file is probably damaged: download or extract it again"


def _clean_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, content) of every non-empty line, comments removed."""
    out: list[tuple[int, str]] = []
    has_comments = "#" in text
    for number, line in enumerate(text.splitlines(), start=1):
        if has_comments:
            line = line.split("#", 1)[0]
        line = line.strip()
        if line:
            out.append((number, line))
    return out


def _ints(tokens: list[str], source: str, number: int, what: str) -> list[int]:
    try:
        return [int(t) for t in tokens]
    except ValueError:
        raise MeshError(
            f"{source}, line {number}: expected {what} (integers), got {' '.join(tokens)!r}; "
            f"{_FIX_REDOWNLOAD}"
        ) from None


def _parse_header(lines: list[tuple[int, str]], source: str) -> tuple[int, int, int]:
    """Return (num_vertices, num_faces, index of the first data line)."""
    if not lines:
        raise MeshError(f"{source}: the file is empty (no header, no data); {_FIX_REDOWNLOAD}")
    number, first = lines[0]
    match = _HEADER.match(first)
    if match:
        keyword, rest = match.group("kw"), match.group("rest").strip()
        if "4" in keyword[:-3] or "n" in keyword[:-3]:
            raise MeshError(
                f"{source}, line {number}: {keyword!r} (4-D or n-D OFF) is not supported; "
                "convert the mesh to plain 3-D OFF, OBJ or PLY"
            )
        if rest.upper().startswith("BINARY"):
            raise MeshError(
                f"{source}, line {number}: binary OFF is not supported; convert it to ASCII OFF or PLY "
                "(e.g. `meshlabserver -i in.off -o out.ply`)"
            )
        count_tokens = rest.split()
        start = 1
        if not count_tokens:
            if len(lines) < 2:
                raise MeshError(f"{source}: the header has no vertex/face counts; {_FIX_REDOWNLOAD}")
            number, counts_line = lines[1]
            count_tokens = counts_line.split()
            start = 2
    else:
        # No keyword: some exporters start directly with "V F E".
        count_tokens = first.split()
        start = 1
        if len(count_tokens) != 3 or not all(t.lstrip("-").isdigit() for t in count_tokens):
            raise MeshError(
                f"{source}, line {number}: not an OFF file (expected 'OFF' then 'vertices faces edges', "
                f"got {first[:60]!r}); check the file's format or extension"
            )
    if len(count_tokens) < 2:
        raise MeshError(
            f"{source}, line {number}: expected 'vertices faces [edges]' counts, got {' '.join(count_tokens)!r}; "
            f"{_FIX_REDOWNLOAD}"
        )
    nv, nf = _ints(count_tokens[:2], source, number, "vertex and face counts")
    if nv < 0 or nf < 0:
        raise MeshError(f"{source}, line {number}: negative counts ({nv}, {nf}); {_FIX_REDOWNLOAD}")
    return nv, nf, start


def _parse_vertices(block: list[tuple[int, str]], source: str) -> np.ndarray:
    rows = [line.split() for _, line in block]
    width = {len(r) for r in rows}
    try:
        if len(width) == 1 and min(width) >= 3:
            return np.array(rows, dtype=np.float64)[:, :3]
        return np.array([r[:3] for r in rows], dtype=np.float64)
    except ValueError:
        pass
    for (number, line), row in zip(block, rows):  # find the culprit for the message
        try:
            if len(row) < 3:
                raise ValueError
            [float(t) for t in row[:3]]
        except ValueError:
            raise MeshError(
                f"{source}, line {number}: expected a vertex 'x y z', got {line[:80]!r}; {_FIX_REDOWNLOAD}"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _parse_faces(block: list[tuple[int, str]], source: str) -> np.ndarray:
    rows = [line.split() for _, line in block]
    # Fast path: all triangles, nothing after the indices.
    if rows and all(len(r) == 4 and r[0] == "3" for r in rows):
        try:
            return np.array(rows, dtype=np.int64)[:, 1:]
        except ValueError:
            pass
    tris: list[tuple[int, int, int]] = []
    for (number, line), row in zip(block, rows):
        n = _ints(row[:1], source, number, "a face 'n i1 ... in'")[0]
        if len(row) < n + 1:
            raise MeshError(
                f"{source}, line {number}: face says {n} vertices but lists {len(row) - 1}: {line[:80]!r}; "
                f"{_FIX_REDOWNLOAD}"
            )
        idx = _ints(row[1 : n + 1], source, number, "face vertex indices")
        for k in range(1, n - 1):  # fan triangulation; faces with n < 3 give nothing
            tris.append((idx[0], idx[k], idx[k + 1]))
    return np.array(tris, dtype=np.int64).reshape(-1, 3)


def parse_off(text: str, source: str = "<string>") -> tuple[np.ndarray, np.ndarray]:
    """Parse OFF text into ``(vertices (V, 3) float64, faces (F, 3) int64)`` triangles.

    ``source`` names the file in error messages. See the module docstring for the accepted variants.
    """
    text = text.lstrip("\ufeff")
    lines = _clean_lines(text)
    nv, nf, start = _parse_header(lines, source)
    end_v, end_f = start + nv, start + nv + nf
    if len(lines) < end_f:
        last = lines[-1][0] if lines else 0
        have_v = max(0, min(nv, len(lines) - start))
        have_f = max(0, len(lines) - end_v)
        raise MeshError(
            f"{source}: truncated: the header promises {nv} vertices and {nf} faces but the file ends at "
            f"line {last} after {have_v} vertices and {have_f} faces; {_FIX_REDOWNLOAD}"
        )
    if nv == 0 or nf == 0:
        raise MeshError(f"{source}: the mesh is empty ({nv} vertices, {nf} faces); use another model")
    vertices = _parse_vertices(lines[start:end_v], source)
    if not np.isfinite(vertices).all():
        bad = int(np.argwhere(~np.isfinite(vertices).all(axis=1))[0, 0])
        raise MeshError(
            f"{source}, line {lines[start + bad][0]}: vertex {bad} has NaN or infinite coordinates; "
            "repair the mesh (e.g. remove the vertex) or use another model"
        )
    faces = _parse_faces(lines[end_v:end_f], source)
    if len(faces) == 0:
        raise MeshError(f"{source}: no polygon has 3 or more vertices, so there is no surface to render")
    if faces.min() < 0 or faces.max() >= nv:
        row = int(np.argwhere((faces < 0).any(axis=1) | (faces >= nv).any(axis=1))[0, 0])
        raise MeshError(
            f"{source}: a face refers to vertex {int(faces[row][(faces[row] < 0) | (faces[row] >= nv)][0])} "
            f"but there are only {nv} vertices (indices are 0-based); {_FIX_REDOWNLOAD}"
        )
    return vertices, faces


def read_off(path: str | os.PathLike[str]) -> trimesh.Trimesh:
    """Read an OFF file (malformed variants included) into a triangle mesh, unprocessed.

    Returns ``trimesh.Trimesh`` with ``vertices (V, 3)`` in file units and ``faces (F, 3)``;
    polygons are fan-triangulated, colours and normals dropped, vertices not merged
    (``process=False``: what is in the file, in the file's order).

    Raises:
        MeshError: the file is missing, truncated, not OFF, or has invalid numbers; the message
            names the file and line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MeshError(f"{path}: no such file; check the path (or run `sbsr-lab data fetch`)") from None
    except IsADirectoryError:
        raise MeshError(f"{path}: is a folder, not an OFF file") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # latin-1 never fails: stray bytes in comments must not stop us; numbers are ASCII anyway.
    vertices, faces = parse_off(raw.decode("latin-1"), source=str(path))
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)


def write_off(path: str | os.PathLike[str], mesh: trimesh.Trimesh) -> None:
    """Write a triangle mesh as plain ASCII OFF, atomically (``%.9g`` keeps float32 exactly)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    buf = io.StringIO()
    buf.write(f"OFF\n{len(vertices)} {len(faces)} 0\n")
    np.savetxt(buf, vertices, fmt="%.9g")
    if len(faces):
        np.savetxt(buf, np.column_stack([np.full(len(faces), 3, dtype=np.int64), faces]), fmt="%d")
    atomic_write_text(path, buf.getvalue())
