"""Training on several processes, GPUs or machines: torch's own DistributedDataParallel under ``torchrun``.

    torchrun --standalone --nproc_per_node 4 -m sbsr_lab.cli train teacher --profile full --out runs/teacher
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint host:29500 \\
        -m sbsr_lab.cli train teacher --profile full --out /shared/runs/teacher     # and node_rank 1 on the other

:func:`~sbsr_lab.train.fit.fit` calls these helpers; outside ``torchrun`` each of them does nothing, so
one process trains exactly as before. Under ``torchrun`` (``WORLD_SIZE > 1`` or ``LOCAL_RANK`` set):

* :func:`setup` joins the process group (``nccl`` on CUDA, ``gloo`` on the CPU; destroyed at exit) and
  gives each process its GPU (``cuda:LOCAL_RANK``).
* :func:`shard_loaders`: every training loader gets a :class:`~torch.utils.data.DistributedSampler`
  (seed ``seed * 1000``, :func:`set_epoch` each epoch, so epoch e is shuffled with ``seed * 1000 + e``
  as the single-process loop seeds it) and ``batch_size // world_size`` per process: the profile's
  ``batch_size`` stays the global batch, so the steps per epoch and the learning-rate schedule do not
  change with the number of processes.
* :func:`wrap` puts the model and the stage's loss into ONE module, ``forward(batch) =
  criterion(model, batch)``, under DDP: whatever the loss calls (``model(x)``, ``model.sketch.embed``,
  a discriminator) runs inside DDP's forward, so every trained parameter's gradient is averaged over
  the processes, while the stage, validation and checkpoints keep the plain model (no ``.module``).
  BatchNorm normalises with each process's own batch (no SyncBatchNorm, which needs a GPU); its running
  statistics are rank 0's (DDP broadcasts buffers at every forward).
* The model is validated on rank 0 and the accuracy broadcast (:func:`broadcast_float`), so every rank
  takes the same ``best`` epoch; losses and image counts are summed over the ranks (:func:`all_reduce_sum`);
  only rank 0 (:func:`is_main`) writes checkpoints, ``metrics.csv`` and progress. ``--resume``: every rank
  loads ``last`` (the run folder must be on a file system every machine sees).

A stage's own ``train_step`` must make one backward pass per call of ``criterion`` (the default step,
or a gradient-reversal layer as DCA's adaptation): DDP averages the gradients during that backward.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

__all__ = ["launched", "setup", "is_distributed", "rank", "world_size", "is_main", "barrier", "wrap", "unwrap",
           "sampler_for", "shard_loaders", "set_epoch", "all_reduce_sum", "broadcast_float", "seed_offset"]


def launched() -> bool:
    """True in a process started by ``torchrun`` (or any launcher setting ``WORLD_SIZE``/``LOCAL_RANK``)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or "LOCAL_RANK" in os.environ


def is_distributed() -> bool:
    """True when a process group is initialised (by :func:`setup` or by the caller)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0: the process that writes checkpoints, ``metrics.csv`` and progress."""
    return rank() == 0


def setup(device: torch.device) -> torch.device:
    """Join the ``torchrun`` process group (once per process) and return this process's device.

    ``nccl`` when training on CUDA, else ``gloo``; the group is destroyed when the process exits. A CUDA
    device becomes ``cuda:LOCAL_RANK``. Outside ``torchrun`` (and with no group set up by the caller)
    ``device`` is returned unchanged.
    """
    if not launched() and not is_distributed():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not is_distributed():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_teardown)
    return device


def _teardown() -> None:
    if is_distributed():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (nothing to wait for in one process)."""
    if is_distributed():
        dist.barrier()


def seed_offset() -> int:
    """Added to the per-epoch seed so that each rank augments differently; 0 on rank 0 (and alone)."""
    return 1_000_003 * rank()


# -- the model: one DDP module around model + loss ----------------------------------------------------------

class _Step(nn.Module):
    """``forward(batch) = criterion(model, batch)``: the stage's loss and the networks it trains."""

    def __init__(self, model: nn.Module, criterion: nn.Module) -> None:
        super().__init__()
        self.model, self.criterion = model, criterion

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        return self.criterion(self.model, batch)


class DistributedLoss(nn.Module):
    """The stage's loss with DDP around it: called as the loss is, ``(model, batch) -> (loss, stats)``.

    Attributes the stage reads from its loss (e.g. ``criterion.am``) are those of the wrapped loss.
    """

    def __init__(self, model: nn.Module, criterion: nn.Module, device: torch.device) -> None:
        super().__init__()
        ids = [device.index] if device.type == "cuda" else None
        # find_unused_parameters: a stage may leave trained parameters out of a step (DCA's frozen networks)
        self.ddp = DistributedDataParallel(_Step(model, criterion), device_ids=ids, find_unused_parameters=True)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        if model is not self.ddp.module.model:
            raise RuntimeError("DistributedLoss called with another model than the one it wraps")
        return self.ddp(batch)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.ddp.module.criterion, name)


def wrap(model: nn.Module, criterion: nn.Module, device: torch.device) -> nn.Module:
    """``criterion`` under DDP together with ``model`` (:class:`DistributedLoss`); unchanged in one process."""
    return DistributedLoss(model, criterion, device) if is_distributed() else criterion


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (or a :class:`DistributedLoss`'s model); anything else as it is."""
    if isinstance(module, DistributedLoss):
        return module.ddp.module.model
    if isinstance(module, DistributedDataParallel):
        inner = module.module
        return inner.model if isinstance(inner, _Step) else inner
    return module


# -- the data: each rank its share of every training loader --------------------------------------------------

def sampler_for(dataset: Any, shuffle: bool, seed: int) -> DistributedSampler:
    """This rank's share of ``dataset`` (index % world == rank after a shuffle seeded ``seed + epoch``)."""
    return DistributedSampler(dataset, num_replicas=world_size(), rank=rank(), shuffle=shuffle, seed=seed)


def shard_loaders(loaders: dict[str, DataLoader], seed: int) -> dict[str, DataLoader]:
    """Each loader again with :func:`sampler_for` and ``batch_size // world_size`` (at least 1) per rank.

    Shuffled loaders stay shuffled (``seed * 1000 + epoch`` after :func:`set_epoch`); a last batch of one
    sample is dropped as :meth:`Stage.loaders` does (BatchNorm cannot train on it). Unchanged in one process
    (also ``torchrun --nproc_per_node 1``, which so trains exactly as a plain run).
    """
    if world_size() == 1:  # torchrun with one process: the loaders (and so the numbers) of a plain run
        return loaders
    out: dict[str, DataLoader] = {}
    for key, dl in loaders.items():
        if dl.batch_size is None:
            raise ValueError(f"The {key!r} training loader uses a batch_sampler; give it a batch_size so that "
                             "torchrun can split it across the processes.")
        sampler = sampler_for(dl.dataset, isinstance(dl.sampler, RandomSampler), seed * 1000)
        batch = max(1, dl.batch_size // world_size())
        extra: dict[str, Any] = {}
        if dl.num_workers > 0:
            extra = dict(prefetch_factor=dl.prefetch_factor, persistent_workers=dl.persistent_workers,
                         multiprocessing_context=dl.multiprocessing_context)
        out[key] = DataLoader(dl.dataset, batch_size=batch, sampler=sampler, num_workers=dl.num_workers,
                              collate_fn=dl.collate_fn, pin_memory=dl.pin_memory, timeout=dl.timeout,
                              worker_init_fn=dl.worker_init_fn,
                              drop_last=dl.drop_last or len(sampler) % batch == 1, **extra)
    return out


def set_epoch(loaders: dict[str, DataLoader], epoch: int) -> None:
    """Reshuffle every distributed loader for ``epoch`` (the same order on every rank, a different share)."""
    for dl in loaders.values():
        if isinstance(dl.sampler, DistributedSampler):
            dl.sampler.set_epoch(epoch)


# -- the numbers every rank agrees on -------------------------------------------------------------------------

def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_sum(values: dict[str, float]) -> dict[str, float]:
    """``values`` summed over the ranks, key by key (every rank must pass the same keys); as is alone."""
    if not is_distributed() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def broadcast_float(value: float) -> float:
    """Rank 0's ``value`` on every rank (e.g. the validation accuracy only rank 0 computed)."""
    if not is_distributed():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=_comm_device())
    dist.broadcast(t, src=0)
    return float(t.item())
