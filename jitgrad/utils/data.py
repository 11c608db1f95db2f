"""``torch.utils.data``'s names with PyTorch's meanings: datasets, their random splits, and a
DataLoader that yields mini-batches as Tensors.

A ``DataLoader`` over a ``Dataset`` draws one order per epoch (``shuffle=True``) from its
``generator``, or else from NumPy's global RNG (``np.random.seed`` fixes it; see
``jitgrad.manual_seed``), fetches the samples, and collates them as ``torch``'s ``default_collate``
does: Tensors and NumPy arrays stack into a Tensor with a new first dim, Python floats become
a float64 Tensor and ints an int64 one, tuples become lists of collated fields, dicts dicts.
``Batches`` is jitgrad's own: mini-batches over aligned arrays, without the Dataset.
Batches are made in this process (``num_workers`` is accepted for PyTorch scripts and
ignored: the batches are the same, made serially).
"""
import bisect
import collections.abc
import math
import numbers
import warnings

import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend import random
from jitgrad.ops.joining import stack

__all__ = ["Batches", "ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset",
           "default_collate", "default_convert", "random_split"]


# --- randomness -----------------------------------------------------------------------------
def _numpy_rng(generator, who):
    """What shuffles and splits draw from: ``generator`` (a ``jitgrad.Generator`` or a NumPy
    ``Generator``), or else the global stream (``jitgrad.manual_seed``, ``np.random.seed``)."""
    if isinstance(generator, np.random.RandomState):
        return generator
    return random.source(generator, who)


# --- datasets -------------------------------------------------------------------------------
class Dataset:
    """A map-style dataset: subclasses give ``__getitem__(index)`` (one sample) and
    ``__len__``. ``a + b`` concatenates two datasets."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are tuples of the rows at one index of each tensor; the tensors (Tensors or
    arrays, wrapped as Tensors) share their first dim."""

    def __init__(self, *tensors):
        lengths = [len(t) for t in tensors]
        if not tensors or len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: give tensors of one first dim, got sizes {lengths}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])

    def _batch(self, indices):
        """The collated batch of the samples at ``indices`` (what ``default_collate`` makes of
        them, a list of Tensors) by one gather per tensor, or None when a tensor records a
        graph (then the samples go through ``__getitem__``, which records it)."""
        if any(t.autograd for t in self.tensors):
            return None
        return [Tensor.wrap(t.data[indices]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

    def _batch(self, indices):
        batch = getattr(self.dataset, "_batch", None)
        return None if batch is None else batch(np.asarray(self.indices)[indices])


class ConcatDataset(Dataset):
    """The samples of each dataset in turn."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset: index {index} out of range for length "
                                 f"{len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(dataset, lengths, generator=None):
    """``dataset`` split at random into non-overlapping ``Subset``s of the given ``lengths``,
    or of fractions of it summing to 1 (each ``floor(fraction * len)``, the remainder given
    one by one to the first splits, as PyTorch does)."""
    total = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_of_fractions(lengths, total)
    if any(not isinstance(n, numbers.Integral) or n < 0 for n in lengths):
        raise ValueError(f"random_split: lengths must be ints >= 0 or fractions summing to 1, "
                         f"got {list(lengths)}")
    if sum(lengths) != total:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, "
                         f"not to the dataset's length {total}")
    order = _numpy_rng(generator, "random_split").permutation(total).tolist()
    bounds = np.cumsum([0, *lengths]).tolist()
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds, bounds[1:])]


def _lengths_of_fractions(fractions, total):
    for index, fraction in enumerate(fractions):
        if not 0 <= fraction <= 1:
            raise ValueError(f"random_split: fraction {index} ({fraction}) is not in [0, 1]")
    lengths = [math.floor(total * fraction) for fraction in fractions]
    for i in range(total - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for index, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"random_split: split {index} is empty", stacklevel=3)
    return lengths


# --- collation ------------------------------------------------------------------------------
def default_collate(batch):
    """A list of samples as one batch, as PyTorch's ``default_collate``: Tensors and NumPy
    arrays (n, *shape) stack to a Tensor (n, *shape); NumPy scalars, Python floats (float64),
    ints (int64) and bools to a Tensor (n,); strings stay a list; dicts, tuples (as lists),
    named tuples and lists are collated field by field."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.autograd for t in batch):
            return stack(batch)
        return Tensor.wrap(np.stack([t.data for t in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and elem.dtype.kind in "biuf":
        return Tensor.wrap(np.stack(batch))
    if isinstance(elem, bool):
        return Tensor.wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor.wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor.wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("default_collate: each sample in a batch must have the same "
                               f"number of fields, got {sorted({len(s) for s in batch})}")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
            return type(elem)(*fields)
        return fields
    raise TypeError(f"default_collate: samples must be Tensors, NumPy arrays, numbers, "
                    f"strings, dicts or sequences of them; got {type(elem).__name__}")


def default_convert(sample):
    """One sample as ``batch_size=None`` yields it: NumPy arrays (and those inside dicts and
    sequences) as Tensors; everything else unchanged."""
    if isinstance(sample, (np.ndarray, np.generic)) and sample.dtype.kind in "biuf":
        return Tensor.wrap(np.asarray(sample))
    if isinstance(sample, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(value) for value in sample))
    if isinstance(sample, (tuple, list)):
        return [default_convert(value) for value in sample]
    return sample


# --- the loader -----------------------------------------------------------------------------
class DataLoader:
    """Iterate over ``dataset`` in mini-batches of ``batch_size`` samples (the last one
    smaller, or dropped with ``drop_last``), in a new random order each epoch with
    ``shuffle``. ``batch_size=None`` yields the samples one by one, unbatched.

    ``len()`` is the number of batches per epoch; ``.dataset`` is the dataset.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, *, drop_last=False,
                 collate_fn=None, generator=None, num_workers=0, pin_memory=False, **ignored):
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1
                                       or not isinstance(batch_size, numbers.Integral)):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got "
                             f"{batch_size!r}")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None (no batching) cannot drop_last")
        unknown = set(ignored) - {"timeout", "worker_init_fn", "prefetch_factor",
                                  "persistent_workers", "pin_memory_device", "in_order"}
        if unknown:
            raise TypeError(f"DataLoader: unknown argument(s) {sorted(unknown)}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.drop_last, self.generator, self.num_workers = drop_last, generator, num_workers
        self.collate_fn = collate_fn
        _numpy_rng(generator, "DataLoader")  # a wrong generator fails here, not at the epoch

    def __len__(self):
        samples = len(self.dataset)
        if self.batch_size is None:
            return samples
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            for index in order:
                yield convert(self.dataset[index])
            return
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._collated(order[start:start + self.batch_size])

    def _order(self):
        """This epoch's sample indices: a permutation drawn from the generator with
        ``shuffle``, else 0, 1, ..."""
        samples = len(self.dataset)
        if self.shuffle:
            return _numpy_rng(self.generator, "DataLoader").permutation(samples)
        return np.arange(samples)

    def _collated(self, indices):
        if self.collate_fn is None:
            fast = getattr(self.dataset, "_batch", None)  # one gather per tensor
            batch = None if fast is None else fast(indices)
            if batch is not None:
                return batch
        samples = [self.dataset[int(index)] for index in indices]
        return (self.collate_fn or default_collate)(samples)


# --- jitgrad's Batches ----------------------------------------------------------------------
#: How many batches' rows ``Batches`` copies in one gather.
BATCHES_PER_GATHER = 64


class Batches:
    """Iterate over aligned arrays (e.g. images and labels) one mini-batch at a time.

    ``for x, y in Batches(images, labels, batch_size=32, seed=0):`` yields tuples holding one
    slice of up to ``batch_size`` rows of each array (the last batch may be smaller). Each pass
    over a ``Batches`` is one epoch; with ``shuffle`` every epoch visits the rows in a new
    order drawn from ``np.random.default_rng(seed)``, so a given seed gives the same batches
    in the same order on every run. ``len()`` is the number of batches per epoch.
    """

    def __init__(self, *arrays, batch_size=32, shuffle=True, seed=None):
        if not arrays:
            raise ValueError("Batches: give at least one array")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"Batches: arrays must have the same length, got lengths {lengths}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Batches: batch_size must be a positive int, got {batch_size!r}")
        self.arrays = [np.asarray(a) for a in arrays]
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.rows = lengths[0]

    def __len__(self):
        return math.ceil(self.rows / self.batch_size)

    def __iter__(self):
        """Each batch a tuple of arrays of the batch's rows: views of a copy, never of the
        arrays given (a batch changed in place leaves them alone)."""
        order = self.rng.permutation(self.rows) if self.shuffle else np.arange(self.rows)
        # rows are gathered a block of batches at a time: one fancy index per array per block
        # instead of per batch (a step on a small MLP is tens of microseconds), while the
        # copy stays a few batches' size however large the arrays
        block = self.batch_size * BATCHES_PER_GATHER
        for block_start in range(0, self.rows, block):
            gathered = [a[order[block_start:block_start + block]] for a in self.arrays]
            for start in range(0, len(gathered[0]), self.batch_size):
                yield tuple(a[start:start + self.batch_size] for a in gathered)
