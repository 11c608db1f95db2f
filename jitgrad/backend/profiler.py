"""Where a training step's time goes, per op, forward and backward apart.

    with jitgrad.profile() as prof:
        step()
    print(prof.table())

Off, it costs one flag check per op (``switch.active``, as ``detect_anomaly`` does). On, each
op's forward (in ``Tensor._from_op``) and backward (in ``autograd.backward``) is timed with
``time.perf_counter``; everything else inside the block (the optimizer, Python, data) is the
table's "outside ops" row. Products also get their GFLOP/s. One profile at a time per process.
"""
import threading
import time
from dataclasses import dataclass

from jitgrad.backend import gemm


class _Switch:
    """Whether a profile is recording; read on every op, so a plain class attribute."""
    active = False
    profile = None


switch = _Switch()
_lock = threading.Lock()


@dataclass
class OpStats:
    """Calls, seconds and floating-point operations (0 where not counted) of one table row."""
    calls: int = 0
    seconds: float = 0.0
    flops: int = 0


def profile():
    """A context manager recording every op's time until it exits; see ``Profile``."""
    return Profile()


class Profile:
    """The times of the ops run inside its ``with`` block; ``table()`` formats them.

    ``stats`` maps (op name, "forward" or "backward", shapes) to ``OpStats``; ``seconds`` is
    the block's wall time.
    """

    def __init__(self):
        self.stats = {}
        self.seconds = 0.0

    def __enter__(self):
        gemm.ensure_chosen()  # a one-off measurement at the first product: no op's time
        with _lock:
            if switch.active:
                raise RuntimeError("jitgrad.profile: a profile is already recording in this process")
            switch.profile, switch.active = self, True
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds += time.perf_counter() - self._start
        switch.active, switch.profile = False, None
        return False

    def record(self, op, phase, shapes, seconds, flops):
        stats = self.stats.setdefault((op.creation_op, phase, shapes), OpStats())
        stats.calls += 1
        stats.seconds += seconds
        stats.flops += flops

    @classmethod
    def combined(cls, profiles):
        """One profile of several blocks (each step of a benchmark apart): their calls, times,
        floating-point operations and wall times added up."""
        total = cls()
        for profile in profiles:
            total.seconds += profile.seconds
            for key, stats in profile.stats.items():
                into = total.stats.setdefault(key, OpStats())
                into.calls += stats.calls
                into.seconds += stats.seconds
                into.flops += stats.flops
        return total

    def rows(self, by="op"):
        """[(name, phase, OpStats)], one per op and phase (``by="op"``) or per op, phase and
        input shapes (``by="shape"``: the name then holds the shapes), slowest first."""
        if by not in ("op", "shape"):
            raise ValueError(f"profile.table: by must be 'op' or 'shape', got {by!r}")
        rows = {}
        for (name, phase, shapes), stats in self.stats.items():
            key = (name if by == "op" else f"{name} {_shapes(shapes)}", phase)
            total = rows.setdefault(key, OpStats())
            total.calls += stats.calls
            total.seconds += stats.seconds
            total.flops += stats.flops
        return [(name, phase, stats)
                for (name, phase), stats in sorted(rows.items(), key=lambda item: -item[1].seconds)]

    def table(self, by="op"):
        """A text table of ``rows(by)``: calls, total ms, mean µs, share of the block's time,
        and GFLOP/s for products; then the time outside ops and the block's."""
        rows = self.rows(by)
        inside = sum(stats.seconds for _, _, stats in rows)
        width = max([28, *(len(name) + 2 for name, _, _ in rows)])
        lines = [f"{'op':<{width}}{'phase':<10}{'calls':>7}{'total ms':>10}{'mean µs':>10}{'share':>8}{'GFLOP/s':>9}"]
        for name, phase, stats in rows:
            rate = f"{stats.flops / stats.seconds / 1e9:9.1f}" if stats.flops and stats.seconds else ""
            lines.append(f"{name:<{width}}{phase:<10}{stats.calls:>7}{stats.seconds * 1e3:>10.3f}"
                         f"{stats.seconds / stats.calls * 1e6:>10.1f}{self._share(stats.seconds):>8}{rate}")
        lines.append(f"{'outside ops':<{width + 10}}{'':>7}{(self.seconds - inside) * 1e3:>10.3f}{'':>10}"
                     f"{self._share(self.seconds - inside):>8}")
        lines.append(f"{'total':<{width + 10}}{'':>7}{self.seconds * 1e3:>10.3f}")
        return "\n".join(lines)

    def _share(self, seconds):
        return f"{seconds / self.seconds:.1%}" if self.seconds else "–"


def _shapes(shapes, most=2):
    """"64x392,392x256" for the first ``most`` inputs' shapes ("()" for a scalar)."""
    text = ",".join("x".join(map(str, shape)) or "()" for shape in shapes[:most])
    return text + (",…" if len(shapes) > most else "")


def timed_forward(op, arrays):
    """``op.forward(*arrays)``, timed into the recording profile."""
    start = time.perf_counter()
    out = op.forward(*arrays)
    seconds = time.perf_counter() - start
    _record(op, "forward", arrays, seconds, _product_flops(op, products=1))
    return out


def timed_backward(op, grad, args):
    """``op.backward(grad, *args)`` (args: needs_grad, and the ``into`` buffers of an
    accumulating op), timed into the recording profile."""
    start = time.perf_counter()
    grads = op.backward(grad, *args)
    seconds = time.perf_counter() - start
    _record(op, "backward", (grad,), seconds, _product_flops(op, products=sum(map(bool, args[0][:2]))))
    return grads


def timed_scaled_grads(op, grad, targets):
    """``op.add_scaled_grads(grad, targets)`` (a compiled step's SGD update fused into
    products: jitgrad/fused_sgd.py), timed into the recording profile as the op's "update"
    phase."""
    start = time.perf_counter()
    op.add_scaled_grads(grad, targets)
    seconds = time.perf_counter() - start
    products = sum(index in (0, 1) for index, _, _ in targets)
    _record(op, "update", (grad,), seconds, _product_flops(op, products=products))


def timed(op, phase, function, *args):
    """``function(*args)``, timed into the recording profile as ``op``'s ``phase`` (a compiled
    step's batched input products of an LSTM window: "inputs")."""
    start = time.perf_counter()
    result = function(*args)
    _record(op, phase, (), time.perf_counter() - start, 0)
    return result


def _record(op, phase, arrays, seconds, flops):
    recording = switch.profile
    if recording is not None:
        recording.record(op, phase, tuple(getattr(a, "shape", ()) for a in arrays), seconds, flops)


def _product_flops(op, products):
    """2 * m * k * n times ``products`` for a matrix product op (mm, linear: one product
    forward, one per operand that wants a gradient backward); 0 for other ops."""
    if op.creation_op not in ("mm", "linear"):
        return 0
    (m, inner), n = op.a.shape, op.b.shape[1]
    return 2 * m * inner * n * products
