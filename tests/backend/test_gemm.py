"""The GEMM backends: how one is chosen (measured, cached, overridden, MKL absent), that each
gives the same bits every time, that they agree with each other, and one thread budget."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from jitgrad.backend import gemm
from kernels import blas, mkl
from kernels import matmul as k

needs_mkl = pytest.mark.skipif(not mkl.installed(), reason='MKL is optional: pip install "jitgrad[mkl]"')
BACKENDS = ["openblas", pytest.param("mkl", marks=needs_mkl)]
#: (m, k, n) products in each shape class, with edge cases: a 1-row product, an empty inner dim.
SHAPES = [(16, 512, 512), (1, 7, 33), (5, 0, 40), (128, 512, 300), (64, 40, 48), (300, 520, 600)]


#: Each test may change the process's backends (tests/conftest.py puts them back).
pytestmark = pytest.mark.usefixtures("gemm_choice_restored")


@pytest.fixture
def no_mkl(monkeypatch):
    """A machine without MKL: the library cannot be found."""
    monkeypatch.setattr(mkl, "library_path", lambda: None)


@pytest.fixture
def fake_measurement(monkeypatch, tmp_path):
    """``measure`` returns made-up times (MKL fastest on skinny products only) and counts its
    calls; the cache is a file of its own."""
    calls = []

    def measure(backends=gemm.BACKENDS):
        calls.append(1)
        return {(dtype.name, c): {"openblas": 1.0, "mkl": 0.5 if c == "skinny" else 1.5}
                for dtype in blas.DTYPES for c in blas.SHAPE_CLASSES}
    monkeypatch.setattr(gemm, "measure", measure)
    monkeypatch.setattr(gemm, "cache_path", lambda: str(tmp_path / gemm.CACHE_FILE))
    return calls


def operands(m, inner, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, inner)).astype(dtype), rng.standard_normal((inner, n)).astype(dtype)


@pytest.mark.parametrize("m, inner, n, expected", [
    (32, 256, 10, "small"), (1, 7, 33, "small"), (32, 64, 128, "skinny"),
    (16, 512, 512, "skinny"), (512, 512, 32, "skinny"), (33, 512, 512, "medium"),
    (128, 512, 512, "medium"), (256, 512, 512, "large"), (256, 2048, 2048, "large")])
def test_shape_classes(m, inner, n, expected):
    assert blas.SHAPE_CLASSES[blas.shape_class(m, inner, n)] == expected


def test_without_mkl_every_product_runs_on_openblas(no_mkl, fake_measurement):
    choice = gemm.choose()
    assert set(choice.values()) == {"openblas"} and len(choice) == len(blas.TABLE)
    assert list(blas.TABLE) == [None] * len(blas.TABLE)  # 0: Numba's own BLAS call
    assert "jitgrad[mkl]" in gemm._Decision.reason and not fake_measurement
    a, b = operands(20, 30, 40, "float32")
    np.testing.assert_allclose(k.mm(a, b), a.astype(np.float64) @ b, rtol=1e-5)


def test_override_names_the_backend(monkeypatch, fake_measurement):
    monkeypatch.setenv(gemm.OVERRIDE, "openblas")
    assert set(gemm.choose().values()) == {"openblas"}
    assert gemm._Decision.reason == "JITGRAD_BLAS=openblas" and not fake_measurement


def test_override_to_a_missing_mkl_says_how_to_install_it(monkeypatch, no_mkl):
    monkeypatch.setenv(gemm.OVERRIDE, "mkl")
    mkl.load.cache_clear()
    try:
        with pytest.raises(ImportError, match=r'pip install "jitgrad\[mkl\]"'):
            gemm.choose()
    finally:
        mkl.load.cache_clear()


def test_unknown_override_is_refused(monkeypatch):
    monkeypatch.setenv(gemm.OVERRIDE, "blis")
    with pytest.raises(ValueError, match="JITGRAD_BLAS='blis'.*openblas or mkl"):
        gemm.choose()


@needs_mkl
def test_override_to_mkl_points_every_slot_at_it(monkeypatch):
    monkeypatch.setenv(gemm.OVERRIDE, "mkl")
    gemm.choose()
    addresses = mkl.load()
    assert list(blas.TABLE) == [addresses[d.name] for d in blas.DTYPES for _ in blas.SHAPE_CLASSES]


def test_one_thread_takes_the_fastest_backend_per_class():
    times = {(d.name, c): {"openblas": 1.0, "mkl": 0.5 if c == "skinny" else 1.5}
             for d in blas.DTYPES for c in blas.SHAPE_CLASSES}
    assert gemm._fastest(times, threads=1)["float32"] == {
        "small": "openblas", "skinny": "mkl", "medium": "openblas", "large": "openblas"}
    # with more threads, one pool for everything: the one fastest over all classes
    assert set(gemm._fastest(times, threads=2)["float64"].values()) == {"openblas"}


@needs_mkl
def test_the_measurement_is_cached_per_thread_count(fake_measurement):
    with threadpool_limits(limits=1, user_api="blas"):
        first = gemm.choose()
        assert gemm.choose() == first and len(fake_measurement) == 1
        assert first[("float32", "skinny")] == "mkl" and first[("float32", "large")] == "openblas"
        assert blas.TABLE[blas.slot("float32", "skinny")] == mkl.load()["float32"]
        assert not blas.TABLE[blas.slot("float32", "large")]
    with threadpool_limits(limits=2, user_api="blas"):
        assert set(gemm.choose().values()) == {"openblas"}  # one pool: see above
    assert len(fake_measurement) == 2
    assert gemm.choose(use_cache=False) and len(fake_measurement) == 3


def test_report_names_the_backend_of_every_class(no_mkl, fake_measurement):
    gemm.choose()
    lines = gemm.report()
    for dtype in blas.DTYPES:
        line = next(line for line in lines if line.startswith(f"gemm {dtype.name}"))
        assert all(f"{c} openblas" in line for c in blas.SHAPE_CLASSES)


def products(dtype):
    """mm, both backward products (reading transposed views) and an accumulating product,
    for every shape of SHAPES."""
    results = []
    for m, inner, n in SHAPES:
        a, b = operands(m, inner, n, dtype)
        grad = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
        into = np.ones((inner, n), dtype=dtype)
        k.mm_grad_right_into(a, grad, into)
        results += [k.mm(a, b), k.mm_grad_left(grad, b), k.mm_grad_right(a, grad), into]
    return results


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_backend_gives_the_same_bits_every_time(backend, dtype):
    gemm.install(gemm.uniform(backend), "test")
    first, again = products(dtype), products(dtype)
    for x, y in zip(first, again):
        assert np.array_equal(x, y)


@needs_mkl
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-5), ("float64", 1e-12)])
def test_backends_agree(dtype, rtol):
    results = {}
    for backend in gemm.BACKENDS:
        gemm.install(gemm.uniform(backend), "test")
        results[backend] = products(dtype)
    for ours, theirs, (m, inner, n) in zip(results["mkl"], results["openblas"], np.repeat(SHAPES, 4, axis=0)):
        scale = np.sqrt(max(inner, m, 1))  # a sum of that many terms of size ~1
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)
        assert np.any(ours != 0) or inner == 0


@needs_mkl
def test_one_thread_budget_covers_mkl():
    with threadpool_limits(limits=1, user_api="blas"):
        gemm.install(gemm.uniform("mkl"), "test")
        threads = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"}
        assert threads == {"openblas": 1, "mkl": 1}
    with threadpool_limits(limits=2, user_api="blas"):
        assert all(pool["num_threads"] == 2 for pool in threadpool_info() if pool["user_api"] == "blas")


@needs_mkl
def test_warmup_can_measure_the_backends_again(fake_measurement):
    from jitgrad.compiler.warmup import warmup
    gemm.choose()
    warmup(progress=False)
    assert len(fake_measurement) == 1  # the cached verdict
    warmup(progress=False, remeasure_blas=True)
    assert len(fake_measurement) == 2


@needs_mkl
def test_mkl_loaded_after_a_limit_takes_it():
    """MKL loads after ``--threads`` set OpenBLAS's limit, still on all cores: choosing it
    brings it down to OpenBLAS's count."""
    with threadpool_limits(limits=1, user_api="blas"):
        mkl.load()
        with threadpool_limits(limits={"libmkl_rt": 2}):  # as MKL loaded after the limit
            gemm.install(gemm.uniform("mkl"), "test")
            threads = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()
                       if pool["user_api"] == "blas"}
    assert threads == {"openblas": 1, "mkl": 1}


# --- products computed as their transposes (gemm.transposed_faster) --------------------------

def test_more_rows_than_the_limit_are_never_transposed(monkeypatch):
    monkeypatch.setattr(gemm, "_measure_transposed", lambda *key: pytest.fail("measured"))
    assert not gemm.transposed_faster(gemm.TRANSPOSED_MAX_ROWS + 1, 8, 8, False, np.float32)


@pytest.mark.parametrize("transposed_seconds, expected", [(0.8, True), (0.97, False)])
def test_the_transposed_product_must_win_by_five_percent(monkeypatch, transposed_seconds,
                                                         expected):
    monkeypatch.setattr(gemm, "_TRANSPOSED", {})
    calls = []

    def fake_repeat(seconds, fn):
        calls.append(1)
        return transposed_seconds if len(calls) % 2 == 0 else 1.0  # plain first, then transposed
    monkeypatch.setattr(gemm, "_repeat_for", fake_repeat)
    assert gemm.transposed_faster(4, 8, 16, True, np.float64) is expected
    assert gemm.transposed_faster(4, 8, 16, True, np.float64) is expected and len(calls) == 10


def test_a_transposed_product_that_rounds_differently_is_never_chosen(monkeypatch):
    monkeypatch.setattr(gemm, "_TRANSPOSED", {})
    real = k.product_either_way
    monkeypatch.setattr(k, "product_either_way", lambda a, b, transposed: (
        real(a, b, transposed) + (1e-12 if transposed else 0)))
    monkeypatch.setattr(gemm, "_repeat_for", lambda seconds, fn: pytest.fail("timed"))
    assert not gemm.transposed_faster(4, 8, 16, False, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_lstm_step_gives_the_same_numbers_either_way(dtype):
    """The recurrent products are made apart and added after, so that the orientation, which
    the measurement may choose either way, never shows in the numbers."""
    from kernels import recurrent
    rng = np.random.default_rng(0)
    batch, inputs, hidden = 16, 24, 640  # past OpenBLAS's inner block, where adding in differs
    x, h, c = (rng.standard_normal(shape).astype(dtype)
               for shape in [(batch, inputs), (batch, hidden), (batch, hidden)])
    wx, wh = ([rng.standard_normal(shape).astype(dtype) * 0.1 for _ in range(4)]
              for shape in [(inputs, hidden), (hidden, hidden)])
    bx = [rng.standard_normal(hidden).astype(dtype) for _ in range(4)]
    grad = rng.standard_normal((2, batch, hidden)).astype(dtype)
    results = []
    for transposed in (False, True):
        state, gates = recurrent.lstm_cell(x, h, c, tuple(wx), tuple(bx), tuple(wh), transposed)
        back = recurrent.lstm_cell_backward(grad, c, state, gates, tuple(wx), tuple(wh), True,
                                            transposed)
        results.append([state, gates, *back])
    for plain, transposed in zip(*results):
        np.testing.assert_array_equal(plain, transposed)
