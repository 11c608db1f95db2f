"""``jitgrad.nn.functional``, imported as F: PyTorch's functional forms, with PyTorch's
signatures and meanings.

Every function an op module registers with ``functional=`` names (``jitgrad/ops/``: relu,
gelu, silu, elu, softmax, log_softmax, linear (weight (out, in)), layer_norm, batch_norm,
dropout, and the losses: cross_entropy (classes in dim 1, ``weight``, ``ignore_index``,
``label_smoothing``, class-probability targets), nll_loss, mse_loss, l1_loss,
smooth_l1_loss, huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits) is
exported here under those names; ``embedding`` and ``one_hot`` are defined here.

``jitgrad.functional`` keeps the book's ``linear``, whose weight is (in, out).
"""
import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import describe
from jitgrad.ops.registry import functional_names

globals().update(functional_names())


def embedding(input, weight, padding_idx=None):  # noqa: A002
    """Rows of ``weight`` (num_embeddings, dim) at the int ``input`` (any shape):
    (*input.shape, dim). The row ``padding_idx`` gets no gradient (it is read through a
    copy of the weight with that row zeroed, one multiply of the weight per call)."""
    indices = _array(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got {describe(indices)}")
    if padding_idx is not None:
        rows = weight.shape[0]
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} is outside the "
                             f"{rows} rows of weight {describe(weight.data)}")
        keep = np.ones((rows, 1), dtype=weight.dtype)
        keep[padding_idx] = 0
        weight = weight * Tensor(keep)
    return weight.index_select(indices)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot rows of the int ``tensor``: (*tensor.shape, num_classes)."""
    indices = _array(tensor)
    if indices.dtype.kind not in "iu" or (indices.size and indices.min() < 0):
        raise ValueError(f"one_hot: needs non-negative integer classes, got {describe(indices)}")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and indices.max() >= num_classes:
        raise ValueError(f"one_hot: class {int(indices.max())} is not below num_classes "
                         f"{num_classes}")
    return Tensor(np.eye(num_classes, dtype=np.int64)[indices])


def _array(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)
