"""Progress output: a bar on a terminal, one line (no carriage-return frames) anywhere else."""

from __future__ import annotations

import io

from sbsr_lab.progress import interactive, note, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_non_terminal_gets_one_line_and_no_frames():
    out = io.StringIO()
    bar = progress(range(500), total=500, desc="teacher 1/2", stream=out)
    assert sum(1 for _ in bar) == 500
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1 and text.startswith("teacher 1/2: 500/500 done")


def test_postfix_silence_and_notes_on_a_non_terminal():
    out = io.StringIO()
    bar = progress(iter([1, 2]), desc="x", stream=out, summary=False)
    for _ in bar:
        bar.set_postfix(loss="0.1")
    assert out.getvalue() == ""
    quiet = io.StringIO()
    assert list(progress([1, 2], stream=quiet, enabled=False)) == [1, 2] and quiet.getvalue() == ""
    note("epoch 1/2: loss 0.5", out)
    assert out.getvalue() == "epoch 1/2: loss 0.5\n"


def test_a_terminal_gets_a_tqdm_bar():
    term = Terminal()
    assert interactive(term) and not interactive(io.StringIO())
    assert list(progress(range(3), total=3, desc="bar", stream=term)) == [0, 1, 2]
    assert "\r" in term.getvalue() and "0/3" in term.getvalue()  # tqdm frames (leave=False clears the last)


def test_data_build_jobs_print_one_line_under_a_non_terminal(capsys):
    from sbsr_lab.data.build import run_jobs

    results = run_jobs(divmod, [(i, 3) for i in range(7)], 1, "divisions")
    err = capsys.readouterr().err
    assert results == [divmod(i, 3) for i in range(7)]
    assert "\r" not in err and err.count("\n") == 1 and err.startswith("divisions: 7/7 done")


def test_gallery_embedding_goes_through_a_dataloader_with_one_progress_line(capsys):
    import torch
    from torch.utils.data import TensorDataset

    from sbsr_lab.retrieval.runs import embed_shapes

    class Mean(torch.nn.Module):  # (B, V, 1, H, W) -> (B, 2) unit rows
        def embed(self, x):
            return torch.nn.functional.normalize(torch.stack([x.mean((1, 2, 3, 4)), x.std((1, 2, 3, 4))], 1), dim=1)

    views = torch.rand(10, 3, 1, 4, 4)
    z = embed_shapes(Mean(), TensorDataset(views, torch.zeros(10)), batch_size=4)
    assert z.shape == (10, 2) and torch.allclose(z, Mean().embed(views))
    err = capsys.readouterr().err
    assert "\r" not in err and err.startswith("embedding 10 gallery shapes: 3/3 done")
