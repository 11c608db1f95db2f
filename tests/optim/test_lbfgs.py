"""optim.LBFGS against torch.optim.LBFGS step for step (float64: same iterates, losses and
evaluation counts), with and without the strong-Wolfe line search; its settings checks; and
every optimizer's step(closure), PyTorch's contract."""
import numpy as np
import pytest

import jitgrad
from jitgrad import SGD, Adam, AdamW, RMSprop, Tensor, no_grad
from jitgrad.optim import LBFGS


# --- problems, written once for either library (lib: jitgrad or torch) ---------------------
def least_squares(lib, params, data):
    """mean((X @ W + b - Y)**2), W (4, 2), b (2,)."""
    x, y = data
    w, b = params
    return ((x @ w + b - y) ** 2).mean()


def rosenbrock(lib, params, data):
    """The extended Rosenbrock function of one vector."""
    (z,) = params
    head, tail = z[:-1], z[1:]
    return (100 * (tail - head ** 2) ** 2 + (1 - head) ** 2).sum()


def least_squares_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4))
    y = x @ rng.normal(size=(4, 2)) + 0.5 + 0.1 * rng.normal(size=(20, 2))
    return least_squares, [np.zeros((4, 2)), np.zeros(2)], (x, y)


def rosenbrock_problem():
    return rosenbrock, [np.array([-1.2, 1.0, -0.5, 0.8, 1.5])], ()


PROBLEMS = {"least_squares": least_squares_problem, "rosenbrock": rosenbrock_problem}


def run(lib, problem, steps, **settings):
    """The parameters, the loss step() returned and the state's evaluation count after each
    of ``steps`` LBFGS steps."""
    loss_of, start, data = PROBLEMS[problem]()
    if lib is jitgrad:
        params = [Tensor(p.copy(), autograd=True) for p in start]
        data = [Tensor(a) for a in data]
        optimizer = LBFGS(params, **settings)
    else:
        params = [lib.tensor(p.copy(), requires_grad=True) for p in start]
        data = [lib.tensor(a) for a in data]
        optimizer = lib.optim.LBFGS(params, **settings)

    def closure():
        optimizer.zero_grad()
        loss = loss_of(lib, params, data)
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        loss = optimizer.step(closure)
        state = optimizer.state[params[0]]
        trace.append(([np.array(p.detach().numpy()) for p in params], float(loss.item()),
                      state["func_evals"], state["n_iter"]))
    return trace


SETTINGS = [dict(), dict(line_search_fn="strong_wolfe"), dict(lr=0.5, history_size=3),
            dict(line_search_fn="strong_wolfe", history_size=2, max_iter=7),
            dict(max_iter=1), dict(lr=0.1, max_iter=5, max_eval=4, tolerance_change=1e-5)]


def settings_id(settings):
    return ",".join(f"{key}={value}" for key, value in settings.items()) or "defaults"


@pytest.mark.parametrize("settings", SETTINGS, ids=settings_id)
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_step_for_step_as_torch(problem, settings):
    torch = pytest.importorskip("torch")
    steps = 4
    ours, theirs = run(jitgrad, problem, steps, **settings), run(torch, problem, steps, **settings)
    for step, (our_step, their_step) in enumerate(zip(ours, theirs)):
        our_params, our_loss, our_evals, our_iters = our_step
        their_params, their_loss, their_evals, their_iters = their_step
        assert (our_evals, our_iters) == (their_evals, their_iters), step
        np.testing.assert_allclose(our_loss, their_loss, rtol=1e-9, atol=1e-12, err_msg=str(step))
        for ours_p, theirs_p in zip(our_params, their_params):
            np.testing.assert_allclose(ours_p, theirs_p, rtol=1e-9, atol=1e-12, err_msg=str(step))


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_solves_least_squares_to_the_normal_equations(line_search_fn):
    # tolerances tighter than the defaults, whose loss-change stop (1e-9) leaves ~1e-5 error
    trace = run(jitgrad, "least_squares", 5, line_search_fn=line_search_fn,
                tolerance_grad=1e-12, tolerance_change=1e-15)
    _, _, (x, y) = least_squares_problem()
    design = np.hstack([x, np.ones((len(x), 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    w, b = trace[-1][0]
    np.testing.assert_allclose(w, solution[:4], atol=1e-6)
    np.testing.assert_allclose(b, solution[4], atol=1e-6)


def test_rosenbrock_reaches_its_minimum_with_the_line_search():
    (z,), *_ = run(jitgrad, "rosenbrock", 10, line_search_fn="strong_wolfe", max_iter=50,
                   tolerance_grad=1e-12, tolerance_change=1e-15)[-1]
    np.testing.assert_allclose(z, np.ones(5), atol=1e-5)


def test_step_needs_a_closure_and_settings_are_checked():
    p = Tensor(np.zeros(3), autograd=True)
    with pytest.raises(TypeError, match="LBFGS.step: needs a closure"):
        LBFGS([p]).step()
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        LBFGS([p], history_size=0)
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [p]}, {"params": [Tensor(np.zeros(2), autograd=True)]}])
    with pytest.raises(TypeError, match="one dtype"):
        LBFGS([p, Tensor(np.zeros(2, np.float32), autograd=True)])


def test_a_read_only_parameter_is_refused_before_the_closure_runs():
    p = Tensor(np.zeros(3), autograd=True)
    p.data.flags.writeable = False
    calls = []
    optimizer = LBFGS([p])
    with pytest.raises(ValueError, match="LBFGS.step: parameter 0 .* read-only"):
        optimizer.step(lambda: calls.append(1))
    assert calls == [] and optimizer.state == {}


def test_state_dict_resumes_exactly():
    def fresh():
        loss_of, start, data = least_squares_problem()
        params = [Tensor(a.copy(), autograd=True) for a in start]
        data = [Tensor(a) for a in data]
        optimizer = LBFGS(params, max_iter=3, history_size=4)

        def closure():
            optimizer.zero_grad()
            loss = loss_of(jitgrad, params, data)
            loss.backward()
            return loss
        return params, optimizer, closure

    params, optimizer, closure = fresh()
    optimizer.step(closure)
    saved = optimizer.state_dict()
    snapshot = [p.data.copy() for p in params]
    optimizer.step(closure)
    other_params, other, other_closure = fresh()
    for p, data in zip(other_params, snapshot):
        p.data[...] = data
    other.load_state_dict(saved)
    other.step(other_closure)
    for p, q in zip(params, other_params):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match="LBFGS.load_state_dict"):
        LBFGS([Tensor(np.zeros(3), autograd=True)]).load_state_dict(saved)


# --- step(closure) on every optimizer -----------------------------------------------------------
FIRST_ORDER = {"sgd": lambda ps: SGD(ps, lr=0.1),
               "momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
               "adam": lambda ps: Adam(ps, lr=0.1), "adamw": lambda ps: AdamW(ps, lr=0.1),
               "rmsprop": lambda ps: RMSprop(ps, lr=0.1)}


def closure_run(kind, steps, use_closure, keyword=False):
    w = Tensor(np.array([1.0, -2.0, 0.5]), autograd=True)
    optimizer = FIRST_ORDER[kind]([w])
    x = Tensor(np.array([0.3, 0.2, -0.1]))
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = ((w * x).sum() - 1.0) ** 2
        loss.backward()
        return loss

    for _ in range(steps):
        if use_closure:
            with no_grad():  # the step runs the closure with the graph recorded regardless
                loss = optimizer.step(closure=closure) if keyword else optimizer.step(closure)
        else:
            loss = closure()
            assert optimizer.step() is None
        losses.append(loss.item())
    return w.data.copy(), losses


@pytest.mark.parametrize("kind", sorted(FIRST_ORDER))
def test_step_with_a_closure_is_the_step_after_calling_it(kind):
    expected = closure_run(kind, 3, use_closure=False)
    for keyword in (False, True):
        got = closure_run(kind, 3, use_closure=True, keyword=keyword)
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[1] == expected[1]


@pytest.mark.parametrize("kind", sorted(FIRST_ORDER))
def test_step_with_a_closure_as_torch(kind):
    torch = pytest.importorskip("torch")
    makers = {"sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
              "momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
              "adam": lambda ps: torch.optim.Adam(ps, lr=0.1),
              "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.1),
              "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.1)}
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([0.3, 0.2, -0.1], dtype=torch.float64)
    optimizer = makers[kind]([w])

    def closure():
        optimizer.zero_grad()
        loss = ((w * x).sum() - 1.0) ** 2
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _ in range(3)]
    ours, our_losses = closure_run(kind, 3, use_closure=True)
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(our_losses, losses, rtol=1e-12)
