"""Outputs are written only to regular files (a link is never followed nor replaced; FIFOs, devices and
folders are refused), and images are decoded only in the formats sbsr_lab allows (issue 30)."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from sbsr_lab.cli import main
from sbsr_lab.errors import SbsrError, SketchError
from sbsr_lab.io import IMAGE_FORMATS, OutputPathError, atomic_write_json, open_image, save_png


def test_a_link_a_fifo_and_a_folder_are_never_written(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    with pytest.raises(OutputPathError, match="symbolic link"):
        atomic_write_json(link, {"a": 1})
    assert target.read_text() == "keep me" and link.is_symlink()
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="not a regular file"):
        save_png(fifo, np.zeros((4, 4)))
    assert fifo.exists() and not fifo.is_file()
    with pytest.raises(OutputPathError, match="folder"):
        atomic_write_json(tmp_path, {})
    atomic_write_json(tmp_path / "new.json", {"a": 1})  # a new file and a regular file are fine
    atomic_write_json(tmp_path / "new.json", {"a": 2})
    assert isinstance(OutputPathError("x"), SbsrError)


def test_the_cli_refuses_an_out_link_with_a_clear_error(tmp_path, capsys):
    mesh = tmp_path / "box.off"
    mesh.write_text("OFF\n8 12 0\n" + "\n".join(f"{x} {y} {z}" for x in (0, 1) for y in (0, 1) for z in (0, 1)) + "\n"
                    + "\n".join(f"3 {a} {b} {c}" for a, b, c in [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5),
                                                                     (0, 5, 1), (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4),
                                                                     (1, 5, 7), (1, 7, 3)]) + "\n")
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    out = tmp_path / "grid.png"
    out.symlink_to(victim)
    assert main(["render", str(mesh), "--out", str(out), "--size", "32", "--profile", "ci"]) == 2
    assert "symbolic link" in capsys.readouterr().err and victim.read_text() == "do not touch"


def test_postscript_named_png_is_refused_and_no_program_starts(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a) or (_ for _ in ()).throw(OSError("no")))
    eps = tmp_path / "drawing.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\nshowpage\n")
    with pytest.raises(SketchError, match="not one of the formats sbsr_lab reads"):
        open_image(eps)
    assert started == [] and "EPS" not in IMAGE_FORMATS and "PNG" in IMAGE_FORMATS


def test_committed_results_and_the_bundle_hold_no_absolute_paths():
    """Results JSON files and the bundle's descriptions must not carry the paths of the machine that made them."""
    import re
    from pathlib import Path

    from sbsr_lab.io import portable_path

    root = Path(__file__).resolve().parents[1]
    files = list((root / "docs" / "results").glob("*.json")) + list((root / "sbsr_lab" / "assets" / "bundle").glob("*.json"))
    assert files
    for f in files:
        assert not re.search(r'"/(work|tmp|home|root|Users)/', f.read_text()), f
    assert portable_path("/work/exp/cmp2/s0") == "cmp2/s0" and portable_path("runs/a") == "runs/a"
    assert portable_path("/a") == "a"
