"""Mini-batches over arrays that share their first dimension, shuffled reproducibly."""
import math

import numpy as np

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
