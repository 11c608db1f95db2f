"""The same graphs through PyTorch autograd, when torch is installed (optional)."""
import numpy as np
import pytest

from jitgrad import LSTMCell, Tensor

torch = pytest.importorskip("torch")


def test_every_op_matches_torch():
    rng = np.random.default_rng(0)
    a_np, b_np, m_np = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    idx_np, targets_np = np.array([1, 0, 1, 3]), np.array([0, 4, 2])

    def graph(a, b, m, lib):
        x = (a + b) * a - b / (a * a + 1.0)
        x = (-x).sigmoid() + x.tanh() + (x * 2.0).relu()
        if lib == "torch":
            sm, y = x.softmax(-1), x.mm(m) + x.sum(1, keepdim=True).expand(-1, 5)
            rows = m[torch.as_tensor(idx_np)]
            ce = torch.nn.functional.cross_entropy(y, torch.as_tensor(targets_np))
            yt = y.t()
        else:
            sm, y = x.softmax(), x.mm(m) + x.sum(1).expand(1, 5)
            rows = m.index_select(Tensor(idx_np))
            ce = y.cross_entropy(Tensor(targets_np))
            yt = y.transpose()
        return (sm * sm).sum() + rows.sum() * 0.5 + ce + (yt * yt).sum()

    ours = [Tensor(v, autograd=True) for v in (a_np, b_np, m_np)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a_np, b_np, m_np)]
    out, ref = graph(*ours, "jitgrad"), graph(*theirs, "torch")
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10)
    out.backward()
    ref.backward()
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_lstm_cell_matches_torch_lstm_cell():
    np.random.seed(0)
    cell = LSTMCell(3, 4, 2)
    x_np = np.random.randn(5, 3)
    h0, c0 = (np.random.randn(5, 4) for _ in range(2))
    h, c = cell.forward(Tensor(x_np), (Tensor(h0), Tensor(c0)))[1]
    ref = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    with torch.no_grad():   # torch stacks gates as input, forget, cell, output
        gates = [cell.xi, cell.xf, cell.xc, cell.xo]
        hidden = [cell.hi, cell.hf, cell.hc, cell.ho]
        ref.weight_ih.copy_(torch.tensor(np.concatenate([g.weight.data.T for g in gates])))
        ref.weight_hh.copy_(torch.tensor(np.concatenate([g.weight.data.T for g in hidden])))
        ref.bias_ih.copy_(torch.tensor(np.concatenate([g.bias.data for g in gates])))
        ref.bias_hh.zero_()
    h_ref, c_ref = ref(torch.tensor(x_np), (torch.tensor(h0), torch.tensor(c0)))
    np.testing.assert_allclose(h.data, h_ref.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(c.data, c_ref.detach().numpy(), rtol=1e-10)
