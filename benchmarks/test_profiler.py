"""What ``jitgrad.profile`` costs: mlp_small's float32 step with the profiler off (the one flag
check per op that every step pays) and recording. The report's step table has the same step
measured beside PyTorch, from before the profiler existed to compare with."""
import contextlib

import pytest

import jitgrad

from .workloads import WORKLOADS, build_step


@pytest.mark.parametrize("recording", [False, True], ids=["off", "recording"])
def test_profiler_cost(jitgrad_benchmark, recording):
    step = build_step(WORKLOADS["mlp_small"], "jitgrad", "float32")
    with jitgrad.profile() if recording else contextlib.nullcontext():
        jitgrad_benchmark(step, group="profiler-mlp_small-float32", seconds=1.5, kind="profiler",
                recording=recording)
