"""Each scheduler gives PyTorch's learning-rate sequence, step for step (skips without torch),
and moves the optimizer's groups as it says."""
import numpy as np
import pytest

import jitgrad
from jitgrad import SGD, Adam, Tensor
from jitgrad.optim import lr_scheduler

SCHEDULERS = {
    "step": ("StepLR", dict(step_size=3, gamma=0.5)),
    "multistep": ("MultiStepLR", dict(milestones=[7, 2, 5], gamma=0.3)),
    "exponential": ("ExponentialLR", dict(gamma=0.9)),
    "cosine": ("CosineAnnealingLR", dict(T_max=8, eta_min=0.001)),
    "linear": ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    "onecycle": ("OneCycleLR", dict(max_lr=0.5, total_steps=20)),
    "onecycle_linear": ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=5,
                                           anneal_strategy="linear", pct_start=0.4)),
}
STEPS = 19

# the optimizers step without gradients here, which warns
pytestmark = pytest.mark.filterwarnings("ignore:.*no parameter has a gradient")


def groups():
    return [{"params": [Tensor(np.ones(2), autograd=True)]},
            {"params": [Tensor(np.ones(3), autograd=True)], "lr": 0.05}]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_sequence_matches_pytorch(kind, optimizer):
    torch = pytest.importorskip("torch")
    name, settings = SCHEDULERS[kind]
    ours_opt = (SGD if optimizer == "sgd" else Adam)(groups(), lr=0.1)
    theirs_opt = getattr(torch.optim, "SGD" if optimizer == "sgd" else "Adam")(
        [{"params": [torch.ones(2)]}, {"params": [torch.ones(3)], "lr": 0.05}], lr=0.1)
    ours = getattr(lr_scheduler, name)(ours_opt, **settings)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **settings)
    for step in range(STEPS):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12,
                                   err_msg=f"step {step}")
        for key in ("momentum", "betas"):
            if key in theirs_opt.param_groups[0]:
                assert ours_opt.param_groups[0][key] == pytest.approx(theirs_opt.param_groups[0][key])
        ours_opt.step()  # (no gradients: skipped, with one warning)
        theirs_opt.step()
        ours.step()
        theirs.step()


def test_reduce_on_plateau_matches_pytorch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.91, 0.9, 0.92, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97]
    ours_opt, theirs_opt = SGD(groups(), lr=0.1), torch.optim.SGD([torch.ones(2)], lr=0.1)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=1, factor=0.5, cooldown=1, min_lr=0.02)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, patience=1, factor=0.5,
                                                        cooldown=1, min_lr=0.02)
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0])
    assert ours.get_last_lr()[0] < 0.1


def test_the_optimizer_steps_with_the_scheduled_rate():
    p = Tensor(np.zeros(1), autograd=True)
    optim = SGD([p], lr=1.0)
    schedule = lr_scheduler.StepLR(optim, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = Tensor(np.ones(1))
        optim.step()
        schedule.step()
    np.testing.assert_allclose(p.data, [-(1 + 0.5 + 0.25)])


def test_onecycle_refuses_to_step_past_its_total():
    optim = SGD(groups(), lr=0.1)
    schedule = lr_scheduler.OneCycleLR(optim, max_lr=1.0, total_steps=2)
    schedule.step()
    schedule.step()  # PyTorch, too, allows total_steps steps after the one at creation
    with pytest.raises(ValueError, match="OneCycleLR: stepped 3 times, but total_steps is 2"):
        schedule.step()


def test_scheduler_state_round_trips():
    optim = SGD(groups(), lr=0.1)
    schedule = lr_scheduler.CosineAnnealingLR(optim, T_max=10)
    for _ in range(4):
        schedule.step()
    resumed = lr_scheduler.CosineAnnealingLR(SGD(groups(), lr=0.1), T_max=10)
    resumed.load_state_dict(schedule.state_dict())
    schedule.step()
    resumed.step()
    assert resumed.get_last_lr() == schedule.get_last_lr()
    assert jitgrad.optim.lr_scheduler is lr_scheduler
