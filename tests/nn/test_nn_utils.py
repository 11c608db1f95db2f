"""``jitgrad.nn.utils``'s clipping against torch.nn.utils'."""
import numpy as np
import pytest

import jitgrad
from jitgrad import nn


def grads_after(clip, library):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4) * 5]
    params = [library.tensor(v, requires_grad=True) for v in values]
    (sum((p * p).sum() for p in params)).backward()
    norm = clip(params)
    return norm, [p.grad.numpy() for p in params]


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_clipping_matches_torch(clip):
    torch = pytest.importorskip("torch")
    ours = {"norm": lambda ps: nn.utils.clip_grad_norm_(ps, 1.5),
            "value": lambda ps: nn.utils.clip_grad_value_(ps, 0.5)}[clip]
    theirs = {"norm": lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.5),
              "value": lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.5)}[clip]
    norm, grads = grads_after(ours, jitgrad)
    torch_norm, torch_grads = grads_after(theirs, torch)
    for g, t in zip(grads, torch_grads):
        np.testing.assert_allclose(g, t, rtol=1e-6)  # torch adds 1e-6 to the norm it divides by
    if clip == "norm":
        assert float(norm) == pytest.approx(float(torch_norm), rel=1e-12)
        assert np.sqrt(sum((g * g).sum() for g in grads)) == pytest.approx(1.5)
    else:
        assert max(np.abs(g).max() for g in grads) == 0.5


def test_other_norms_are_refused_by_name():
    p = jitgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="clip_grad_norm_: only norm_type=2"):
        nn.utils.clip_grad_norm_([p], 1.0, norm_type=1)
