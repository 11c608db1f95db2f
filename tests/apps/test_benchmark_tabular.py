"""benchmarks.tabular at two epochs: both frameworks train on the same split and the table
shows their metrics side by side (its timings are the benchmark's business, not a test's)."""
import numpy as np
import pytest

from benchmarks import tabular as bench


@pytest.mark.parametrize("name, metric, chance", [("breast_cancer", "test accuracy %", 0.63),
                                                  ("diabetes", "test R²", 0.0)])
def test_the_benchmark_trains_both_frameworks_and_tabulates_them(monkeypatch, name, metric,
                                                                 chance):
    load, task, _ = bench.DATASETS[name]
    monkeypatch.setitem(bench.DATASETS, name, (load, task, 3))
    row = bench.benchmark(name, seeds=1)
    for framework in ("jitgrad", "sklearn"):
        assert len(row[f"{framework}_metric"]) == 1 and row[f"{framework}_metric"][0] > chance
        assert np.all(np.array(row[f"{framework}_seconds"]) > 0)
    lines = bench.table([row], seeds=1).splitlines()
    assert len(lines) == 3 and lines[2].startswith(f"| {name} (") and f"| {metric} |" in lines[2]
