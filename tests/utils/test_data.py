"""jitgrad.utils.data against torch.utils.data's semantics: batch counts, drop_last, what the
default collate makes of each kind of sample, each sample once per shuffled epoch, seeded
shuffles and splits, batch_size=None; and against torch itself where it is installed."""
import collections
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                default_collate, random_split)


class Squares(Dataset):
    """Sample i: a dict of a (2,) float32 array, a Python float, an int and a string."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], np.float32), "half": i / 2, "label": i % 3,
                "name": f"s{i}"}


def dataset(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


@pytest.mark.parametrize("n, batch, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, True, [4, 4]),
    (3, 5, False, [3]), (3, 5, True, []), (10, 1, False, [1] * 10)])
def test_batch_counts_and_sizes(n, batch, drop_last, sizes):
    loader = DataLoader(dataset(n), batch_size=batch, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in loader] == sizes


def test_tensor_dataset_batches_are_lists_of_tensors_in_order():
    x, y = next(iter(DataLoader(dataset(), batch_size=3)))
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.shape == (3, 2) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y.data, [0, 1, 2])
    np.testing.assert_array_equal(x.data, [[0, 1], [2, 3], [4, 5]])


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffle_visits_each_sample_once_per_epoch_in_new_orders(drop_last):
    loader = DataLoader(dataset(20), batch_size=6, shuffle=True, drop_last=drop_last)
    orders = [np.concatenate([y.data for _, y in loader]) for _ in range(3)]
    for order in orders:
        if drop_last:
            assert len(order) == 18 and len(set(order.tolist())) == 18
        else:
            np.testing.assert_array_equal(np.sort(order), np.arange(20))
    assert not np.array_equal(orders[0], orders[1])


def test_shuffle_draws_from_numpys_global_rng_without_a_generator():
    def epoch():
        return np.concatenate([y.data for _, y in DataLoader(dataset(), 4, shuffle=True)])
    np.random.seed(3)
    first = epoch()
    np.random.seed(3)
    np.testing.assert_array_equal(epoch(), first)


def jitgrad_generator(seed):
    return jitgrad.Generator().manual_seed(seed)


@pytest.mark.parametrize("make", [np.random.default_rng, jitgrad_generator])
def test_a_generator_makes_shuffles_reproducible_and_leaves_the_global_rng(make):
    def epochs(generator):
        loader = DataLoader(dataset(), 4, shuffle=True, generator=generator)
        return [np.concatenate([y.data for _, y in loader]) for _ in range(2)]
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    first, second = epochs(make(7)), epochs(make(7))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_a_wrong_generator_is_refused_at_construction():
    with pytest.raises(TypeError, match="DataLoader: generator"):
        DataLoader(dataset(), 2, shuffle=True, generator=42)


def test_default_collate_of_dicts_floats_ints_and_strings():
    batch = next(iter(DataLoader(Squares(5), batch_size=3)))
    assert set(batch) == {"x", "half", "label", "name"}
    assert batch["x"].shape == (3, 2) and batch["x"].dtype == np.float32
    assert batch["half"].dtype == np.float64 and batch["label"].dtype == np.int64
    np.testing.assert_array_equal(batch["half"].data, [0, 0.5, 1])
    assert batch["name"] == ["s0", "s1", "s2"]


def test_default_collate_of_tuples_named_tuples_and_nested_lists():
    Point = collections.namedtuple("Point", "x y")
    points = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(points, Point) and points.x.dtype == np.int64
    fields = default_collate([(np.zeros(3), [1, True]), (np.ones(3), [2, False])])
    assert isinstance(fields, list) and fields[0].shape == (2, 3)
    assert fields[1][0].data.tolist() == [1, 2] and fields[1][1].dtype == np.bool_


def test_default_collate_refuses_ragged_and_unknown_samples():
    with pytest.raises(RuntimeError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="default_collate: .* got object"):
        default_collate([object()])


def test_collate_keeps_the_graph_of_tensors_that_record_one():
    w = Tensor(np.ones(2), autograd=True)
    data = TensorDataset(Tensor(np.arange(6.0).reshape(3, 2)))
    (x,) = next(iter(DataLoader(data, batch_size=3)))
    (x * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [6.0, 9.0])
    scaled = TensorDataset(Tensor(np.arange(6.0).reshape(3, 2), autograd=True))
    (rows,) = next(iter(DataLoader(scaled, batch_size=2)))
    assert rows.autograd and rows.shape == (2, 2)


def test_batch_size_none_yields_samples_converted():
    loader = DataLoader(Squares(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and len(samples) == 3
    assert isinstance(samples[1]["x"], Tensor) and samples[1]["half"] == 0.5
    with pytest.raises(ValueError, match="batch_size=None"):
        DataLoader(Squares(3), batch_size=None, drop_last=True)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_batch_size_is_refused(bad):
    with pytest.raises(ValueError, match="DataLoader: batch_size"):
        DataLoader(dataset(), batch_size=bad)


def test_collate_fn_is_used():
    loader = DataLoader(dataset(4), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]


def test_random_split_by_lengths_and_fractions():
    parts = random_split(range(10), [3, 7], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    again = random_split(range(10), [3, 7], generator=np.random.default_rng(0))
    assert list(again[0]) == list(parts[0])
    # PyTorch's fractions: floor of each (2, 2, 5), the remainder one by one from the first
    assert [len(p) for p in random_split(range(10), [0.25, 0.25, 0.5])] == [3, 2, 5]
    with pytest.raises(ValueError, match="random_split: the lengths"):
        random_split(range(10), [3, 3])


def test_subset_and_concat_index_like_torch():
    sub = Subset(dataset(), [5, 1, 8])
    assert len(sub) == 3 and sub[1][1].item() == 1
    ((_, y),) = list(DataLoader(sub, batch_size=3))
    np.testing.assert_array_equal(y.data, [5, 1, 8])
    both = dataset(2) + dataset(3)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert both[2][1].item() == 0 and both[-1][1].item() == 2


# --- against torch ----------------------------------------------------------------------------
def test_same_batches_and_types_as_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as tdata
    x, y = np.random.default_rng(0).normal(size=(11, 3)), np.arange(11)
    for batch_size, drop_last in [(4, False), (4, True), (11, False), (1, True)]:
        ours = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
        theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                  batch_size=batch_size, drop_last=drop_last)
        assert len(ours) == len(theirs)
        for (ox, oy), (tx, ty) in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(ox.data, tx.numpy())
            np.testing.assert_array_equal(oy.data, ty.numpy())
    ours = next(iter(DataLoader(Squares(4), batch_size=4)))
    theirs = next(iter(tdata.DataLoader(Squares(4), batch_size=4)))
    for key in ("x", "half", "label"):
        assert ours[key].shape == tuple(theirs[key].shape)
        assert str(ours[key].dtype) == str(theirs[key].dtype).removeprefix("torch.")
    assert ours["name"] == theirs["name"]


def test_same_split_lengths_as_torch():
    torch = pytest.importorskip("torch")
    for lengths in ([0.3, 0.3, 0.4], [0.1, 0.9], [0.5, 0.5], [0.33, 0.33, 0.34]):
        for n in (7, 10, 31):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty split warns, in both
                ours = [len(p) for p in random_split(range(n), lengths)]
                theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
            assert ours == theirs, (lengths, n)
