"""The CLI's error boundary (issue 18): bad input ends in one `sbsr-lab: error: ...` line naming the file
and the fix (exit 2), unexpected errors in one line too (exit 1) unless --debug, Ctrl-C in 130; a killed
build leaves no workers; a full disk leaves no half-written file."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sbsr_lab import cli
from sbsr_lab.errors import DiskFullError, SbsrError
from sbsr_lab.io import atomic_write_text

SBSR = [sys.executable, "-m", "sbsr_lab.cli"]


def _run(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    err = capsys.readouterr().err
    return code, err


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    out = {"file": tmp_path / "a_file"}
    out["file"].write_text("x")
    out["garbage_off"] = tmp_path / "garbage.off"
    out["garbage_off"].write_bytes(b"OFF\n3 1 0\n0 0 0\nnan 1 0\n")
    out["huge_png"] = tmp_path / "huge.png"
    from PIL import Image

    Image.new("L", (12000, 12000), 255).save(out["huge_png"], optimize=True)
    out["soup"] = tmp_path / "empty.off"
    out["soup"].write_text("OFF\n0 0 0\n")
    return out


CASES = [
    (["data", "build", "--profile", "ci", "--root", "{file}"], "--root .*a_file is a file, not a folder"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "epochs=0"], "'epochs' = 0 is out of range"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "batch_size=0"], "'batch_size' = 0"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "lr=nan"], "'lr' = nan"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "image_size=0"], "'image_size' = 0"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "max_noise=-5"], "'max_noise' = -5.0"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "classes=chair,unicorn"], "Unknown class 'unicorn'"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--workers", "-3"], "'workers' = -3"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "shapes_per_class=0"], "'shapes_per_class' = 0"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "epochz=3"], "Unknown profile key 'epochz'"),
    (["data", "build", "--profile", "ci", "--root", "{tmp}/d", "--set", "epochs"], "key=value"),
    (["data", "fetch", "shrec13", "--root", "{file}"], "is a file, not a folder"),
    (["train", "teacher", "--profile", "ci", "--data", "{file}", "--out", "{tmp}/r"], "--data .*is a file, not a folder"),
    (["train", "teacher", "--profile", "ci", "--data", "{tmp}/none", "--out", "{file}"], "--out .*is a file, not a folder"),
    (["train", "teacher", "--profile", "ci", "--data", "{tmp}/none", "--out", "{tmp}/r"], "none"),
    (["evaluate", "{tmp}/no_run"], "no_run does not exist"),
    (["render", "{garbage_off}", "--out", "{tmp}/x.png"], "garbage.off"),
    (["render", "{soup}", "--out", "{tmp}/x.png"], "empty"),
    (["render", "{tmp}/missing.off", "--out", "{tmp}/x.png"], "missing.off"),
    (["query", "{huge_png}"], r"12000x12000 pixels.*Fix: shrink it"),
]


@pytest.mark.parametrize("argv, needle", CASES, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(CASES)])
def test_bad_input_is_one_clear_line(capsys, tmp_path, files, argv, needle):
    args = [a.format(tmp=tmp_path, **files) for a in argv]
    code, err = _run(capsys, *args)
    assert code == 2, err
    assert err.startswith("sbsr-lab: error: ") and "Traceback" not in err
    import re

    assert re.search(needle, err), err


def test_unexpected_errors_are_one_line_unless_debug(capsys, monkeypatch, tmp_path):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "cmd_render", broken)
    parser = cli.build_parser

    def patched(with_stages=True):
        p = parser(with_stages)
        p._subparsers._group_actions[0].choices["render"].set_defaults(func=broken)
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    argv = ["render", str(tmp_path / "m.off"), "--out", str(tmp_path / "x.png")]
    code, err = _run(capsys, *argv)
    assert code == 1 and err.startswith("sbsr-lab: error: ZeroDivisionError: division by zero")
    assert "test_cli_errors.py" not in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(ZeroDivisionError):
        cli.main(argv + ["--debug"])
    monkeypatch.setenv("SBSR_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(argv)


@pytest.mark.parametrize("exc, code, needle", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/x.png"), 2, "No space left on device: /data/x.png. Fix: free"),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 2, "Permission denied: /root/x. Fix: check the permissions"),
    (MemoryError(), 1, "out of memory. Fix: a smaller profile"),
    (ValueError("bad"), 1, "ValueError: bad"),
])
def test_what_each_kind_of_error_prints(capsys, monkeypatch, tmp_path, exc, code, needle):
    def boom(args):
        raise exc

    parser = cli.build_parser

    def patched(with_stages=True):
        p = parser(with_stages)
        p._subparsers._group_actions[0].choices["render"].set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    got, err = _run(capsys, "render", str(tmp_path / "m.off"), "--out", str(tmp_path / "x.png"))
    assert got == code and needle in err and "Traceback" not in err


def test_disk_full_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")
    real_write = Path.write_bytes

    def full(self, data):
        real_write(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(DiskFullError, match="disk is full .*nothing was half-written.*Fix: free some space") as info:
        atomic_write_text(target, "new content")
    assert isinstance(info.value, SbsrError) and isinstance(info.value, OSError)
    monkeypatch.undo()
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_build(tmp_path):
    import psutil

    env = {**os.environ, "SBSR_PROFILE": "ci"}
    proc = subprocess.Popen([sys.executable, "-c", "from sbsr_lab.cli import main; main()", "--quiet", "data", "build",
                             "--profile", "ci", "--set", "shapes_per_class=6", "--workers", "2", "--root",
                             str(tmp_path / "d")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(workers) < 2 and proc.poll() is None:
            time.sleep(0.2)
            workers = _children(proc.pid)
        if proc.poll() is not None:
            pytest.skip("the build finished before its workers could be seen")
        assert len(workers) >= 2, "no worker processes appeared"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 15
        alive = workers
        while alive and time.time() < deadline:
            time.sleep(0.2)
            alive = [w for w in workers if psutil.pid_exists(w) and psutil.Process(w).status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"workers {alive} outlived the killed build"
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:  # only the workers this test started, if the check failed
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(w, signal.SIGKILL)
