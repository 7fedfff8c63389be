"""Linear probe: how linearly separable are the classes in a set of (e.g. self-supervised) features?

The standard check of self-supervised features (e.g. SimSiam, Chen and He, CVPR 2021): freeze the
encoder, fit a linear classifier (multinomial logistic regression, scikit-learn) on the training
embeddings, and report its accuracy on held-out embeddings. No label ever reached the encoder.

    >>> import numpy as np
    >>> x = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> linear_probe_accuracy(x, [0, 0, 1, 1], x, [0, 0, 1, 1])
    1.0
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import Tensor

__all__ = ["linear_probe_accuracy"]


def _numpy(x: Tensor | np.ndarray | Sequence) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)


def linear_probe_accuracy(train_z: Tensor | np.ndarray, train_y: Tensor | np.ndarray | Sequence[int],
                          test_z: Tensor | np.ndarray, test_y: Tensor | np.ndarray | Sequence[int],
                          c: float = 1.0, max_iter: int = 1000) -> float:
    """Accuracy in [0, 1] on (test_z, test_y) of a logistic regression fitted on (train_z, train_y).

    train_z (N, d), train_y (N,), test_z (M, d), test_y (M,). Features are standardised with the
    training set's mean and standard deviation; ``c`` is the inverse L2 regularisation strength.
    """
    from sklearn.linear_model import LogisticRegression

    xtr, xte = _numpy(train_z).astype(np.float64), _numpy(test_z).astype(np.float64)
    ytr, yte = _numpy(train_y), _numpy(test_y)
    if xtr.ndim != 2 or xte.ndim != 2 or xtr.shape[1] != xte.shape[1] or len(ytr) != len(xtr) or len(yte) != len(xte):
        raise ValueError(f"linear_probe_accuracy: want train (N, d) + (N,) and test (M, d) + (M,), got "
                         f"{xtr.shape} + {ytr.shape} and {xte.shape} + {yte.shape}")
    if len(np.unique(ytr)) < 2 or not len(xte):
        raise ValueError("linear_probe_accuracy: needs at least two training classes and one test sample")
    mean, std = xtr.mean(0), xtr.std(0) + 1e-8
    clf = LogisticRegression(C=c, max_iter=max_iter)
    clf.fit((xtr - mean) / std, ytr)
    return float((clf.predict((xte - mean) / std) == yte).mean())
