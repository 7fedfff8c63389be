"""Every checker prints its verdicts in one format, through ``sbsr_lab.checks.verdict``."""

from __future__ import annotations

import inspect
import re

import pytest

from sbsr_lab import checks
from sbsr_lab.checks import FAIL, PASS, CheckStop, verdict

#: ``✅ name: correct. Detail.`` / ``❌ name: not yet. Detail.``, then at most one ``   Hint: ...`` line.
VERDICT_LINE = re.compile(rf"^({PASS}|{FAIL}) [^:\n]+: (correct|not yet)\.( [A-Z0-9`'(+\-].*[.!?])?$")
HINT_LINE = re.compile(r"^   Hint: \S.*[.!?]$")

CHECKERS = [(name, fn) for module in (checks.render, checks.losses, checks.retrieval, checks.strokes)
            for name, fn in vars(module).items() if name.startswith("check_") and inspect.isfunction(fn)]


def _stub(*args, **kwargs):
    raise NotImplementedError("Your turn: replace this line with your solution.")


def _assert_format(out: str) -> list[str]:
    lines = out.splitlines()
    assert lines, "the checker printed nothing"
    for i, line in enumerate(lines):
        if line.startswith("   Hint: "):
            assert HINT_LINE.match(line), line
            assert i > 0 and lines[i - 1].startswith(FAIL), f"a hint follows a failing verdict only: {out}"
        else:
            assert VERDICT_LINE.match(line), line
    return lines


def test_verdict_lines(capsys):
    assert verdict(True, "look_at", "your camera matrices match") is True
    assert verdict(False, "AM-softmax", "with s=15: got 1.2, expected 1.4", "the margin is missing") is False
    assert verdict(False, "wobble", "amount=0 should return the stroke unchanged.") is False
    assert capsys.readouterr().out.splitlines() == [
        f"{PASS} look_at: correct. Your camera matrices match.",
        f"{FAIL} AM-softmax: not yet. With s=15: got 1.2, expected 1.4.",
        "   Hint: The margin is missing.",
        f"{FAIL} wobble: not yet. amount=0 should return the stroke unchanged.",
    ]


def test_checkstop_carries_the_hint():
    stop = CheckStop("got 1, expected 2.", "the scale is missing.")
    assert (str(stop), stop.detail, stop.hint) == ("got 1, expected 2.", "got 1, expected 2.", "the scale is missing.")


@pytest.mark.parametrize("name,fn", CHECKERS, ids=[n for n, _ in CHECKERS])
def test_every_checker_says_not_yet_in_the_one_format(name, fn, capsys):
    stubs = [_stub] * sum(p.default is inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())
    assert fn(*stubs) is False
    lines = _assert_format(capsys.readouterr().out)
    assert all(not ln.startswith(PASS) for ln in lines)
    assert any("not implemented" in ln.lower() for ln in lines), lines


def test_a_recognised_mistake_is_named_in_the_hint(capsys):
    import torch.nn.functional as F

    def no_margin(cosine, labels, scale, margin):
        return F.cross_entropy(scale * cosine, labels)

    assert checks.losses.check_am_softmax(no_margin) is False
    lines = _assert_format(capsys.readouterr().out)
    assert lines[0].startswith(f"{FAIL} AM-softmax: not yet. With s=15.0, m=0.35: got ")
    assert lines[1] == "   Hint: The margin is missing: subtract m from the cosine of the true class only."


def test_a_pass_is_one_line(capsys):
    from sbsr_lab.losses import AMSoftmaxLoss

    assert checks.losses.check_am_softmax(lambda c, y, s, m: AMSoftmaxLoss(s, m)(c, y)) is True
    lines = _assert_format(capsys.readouterr().out)
    assert lines == [f"{PASS} AM-softmax: correct. The margin makes the true class harder, the scale sharpens "
                     "the softmax."]
