"""The Tensor level, PyTorch's way: creation functions and their dtypes, the dtype names,
random streams, comparisons as bool tensors, conversions, and ``jitgrad.<function>``;
checked against torch where it is installed."""
import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.backend import random
from jitgrad.ops.registry import SPECS


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def default_dtypes(monkeypatch):
    """The dtypes of a new process, whatever tests before set with set_default_dtype."""
    monkeypatch.setattr(jitgrad.backend.dtypes, "_default_dtype", np.dtype(np.float64))
    monkeypatch.setattr(jitgrad.backend.dtypes, "_default_chosen", False)


# --- creation and dtypes ---------------------------------------------------------------------
@pytest.mark.parametrize("make, torch_make", [
    (lambda j: j.tensor([1.0, 2.0]), lambda t: t.tensor([1.0, 2.0])),
    (lambda j: j.tensor([1, 2]), lambda t: t.tensor([1, 2])),
    (lambda j: j.tensor(True), lambda t: t.tensor(True)),
    (lambda j: j.tensor([[1, 2]], dtype=j.float64), lambda t: t.tensor([[1, 2]], dtype=t.float64)),
    (lambda j: j.tensor(np.arange(3.0)), lambda t: t.tensor(np.arange(3.0))),
    (lambda j: j.zeros(2, 3), lambda t: t.zeros(2, 3)),
    (lambda j: j.ones((4,), dtype=j.long), lambda t: t.ones((4,), dtype=t.long)),
    (lambda j: j.full((2, 2), 7), lambda t: t.full((2, 2), 7)),
    (lambda j: j.full((2,), 0.5), lambda t: t.full((2,), 0.5)),
    (lambda j: j.full((2,), True), lambda t: t.full((2,), True)),
    (lambda j: j.arange(5), lambda t: t.arange(5)),
    (lambda j: j.arange(1, 2, 0.25), lambda t: t.arange(1, 2, 0.25)),
    (lambda j: j.arange(0, 10, 3, dtype=j.int32), lambda t: t.arange(0, 10, 3, dtype=t.int32)),
    (lambda j: j.linspace(0, 1, 5), lambda t: t.linspace(0, 1, 5)),
    (lambda j: j.zeros_like(j.tensor([1, 2])), lambda t: t.zeros_like(t.tensor([1, 2]))),
    (lambda j: j.full_like(j.ones(2), 3.0), lambda t: t.full_like(t.ones(2), 3.0)),
    (lambda j: j.ones_like(j.ones(3), dtype=j.bool), lambda t: t.ones_like(t.ones(3), dtype=t.bool)),
])
def test_creation_values_and_dtypes_match_torch(torch, make, torch_make):
    ours, theirs = make(jitgrad), torch_make(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.data, theirs.numpy())


def test_tensor_copies_and_from_numpy_shares():
    array = np.arange(3.0)
    copied, shared, as_is = jitgrad.tensor(array), jitgrad.from_numpy(array), jitgrad.as_tensor(array)
    array[0] = 9.0
    assert copied.data[0] == 0.0 and shared.data[0] == 9.0 and as_is.data[0] == 9.0
    assert jitgrad.as_tensor(shared) is shared
    assert jitgrad.as_tensor(array, dtype=jitgrad.float32).dtype == np.float32


def test_the_book_constructor_keeps_float64_and_set_default_dtype_moves_tensor():
    assert Tensor([1.0]).dtype == np.float64 and jitgrad.tensor([1.0]).dtype == np.float32
    jitgrad.set_default_dtype(np.float64)  # undone by the default_dtypes fixture
    assert jitgrad.tensor([1.0]).dtype == np.float64 and jitgrad.zeros(1).dtype == np.float64


def test_requires_grad_and_device_arguments():
    t = jitgrad.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    assert t.requires_grad and t.is_leaf and t.device == jitgrad.device("cpu")
    assert not (t * 2).is_leaf
    with pytest.raises(RuntimeError, match="tensor: only tensors of floating point dtype"):
        jitgrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="zeros: jitgrad runs on the CPU only, got device 'cuda'"):
        jitgrad.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="to: jitgrad runs on the CPU"):
        t.to("cuda:0")
    assert not jitgrad.cuda.is_available() and t.cpu() is t and t.to("cpu") is t
    with pytest.raises(TypeError, match="zeros: the size must be non-negative ints"):
        jitgrad.zeros(2, -1)


def test_dtype_names_are_numpy_dtypes():
    assert jitgrad.float32 == jitgrad.float == np.float32 and jitgrad.double == np.float64
    assert jitgrad.long == np.int64 and jitgrad.int == np.int32 and jitgrad.bool == np.bool_
    assert jitgrad.half == np.float16 and jitgrad.uint8 == np.uint8
    assert "bool" not in jitgrad.__all__ and "float32" in jitgrad.__all__


# --- random streams ----------------------------------------------------------------------------
def _draws(**kwargs):
    return [jitgrad.randn(3, **kwargs).data, jitgrad.rand(2, **kwargs).data,
            jitgrad.randint(0, 100, (4,), **kwargs).data, jitgrad.randperm(6, **kwargs).data,
            jitgrad.multinomial(jitgrad.tensor([0.2, 0.3, 0.5]), 2, **kwargs).data]


def test_manual_seed_makes_the_global_stream_and_the_book_layers_reproducible():
    jitgrad.manual_seed(7)
    first, weight = _draws(), jitgrad.Linear(3, 2).weight.data
    jitgrad.manual_seed(7)
    second, again = _draws(), jitgrad.Linear(3, 2).weight.data
    for a, b in zip(first + [weight], second + [again]):
        np.testing.assert_array_equal(a, b)
    assert jitgrad.initial_seed() == 7
    np.random.seed(7)  # the same stream: a book script's seed gives the same numbers
    np.testing.assert_array_equal(jitgrad.randn(3).data, first[0])


def test_a_generator_is_a_stream_of_its_own():
    jitgrad.manual_seed(0)
    mine = _draws(generator=jitgrad.Generator().manual_seed(5))
    global_after = jitgrad.randn(2).data
    jitgrad.manual_seed(0)
    np.testing.assert_array_equal(jitgrad.randn(2).data, global_after)  # the global one untouched
    again = _draws(generator=jitgrad.Generator().manual_seed(5))
    for a, b in zip(mine, again):
        np.testing.assert_array_equal(a, b)
    g = jitgrad.Generator().manual_seed(11)
    assert g.initial_seed() == 11
    state = g.get_state()
    x = jitgrad.rand(4, generator=g).data
    g.set_state(state)
    np.testing.assert_array_equal(jitgrad.rand(4, generator=g).data, x)


def test_generator_in_init_and_numpy_generator():
    a, b = jitgrad.zeros(3, 4), jitgrad.zeros(3, 4)
    jitgrad.nn.init.xavier_uniform_(a, generator=jitgrad.Generator().manual_seed(1))
    jitgrad.nn.init.xavier_uniform_(b, generator=jitgrad.Generator().manual_seed(1))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.data.any()
    g = jitgrad.Generator().manual_seed(2)
    assert random.numpy_generator(g) is g.numpy
    jitgrad.manual_seed(3)
    first = random.numpy_generator().permutation(10)
    jitgrad.manual_seed(3)
    np.testing.assert_array_equal(random.numpy_generator().permutation(10), first)
    with pytest.raises(TypeError, match="rand: generator must be a jitgrad.Generator"):
        jitgrad.rand(2, generator=3)


def test_random_values_have_the_right_range_and_dtype():
    g = jitgrad.Generator().manual_seed(0)
    r = jitgrad.rand(1000, generator=g)
    assert r.dtype == np.float32 and 0.0 <= r.data.min() and r.data.max() < 1.0
    i = jitgrad.randint(3, 9, (1000,), generator=g)
    assert i.dtype == np.int64 and set(i.data.tolist()) == set(range(3, 9))
    assert sorted(jitgrad.randperm(8, generator=g).tolist()) == list(range(8))
    m = jitgrad.multinomial(jitgrad.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 1, generator=g)
    assert m.tolist() == [[1], [0]]
    with pytest.raises(ValueError, match="multinomial: cannot draw 3 samples without replacement"):
        jitgrad.multinomial(jitgrad.tensor([0.5, 0.5]), 3)


# --- comparisons and conversions -----------------------------------------------------------
def test_comparisons_are_bool_tensors_outside_the_graph(torch):
    x = Tensor(np.array([[0.2, 0.7], [0.9, 0.1]]), requires_grad=True)
    for name in ("__gt__", "__ge__", "__lt__", "__le__", "__eq__", "__ne__"):
        ours = getattr(x, name)(0.7)
        assert isinstance(ours, Tensor) and ours.dtype == np.bool_ and not ours.requires_grad
        np.testing.assert_array_equal(ours.data, getattr(torch.tensor(x.data), name)(0.7).numpy())
    counted = (x > 0.5).sum()
    assert counted.dtype == np.int64 and counted.item() == 2 and isinstance(counted.item(), int)
    assert (x > 0.5).float().dtype == np.float32 and (x > 0.5).long().sum().item() == 2
    np.testing.assert_array_equal((np.array([0.1, 0.8]) < Tensor(np.array([0.5, 0.5]))).data,
                                  [True, False])


def test_the_books_sampling_code_runs_as_written():
    np.random.seed(0)
    vocab = list("abcdef")
    output = Tensor(np.random.rand(6), autograd=True)
    temp_dist = output.softmax()
    temp_dist /= temp_dist.sum()
    m = (temp_dist > np.random.rand()).argmax()
    np.random.seed(0)
    dist = np.random.rand(6)
    dist = np.exp(dist - dist.max()) / np.exp(dist - dist.max()).sum()
    assert vocab[m] == vocab[int((dist / dist.sum() > np.random.rand()).argmax())]
    assert int(m) == m.item()


def test_tensors_still_hash_by_identity():
    a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b}) == 2
    model = jitgrad.Sequential([jitgrad.Linear(2, 3), jitgrad.Linear(3, 1)])
    parameters = model.get_parameters()
    assert parameters[2] in model.parameters and Tensor(np.ones(1)) not in model.parameters
    assert model.parameters == model.get_parameters()  # ParameterList compares by identity
    optimizer = jitgrad.optim.SGD(model.parameters(), lr=0.1)
    assert optimizer.state_dict()["param_groups"][0]["params"] == [0, 1, 2, 3]


def test_one_element_conversions_and_format(torch):
    t = jitgrad.tensor([2.5])
    assert float(t) == 2.5 and int(t) == 2 and bool(t) and not bool(jitgrad.tensor(0.0))
    assert f"{t:+.2f}" == f"{torch.tensor(2.5):+.2f}" == "+2.50"
    assert "{:.1f}".format(jitgrad.tensor(3.14159)) == "3.1"
    assert format(jitgrad.tensor([1.0, 2.0])) == str(jitgrad.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"bool: only a tensor of one element .* float32\[2\]"):
        bool(jitgrad.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only integer tensors of one element can be used as an index"):
        [1, 2][jitgrad.tensor(1.0)]


def test_shape_and_conversion_methods(torch):
    t = jitgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.numel() == t.nelement() == jitgrad.numel(t) == 6 and t.dim() == 2
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t.double().dtype == np.float64 and t.long().dtype == np.int64
    assert t.int().dtype == np.int32 and t.bool().dtype == np.bool_
    assert t.half().dtype == np.float16 and (t.half() * 2.0).dtype == np.float32
    assert t.type(jitgrad.float64).dtype == np.float64 and t.type() == "float32"
    assert t.to(jitgrad.tensor([1])).dtype == np.int64
    assert t.to("cpu", jitgrad.float64).dtype == np.float64 and t.to(dtype=jitgrad.float32) is t
    c = t.clone()
    c.data[0, 0] = 9.0
    assert t.data[0, 0] == 1.0
    assert jitgrad.is_tensor(t) and not jitgrad.is_tensor(t.data)
    leaf = jitgrad.zeros(2).requires_grad_()
    assert leaf.requires_grad
    with pytest.raises(RuntimeError, match="requires_grad_: only tensors of floating point"):
        jitgrad.zeros(2, dtype=jitgrad.long).requires_grad_()


def test_reductions_keep_integers_and_take_keepdim(torch):
    x = np.array([[3, 1, 2], [0, 5, 4]])
    ours, theirs = jitgrad.tensor(x), torch.tensor(x)
    for name, args, kwargs in [("sum", (), {}), ("sum", (1,), {"keepdim": True}),
                               ("amax", (0,), {}), ("amin", (), {}), ("argmax", (1,), {}),
                               ("argmin", (0,), {"keepdim": True})]:
        a, b = getattr(ours, name)(*args, **kwargs), getattr(theirs, name)(*args, **kwargs)
        assert str(a.dtype) == str(b.dtype).replace("torch.", ""), name
        np.testing.assert_array_equal(a.data, b.numpy())
    assert (-ours).dtype == np.int64 and ours.abs().dtype == np.int64
    book_leaf = Tensor(x, autograd=True)  # the book's integer leaves still get gradients
    book_leaf.sum(0).backward()
    assert book_leaf.sum(0).dtype == np.float64 and book_leaf.grad.data.tolist() == [[1.0] * 3] * 2
    values, indices = ours.max(1)
    np.testing.assert_array_equal(values.data, [3, 5])
    np.testing.assert_array_equal(indices.data, [0, 1])


def test_array_inplace_ops_with_tensors_write_into_the_array():
    array = np.ones(3)
    target = array
    array += Tensor(np.array([1.0, 2.0, 3.0]))
    array *= Tensor(np.array(2.0))
    assert array is target and type(array) is np.ndarray
    np.testing.assert_array_equal(array, [4.0, 6.0, 8.0])
    summed = np.ones(3) + Tensor(np.ones(3), requires_grad=True)  # not in place: a graph node
    assert isinstance(summed, Tensor) and summed.requires_grad


# --- module-level functions ------------------------------------------------------------------
def test_module_functions_are_the_registered_ops():
    from jitgrad.autograd.functions import NAMES
    for name in NAMES:
        assert getattr(jitgrad, name) is SPECS[name].function, name


@pytest.mark.parametrize("call", [
    lambda lib, x, y: lib.sin(x) * lib.cos(y),
    lambda lib, x, y: lib.log10(x * x + 1.0) + lib.sqrt(y * y + 1.0),
    lambda lib, x, y: lib.where(x > y, x, y),
    lambda lib, x, y: lib.sum(lib.abs(x), 1, keepdim=True) * lib.mean(y),
    lambda lib, x, y: lib.matmul(x, y.T) + lib.mm(x, y.T),
    lambda lib, x, y: lib.clamp(x, -0.5, 0.5) + lib.exp(y) + lib.tanh(x) + lib.sigmoid(y),
    lambda lib, x, y: lib.cat([x, y], 0) * lib.stack([x, y]).sum(0).sum(),
    lambda lib, x, y: (lib.relu(x) + 1.0) ** lib.sigmoid(y) + 2.0 ** y,
    lambda lib, x, y: lib.max(x, 1)[0] + lib.softmax(y, 1).sum(1),
])
def test_module_functions_against_torch(torch, call):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ours, theirs = call(jitgrad, x, y), call(torch, tx, ty)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_split_and_chunk_match_torch(torch):
    a = np.arange(14.0).reshape(2, 7)
    for ours, theirs in [(Tensor(a).split(3, 1), torch.tensor(a).split(3, 1)),
                         (Tensor(a).split([2, 5], 1), torch.tensor(a).split([2, 5], 1)),
                         (Tensor(a).chunk(3, 1), torch.tensor(a).chunk(3, 1)),
                         (jitgrad.chunk(Tensor(a), 2), torch.chunk(torch.tensor(a), 2))]:
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.data, t.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(largest):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).standard_normal((4, 6))
    for dim in (0, 1, -1):
        values, indices = jitgrad.tensor(data).topk(3, dim=dim, largest=largest)
        theirs = torch.tensor(data).topk(3, dim=dim, largest=largest)
        np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
    with pytest.raises(ValueError, match="topk: k=7 is out of range"):
        jitgrad.tensor(data).topk(7)
