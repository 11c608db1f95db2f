"""The PyTorch-style step (``benchmarks.pytorch_style``) on jitgrad, on PyTorch eager and on
jitgrad through ``jitgrad.compile``, side by side in one run: PASSES passes, each timing both frameworks one right after the other.
The same step written with modules (``jitgrad.nn`` / ``torch.nn``: ``nn.Linear``,
``nn.CrossEntropyLoss``, ``model.parameters()``) is the ``_nn`` implementations, interleaved
with the others.

    pytest benchmarks/test_pytorch_style.py --benchmark-only --benchmark-json=out.json
    python -m benchmarks.report out.json
"""
import pytest

from .conftest import require
from .pytorch_style import build_lstm_step, build_module_step, build_step

STEP_SECONDS = 1.5
PASSES = 3
CASES = [(framework, run) for run in range(1, PASSES + 1)
         for framework in ("jitgrad", "torch", "jitgrad_compiled", "jitgrad_nn", "torch_nn",
                           "jitgrad_nn_compiled")]


@pytest.mark.parametrize("framework, run", CASES, ids=[f"{f}-pass{r}" for f, r in CASES])
def test_pytorch_style_step(jitgrad_benchmark, framework, run):
    require(framework.replace("_nn", ""))
    if framework.startswith("torch"):
        import torch

        from .workloads import TORCH_THREADS
        torch.set_num_threads(TORCH_THREADS)
    build = build_module_step if "_nn" in framework else build_step
    jitgrad_benchmark(build(framework), group="pytorch_style-float32", seconds=STEP_SECONDS,
            kind="step", workload="pytorch_style", dtype="float32", implementation=framework,
            run=run, gemm_flops=0)


LSTM_CASES = [(framework, run) for run in range(1, PASSES + 1)
              for framework in ("jitgrad_nn", "torch_nn")]


@pytest.mark.parametrize("framework, run", LSTM_CASES, ids=[f"{f}-pass{r}" for f, r in LSTM_CASES])
def test_pytorch_style_lstm_step(jitgrad_benchmark, framework, run):
    """nn.Embedding, nn.LSTM (25 steps) and nn.Linear with CrossEntropyLoss and SGD."""
    require(framework.replace("_nn", ""))
    if framework.startswith("torch"):
        import torch

        from .workloads import TORCH_THREADS
        torch.set_num_threads(TORCH_THREADS)
    jitgrad_benchmark(build_lstm_step(framework), group="pytorch_style_lstm-float32", seconds=STEP_SECONDS,
            kind="step", workload="pytorch_style_lstm", dtype="float32", implementation=framework,
            run=run, gemm_flops=0)
