"""jitgrad.profile: every op of a step in the table, forward and backward, with products'
flops; nothing recorded when off; `jitgrad train --profile`."""
import numpy as np
import pytest

import jitgrad
from jitgrad import (
    CrossEntropyLoss,
    Embedding,
    Linear,
    LSTMCell,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
)
from jitgrad.apps import cli
from jitgrad.backend import profiler


def build_step():
    """A step through most ops (embedding, LSTM, products, activations, both losses, sums,
    broadcasts); returns a function building its loss."""
    rng = np.random.default_rng(0)
    embed, cell = Embedding(7, 5), LSTMCell(5, 6, 7)
    mlp = Sequential([Linear(6, 8), Tanh(), Linear(8, 8), Sigmoid(), Linear(8, 3), ReLU()])
    chars = [Tensor(rng.integers(0, 7, 4)) for _ in range(3)]
    target = Tensor(rng.standard_normal((4, 3)))

    def loss():
        hidden, total = cell.init_hidden(batch_size=4), None
        for now, later in zip(chars, chars[1:]):
            output, hidden = cell.forward(embed.forward(now), hidden)
            step_loss = CrossEntropyLoss().forward(output, later)
            total = step_loss if total is None else total + step_loss
        squared = MSELoss().forward(mlp.forward(hidden[0]), target)
        w = Tensor(rng.standard_normal((3, 2)), autograd=True)
        extra = (hidden[0].mm(Tensor(rng.standard_normal((6, 3)))).mm(w) * 0.5 - w.sum(0).expand(0, 4)).sum(1)
        return total + squared + (extra / 2.0).sum(0) + (-extra.softmax()).sum(0)
    return loss


def graph_ops(root):
    """The creation_op of every node of the graph that made ``root``."""
    ops, seen, stack = set(), set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or node.creators is None:
            continue
        seen.add(id(node))
        ops.add(node.creation_op)
        stack.extend(node.creators)
    return ops


def recorded(prof, phase):
    return {name for name, p, _ in prof.stats if p == phase}


def test_the_table_covers_every_op_of_a_step_forward_and_backward():
    make_loss = build_step()
    expected = graph_ops(make_loss())
    assert {"lstm_cell", "index_select", "linear", "mm", "tanh", "sigmoid", "relu",
            "cross_entropy", "softmax", "expand_0", "sum_0"} <= expected
    with jitgrad.profile() as prof:
        make_loss().backward()
    assert recorded(prof, "forward") >= expected and recorded(prof, "backward") >= expected
    table = prof.table()
    for op in expected:
        assert any(line.split()[:2] == [op, "forward"] for line in table.splitlines()), op
        assert any(line.split()[:2] == [op, "backward"] for line in table.splitlines()), op
    assert 0 < sum(s.seconds for s in prof.stats.values()) <= prof.seconds


def test_products_count_their_flops():
    a = Tensor(np.ones((4, 5)), autograd=True)
    b = Tensor(np.ones((5, 3)))  # no gradient: the backward runs one product, not two
    with jitgrad.profile() as prof:
        a.mm(b).sum().backward()
    stats = {(name, phase): s for (name, phase, _), s in prof.stats.items()}
    assert stats[("mm", "forward")].flops == stats[("mm", "backward")].flops == 2 * 4 * 5 * 3
    assert stats[("sum", "forward")].flops == 0
    assert "GFLOP/s" in prof.table()


def test_by_shape_tells_the_layers_apart():
    x = Tensor(np.ones((2, 3)))
    first, second = Linear(3, 4), Linear(4, 5)
    with jitgrad.profile() as prof:
        second.forward(first.forward(x)).sum().backward()
    assert len([line for line in prof.table(by="shape").splitlines() if line.startswith("linear")]) == 4
    assert len([line for line in prof.table().splitlines() if line.startswith("linear")]) == 2
    with pytest.raises(ValueError, match="by must be 'op' or 'shape'"):
        prof.table(by="layer")


def test_combined_adds_up_the_blocks():
    x = Tensor(np.ones((2, 3)))
    layer = Linear(3, 4)
    blocks = []
    for _ in range(3):
        with jitgrad.profile() as prof:
            layer.forward(x).sum().backward()
        blocks.append(prof)
    total = profiler.Profile.combined(blocks)
    assert total.seconds == pytest.approx(sum(p.seconds for p in blocks))
    rows = {(name, phase): stats for name, phase, stats in total.rows()}
    one = {(name, phase): stats for name, phase, stats in blocks[0].rows()}
    assert rows.keys() == one.keys() and rows[("linear", "forward")].calls == 3
    assert rows[("linear", "backward")].flops == 3 * one[("linear", "backward")].flops > 0
    assert [stats.seconds for _, _, stats in total.rows()] == sorted(
        (stats.seconds for _, _, stats in total.rows()), reverse=True)


def test_nothing_is_recorded_when_off():
    with jitgrad.profile() as prof:
        pass
    (Tensor(np.ones(3), autograd=True) * 2).sum().backward()
    assert prof.stats == {} and not profiler.switch.active and profiler.switch.profile is None


def test_one_profile_at_a_time():
    with jitgrad.profile():
        with pytest.raises(RuntimeError, match="already recording"):
            with jitgrad.profile():
                pass
    assert not profiler.switch.active


def test_train_profile_prints_the_table(capsys):
    status = cli.main(["train", "--epochs", "1", "--hidden", "8", "--profile"])
    out = capsys.readouterr().out
    assert status == 0 and "jitgrad train --profile" in out
    lines = out.split("--profile`):")[1].splitlines()
    assert {tuple(line.split()[:2]) for line in lines} >= {("linear", "forward"), ("linear", "backward"),
                                                            ("relu", "forward"), ("cross_entropy", "backward")}
