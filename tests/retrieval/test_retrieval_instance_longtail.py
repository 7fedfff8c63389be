"""Instance-level top-k (hand-computed ranks, ties by gallery index), mAP per long-tail group, PART-SHREC14."""

import numpy as np
import pytest
import torch

from sbsr_lab.retrieval.instance import instance_accuracy, source_ranks
from sbsr_lab.retrieval.longtail import group_of_counts, map_per_group, part_shrec14_split
from sbsr_lab.retrieval.ranking import RetrievalError


def test_source_ranks_by_hand_with_ties():
    sim = np.array([
        [0.9, 0.1, 0.5, 0.3],   # source 2: only 0.9 above -> rank 2
        [0.4, 0.4, 0.4, 0.1],   # source 1: ties with index 0 (before it) -> rank 2
        [0.4, 0.4, 0.4, 0.1],   # source 0: ties after it do not count -> rank 1
        [0.0, 0.2, 0.3, 0.1],   # source 0: everything above -> rank 4
    ])
    assert source_ranks(sim, [2, 1, 0, 0]).tolist() == [2, 2, 1, 4]
    acc = instance_accuracy(sim, [2, 1, 0, 0], ks=(1, 2, 10))
    assert acc == {"inst_top1": 0.25, "inst_top2": 0.75, "inst_top10": 1.0}
    assert instance_accuracy(torch.tensor(sim), torch.tensor([2, 1, 0, 0]))["inst_top1"] == 0.25


def test_source_ranks_agree_with_a_stable_sort():
    rng = np.random.default_rng(0)
    sim = rng.integers(0, 4, size=(20, 15)).astype(np.float64)  # many ties
    src = rng.integers(0, 15, size=20)
    order = np.argsort(-sim, axis=1, kind="stable")
    ref = [int(np.where(order[i] == src[i])[0][0]) + 1 for i in range(20)]
    assert source_ranks(sim, src).tolist() == ref


def test_instance_accuracy_rejects_bad_sources():
    sim = np.zeros((2, 3))
    with pytest.raises(RetrievalError, match=r"\[0, 3\)"):
        instance_accuracy(sim, [0, 3])
    with pytest.raises(RetrievalError, match="one gallery index per query"):
        instance_accuracy(sim, [0])
    with pytest.raises(RetrievalError, match="integer"):
        instance_accuracy(sim, [0.0, 1.0])
    with pytest.raises(RetrievalError, match="positive"):
        instance_accuracy(sim, [0, 1], ks=(0,))


def test_groups_by_training_count():
    assert group_of_counts([100, 99, 20, 19, 0]) == ["many", "medium", "medium", "few", "few"]
    assert group_of_counts([10, 5], many=10, few=6) == ["many", "few"]
    with pytest.raises(ValueError, match="few <= many"):
        group_of_counts([1], many=5, few=10)


def test_map_per_group_by_hand():
    ap = [1.0, 0.5, 0.2, 0.4, 0.9]
    labels = ["a", "a", "b", "c", "c"]
    counts = {"a": 150, "b": 50, "c": 3, "d": 500}  # d has no query
    out = map_per_group(ap, labels, counts)
    assert out["many"] == pytest.approx(0.75) and out["medium"] == pytest.approx(0.2)
    assert out["few"] == pytest.approx(0.65)
    assert out["queries"] == {"many": 2, "medium": 1, "few": 2}
    assert out["classes"] == {"many": 2, "medium": 1, "few": 1}
    none = map_per_group([0.3], ["a"], {"a": 5})
    assert none["many"] is None and none["few"] == pytest.approx(0.3)
    with pytest.raises(RetrievalError, match="without a training count"):
        map_per_group([0.3], ["z"], {"a": 5})


def test_part_shrec14_split_is_deterministic_and_keeps_classes_over_50():
    ids, classes = [], []
    for cls, n in (("chair", 60), ("cup", 50), ("plane", 101)):
        ids += [f"{cls}{i}" for i in range(n)]
        classes += [cls] * n
    split = part_shrec14_split(ids, classes)
    assert split["classes"] == ["chair", "plane"]  # 50 models is not "more than 50"
    test = set(split["test"])
    assert sum(s.startswith("chair") for s in test) == 12 and sum(s.startswith("plane") for s in test) == 20
    assert not test & set(split["train"]) and len(split["train"]) == 48 + 81
    assert not any(s.startswith("cup") for s in test | set(split["train"]))
    perm = np.random.default_rng(5).permutation(len(ids))
    again = part_shrec14_split([ids[i] for i in perm], [classes[i] for i in perm])
    assert again == split  # the input order does not matter
    assert part_shrec14_split(ids, classes, seed=1)["test"] != split["test"]
    with pytest.raises(ValueError, match="one class per shape"):
        part_shrec14_split(ids, classes[:-1])


def test_linear_probe_separates_blobs_and_not_noise():
    from sbsr_lab.train.probe import linear_probe_accuracy

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 3
    y = rng.integers(0, 3, 300)
    x = centres[y] + rng.normal(size=(300, 8))
    assert linear_probe_accuracy(x[:200], y[:200], x[200:], y[200:]) > 0.9
    noise = rng.normal(size=(300, 8))  # features that carry no class
    assert linear_probe_accuracy(noise[:200], y[:200], noise[200:], y[200:]) < 0.6
    with pytest.raises(ValueError, match="two training classes"):
        linear_probe_accuracy(x[:5], [0] * 5, x[5:9], [0] * 4)
