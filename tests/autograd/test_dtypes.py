"""float32 stays float32, float64 stays float64; integers promote as NumPy would."""
import numpy as np
import pytest

from jitgrad import (
    SGD,
    CrossEntropyLoss,
    Embedding,
    Linear,
    LSTMCell,
    MSELoss,
    RNNCell,
    Sequential,
    Tanh,
    Tensor,
)


def every_op(a, b, m, idx):
    """One graph through every op; a, b (3, 4), m (4, 2), idx int (3,)."""
    x = (a + b) * a - b / (a * a + 1.0)
    x = (-x).sigmoid() + x.tanh() + x.softmax() + x.relu()
    y = x.mm(m) + x.sum(1).expand(1, 2) + x.transpose().sum(0).expand(1, 2) * 0.5
    z = m.index_select(idx)
    return y.sum() + z.sum() + y.cross_entropy(Tensor(idx.data % 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_op_keeps_float_dtype_end_to_end(dtype):
    rng = np.random.default_rng(0)
    a, b = (Tensor(rng.standard_normal((3, 4)).astype(dtype), autograd=True) for _ in range(2))
    m = Tensor(rng.standard_normal((4, 2)).astype(dtype), autograd=True)
    idx = Tensor(np.array([0, 3, 1]))
    out = every_op(a, b, m, idx)
    assert out.data.dtype == dtype
    out.backward()
    for t in (a, b, m):
        assert t.data.dtype == dtype and t.grad.data.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_train_in_their_dtype(dtype):
    np.random.seed(0)
    embed = Embedding(5, 4, dtype=dtype)
    lstm = LSTMCell(4, 6, 5, dtype=dtype)
    rnn = RNNCell(4, 6, 5, activation="tanh", dtype=dtype)
    mlp = Sequential([Linear(5, 3, dtype=dtype), Tanh(), Linear(3, 5, dtype=dtype)])
    params = embed.get_parameters() + lstm.get_parameters() + rnn.get_parameters() + mlp.get_parameters()
    x = embed.forward(Tensor(np.array([0, 4])))
    out, (h, c) = lstm.forward(x, lstm.init_hidden(2))
    out2, _ = rnn.forward(x, rnn.init_hidden(2))
    logits = mlp.forward(out + out2)
    loss = CrossEntropyLoss().forward(logits, Tensor(np.array([1, 2]))) \
        + MSELoss().forward(h, Tensor(np.zeros((2, 6), dtype=dtype))).sum()
    assert loss.data.dtype == dtype
    loss.backward()
    SGD(params, alpha=0.1).step()
    assert all(p.data.dtype == dtype for p in params)


def test_python_scalars_keep_float32():
    a = Tensor(np.ones(3, dtype=np.float32), autograd=True)
    for out in (a * 0.5, 2 - a, 1.5 / a, a + 3):
        assert out.data.dtype == np.float32


def test_integer_data_takes_the_float_operands_dtype():
    ints = Tensor(np.array([[1, 2], [3, 4]]), autograd=True)
    floats32 = Tensor(np.ones((2, 2), dtype=np.float32), autograd=True)
    assert (ints + ints).data.dtype == np.float64           # as NumPy's true division
    assert (ints * floats32).data.dtype == np.float32
    assert (floats32 - Tensor(np.array([[True, False], [False, True]]))).data.dtype == np.float32
    assert ints.sum(0).data.dtype == np.float64
    assert Tensor(np.array([True, False])).sigmoid().data.dtype == np.float64
    out = ints.mm(floats32)
    out.backward()
    assert ints.grad.data.dtype == np.float64
    assert floats32.grad.data.dtype == np.float32           # a float leaf keeps its dtype


def test_indices_stay_integers():
    idx = Tensor(np.array([2, 0], dtype=np.int32), autograd=True)
    w = Tensor(np.ones((3, 2), dtype=np.float32), autograd=True)
    w.index_select(idx).sum().backward()
    assert idx.data.dtype == np.int32 and idx.grad is None
    assert w.grad.data.dtype == np.float32


def test_data_is_copied_like_the_book():
    source = np.zeros(3)
    t = Tensor(source, autograd=True)
    t.data += 1
    assert source.sum() == 0


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_kernels_accept_any_memory_layout(layout):
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    make = {"C": np.ascontiguousarray, "F": np.asfortranarray,
            "strided": lambda x: np.repeat(x, 2, axis=1)[:, ::2]}[layout]
    a, b = Tensor(make(a_np), autograd=True), Tensor(make(b_np), autograd=True)
    a.data, b.data = make(a_np), make(b_np)  # Tensor() copies; put the layout back
    out = (a.mm(b).tanh() * 2.0).sum(1)
    np.testing.assert_allclose(out.data, (np.tanh(a_np @ b_np) * 2).sum(1))
    out.backward()
    g = 2 * (1 - np.tanh(a_np @ b_np) ** 2)
    np.testing.assert_allclose(a.grad.data, g @ b_np.T)
    np.testing.assert_allclose(b.grad.data, a_np.T @ g)


@pytest.mark.parametrize("convert, dtype", [(lambda t: t.float(), np.float32),
                                            (lambda t: t.double(), np.float64),
                                            (lambda t: t.to(np.float32), np.float32),
                                            (lambda t: t.to("float64"), np.float64)])
@pytest.mark.parametrize("source", [np.float32, np.float64, np.int64])
def test_conversion_is_differentiable_and_returns_gradients_in_the_input_dtype(convert, dtype, source):
    x = Tensor(np.array([[1, 2], [3, 4]], dtype=source), autograd=True)
    y = convert(x)
    assert y.data.dtype == dtype
    (y * Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 2], [3, 4]])
    assert x.grad.data.dtype == (source if source != np.int64 else np.float64)


def test_conversion_to_the_same_dtype_is_the_tensor_itself_and_other_dtypes_raise():
    x = Tensor(np.ones(2, dtype=np.float32), autograd=True)
    assert x.float() is x
    # PyTorch's conversions: integers and bools leave the graph; float16 is stored as such
    assert x.to(np.int32).dtype == np.int32 and not x.to(np.int32).autograd
    assert x.half().dtype == np.float16 and (x.half() * 2.0).dtype == np.float32
    for dtype in (np.complex64, "datetime64"):
        with pytest.raises(TypeError, match="to: cannot convert a tensor of float32\\[2\\] to"):
            x.to(dtype)
