"""Each optimizer against steps worked out by hand, and gradient clipping."""
import numpy as np
import pytest

from jitgrad import SGD, Adam, AdamW, RMSprop, Tensor, clip_grad_norm

GRAD = [0.5, -1.0]


def param(values=(1.0, 2.0), dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), autograd=True)


def step_with(optim, p, grads):
    """Give ``p`` each gradient in turn and step once per gradient."""
    for grad in grads:
        p.grad = Tensor(np.array(grad, dtype=p.data.dtype))
        optim.step()
    return p.data


def test_sgd_is_the_book_update():
    p = param()
    # p - alpha * g = [1 - 0.05, 2 + 0.1]
    np.testing.assert_allclose(step_with(SGD([p], alpha=0.1), p, [GRAD]), [0.95, 2.1])
    assert p.grad is None  # released after the step: the next backward starts from zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_rounds_as_the_books_numpy_update(dtype):
    """The book's ``p.data -= p.grad.data * alpha``, bit for bit: in float32 NumPy takes
    alpha as a float32, so computing the step in float64 would round differently."""
    rng = np.random.default_rng(0)
    values, grad = rng.standard_normal((2, 1000)).astype(dtype)
    expected = values - grad * 0.1
    p = param(values, dtype)
    np.testing.assert_array_equal(step_with(SGD([p], alpha=0.1), p, [grad]), expected)


def test_sgd_momentum_accumulates_a_velocity():
    p = param()
    # v1 = g, p1 = p0 - 0.1 g;  v2 = 0.9 g + g = 1.9 g, p2 = p1 - 0.19 g;  total 0.29 g
    data = step_with(SGD([p], alpha=0.1, momentum=0.9), p, [GRAD, GRAD])
    np.testing.assert_allclose(data, [1 - 0.29 * 0.5, 2 + 0.29 * 1.0])


def test_sgd_weight_decay_adds_decay_times_weight_to_the_gradient():
    p = param()
    # g' = g + 0.01 p = [0.51, -0.98];  p - 0.1 g' = [0.949, 2.098]
    np.testing.assert_allclose(step_with(SGD([p], alpha=0.1, weight_decay=0.01), p, [GRAD]),
                               [0.949, 2.098])


def test_adam_first_step_moves_each_weight_by_alpha():
    p = param()
    # m_hat = g, v_hat = g**2 after one step, so the step is alpha * g / (|g| + eps)
    np.testing.assert_allclose(step_with(Adam([p], alpha=0.1), p, [GRAD]), [0.9, 2.1], rtol=1e-7)


def test_adam_second_step_uses_bias_corrected_moments():
    p = param([1.0])
    data = step_with(Adam([p], alpha=0.1), p, [[0.5], [1.0]])
    m2 = 0.9 * (0.1 * 0.5) + 0.1 * 1.0                 # 0.145
    v2 = 0.999 * (0.001 * 0.25) + 0.001 * 1.0          # 0.00124975
    second = 0.1 * (m2 / (1 - 0.9 ** 2)) / ((v2 / (1 - 0.999 ** 2)) ** 0.5 + 1e-8)
    np.testing.assert_allclose(data, [1.0 - 0.1 - second], rtol=1e-7)
    assert 0.09 < second < 0.1


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, alpha=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: Adam(ps, weight_decay=0.1)])
def test_updates_keep_float32(make):
    p = param(dtype=np.float32)
    assert step_with(make([p]), p, [GRAD, GRAD]).dtype == np.float32


@pytest.mark.parametrize("make, match", [
    (lambda: SGD([param()], alpha=-1), r"SGD: lr \(alpha\) must be a number >= 0"),
    (lambda: SGD([param()], momentum=1.0), r"SGD: momentum must be in \[0, 1\)"),
    (lambda: SGD([param()], nesterov=True), "SGD: nesterov needs momentum"),
    (lambda: Adam([param()], betas=(0.9, 1.5)), "Adam: betas"),
    (lambda: Adam([param()], weight_decay=-1), "Adam: weight_decay"),
    (lambda: RMSprop([param()], alpha=2), r"RMSprop: alpha \(smoothing\)"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_clip_grad_norm_scales_all_gradients_together():
    a, b, unused = param(), param([0.0]), param()
    a.grad, b.grad = Tensor(np.array([3.0, 0.0])), Tensor(np.array([4.0]))  # global norm 5
    assert clip_grad_norm([a, b, unused], max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0])
    np.testing.assert_allclose(b.grad.data, [0.8])


def test_clip_grad_norm_replaces_a_read_only_gradient_instead_of_failing_halfway():
    """In-place scaling raised NumPy's "output array is read-only" after scaling the
    gradients before it."""
    a, b = param(), param([0.0])
    frozen = np.array([4.0])
    frozen.flags.writeable = False
    a.grad, b.grad = Tensor(np.array([3.0, 0.0])), Tensor(frozen)
    b.grad.data = frozen
    assert clip_grad_norm([a, b], max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0])
    np.testing.assert_allclose(b.grad.data, [0.8])
    np.testing.assert_array_equal(frozen, [4.0])


def test_clip_grad_norm_leaves_small_gradients_alone():
    a = param()
    a.grad = Tensor(np.array([0.3, 0.4]))
    assert clip_grad_norm([a], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad.data, [0.3, 0.4])


# --- many parameters in one kernel call (``update_group``) --------------------------------
FUSED = [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1), lambda ps: AdamW(ps, lr=0.1)]


def train_three_steps(make, layout, dtype=np.float32):
    """Three steps on three parameters; ``layout`` "C" updates them in one call, "F" stores
    the middle one F-ordered, so every parameter is updated alone. Returns their data."""
    rng = np.random.default_rng(0)
    ps = [Tensor(rng.standard_normal(shape).astype(dtype), autograd=True)
          for shape in [(3, 4), (4, 5), (5,)]]
    ps[1].data = np.asarray(ps[1].data, order=layout)
    optim = make(ps)
    for _ in range(3):
        for p in ps:
            p.grad = Tensor(rng.standard_normal(p.data.shape).astype(dtype))
        optim.step()
    return [np.ascontiguousarray(p.data) for p in ps]


@pytest.mark.parametrize("make", FUSED + [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                          lambda ps: RMSprop(ps, lr=0.1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_call_for_all_parameters_equals_one_call_each_bit_for_bit(make, dtype):
    """Also: an F-ordered parameter keeps its state (its flat view once was a copy, so
    momentum and Adam's moments were lost without a word)."""
    for together, alone in zip(train_three_steps(make, "C", dtype),
                               train_three_steps(make, "F", dtype)):
        np.testing.assert_array_equal(together, alone)


@pytest.mark.parametrize("make", FUSED)
def test_a_replaced_parameter_array_is_updated_not_the_old_one(make):
    """The kernel reads arrays by address: a parameter given new data between steps must be
    updated in its new array (the old one is left alone)."""
    ps = [param([1.0, 2.0]), param([3.0])]
    optim = make(ps)
    step_with(optim, ps[0], [GRAD])
    old = ps[0].data
    kept = old.copy()
    ps[0].data = np.array([10.0, 20.0])
    ps[0].grad = Tensor(np.array(GRAD))
    optim.step()
    np.testing.assert_array_equal(old, kept)
    assert ps[0].data[0] < 10.0 and ps[0].data[1] > 20.0


def test_adam_parameters_at_different_steps_each_keep_their_own_count():
    """A parameter added to a group later is at an earlier step: bias correction per
    parameter, as in PyTorch, so its first step still moves it by lr."""
    first, later = param([1.0]), param([1.0])
    optim = Adam([first], lr=0.1)
    step_with(optim, first, [[0.5], [0.5]])
    optim.param_groups[0]["params"].append(later)
    first.grad, later.grad = Tensor(np.array([0.5])), Tensor(np.array([0.5]))
    optim.step()
    assert optim.state[first]["step"] == 3 and optim.state[later]["step"] == 1
    np.testing.assert_allclose(later.data, [0.9], rtol=1e-7)


def test_adam_after_load_state_dict_updates_from_the_loaded_moments():
    a, b = param([1.0, 2.0]), param([1.0, 2.0])
    optim_a, optim_b = Adam([a], lr=0.1), Adam([b], lr=0.1)
    step_with(optim_a, a, [GRAD, [1.0, 1.0]])
    step_with(optim_b, b, [[5.0, -5.0]])  # b's own table, from other moments
    b.data = a.data.copy()
    optim_b.load_state_dict(optim_a.state_dict())
    np.testing.assert_array_equal(step_with(optim_a, a, [GRAD]), step_with(optim_b, b, [GRAD]))


@pytest.mark.parametrize("make", FUSED + [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                          lambda ps: RMSprop(ps, lr=0.1)])
def test_a_read_only_parameter_raises_naming_it_and_nothing_changes(make):
    """Kernels write parameters in place: a read-only array was written anyway (one kernel
    call for all) or failed with a raw Numba typing error (one at a time)."""
    ps = [param([1.0, 2.0]), param([3.0])]
    ps[1].data.flags.writeable = False
    optim = make(ps)
    for p in ps:
        p.grad = Tensor(np.array([0.5] * p.data.size))
    with pytest.raises(ValueError, match=r"step: parameter 1 \(float64\[1\]\) is a read-only"):
        optim.step()
    np.testing.assert_array_equal(ps[0].data, [1.0, 2.0])
    np.testing.assert_array_equal(ps[1].data, [3.0])
    assert optim.state == {} and ps[0].grad is not None


@pytest.mark.parametrize("make", FUSED)
def test_a_read_only_gradient_is_read_not_zeroed(make):
    p = param([1.0, 2.0])
    grad = np.array([0.5, -1.0])
    grad.flags.writeable = False
    p.grad = Tensor(grad)
    p.grad.data = grad
    make([p]).step()
    np.testing.assert_array_equal(grad, [0.5, -1.0])
    assert p.grad is None and p.data[0] < 1.0 < 2.0 < p.data[1]
