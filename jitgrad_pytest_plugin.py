"""jitgrad's pytest plugin: the ``jitgrad_benchmark`` fixture (a training step timed with
pytest-benchmark after a warm-up, with its first call, per-op profile, BLAS, threads and
versions in the benchmark's ``extra_info``) and ``--jitgrad-profile``, which prints each
benchmark's per-op table after pytest-benchmark's.

pytest loads it from the ``pytest11`` entry point of the same name (``-p jitgrad_pytest_plugin``
where jitgrad is not installed); ``-p no:jitgrad_pytest_plugin`` turns it off. Without
pytest-benchmark (``pip install "jitgrad[bench]"``) the fixture skips its test and nothing else
changes.

It is a top-level module rather than part of the ``jitgrad`` package because pytest imports
it in every run wherever jitgrad is installed, and importing the package costs about half a
second (Numba, SciPy), before coverage tools start. So this module imports only pytest; the
fixture imports ``jitgrad.apps.step_benchmark``, which does the work, at its first use.
"""
import pytest

#: The per-op tables of this session's benchmarks: [(benchmark's full name, table)].
PROFILES = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.getgroup("jitgrad").addoption(
        "--jitgrad-profile", action="store_true",
        help="print the per-op profile of each jitgrad_benchmark after pytest-benchmark's table")


def pytest_configure(config):
    config.stash[PROFILES] = []
    active = config.pluginmanager.hasplugin("benchmark")  # pytest-benchmark's entry point
    config.pluginmanager.register(_Fixture() if active else _SkipWithoutPytestBenchmark(),
                                  "jitgrad_benchmark")


class _Fixture:
    @pytest.fixture
    def jitgrad_benchmark(self, request, benchmark):
        """``jitgrad_benchmark(step, **options)`` times ``step()`` (see
        ``jitgrad.apps.step_benchmark.StepBenchmark``) and returns its result."""
        from jitgrad.apps.step_benchmark import StepBenchmark
        return StepBenchmark(benchmark, request.config, request.config.stash[PROFILES])


class _SkipWithoutPytestBenchmark:
    @pytest.fixture
    def jitgrad_benchmark(self):
        pytest.skip('jitgrad_benchmark needs pytest-benchmark: pip install "jitgrad[bench]"')


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter, config):
    profiles = config.stash.get(PROFILES, [])
    if not (config.getoption("jitgrad_profile") and profiles):
        return
    terminalreporter.section("jitgrad per-op profiles")
    for name, table in profiles:
        terminalreporter.write_line(f"\n{name}")
        terminalreporter.write_line(table)
