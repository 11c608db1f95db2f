"""What several test modules share: gradient checks against finite differences
(``gradcheck``), random graphs for the property tests (``random_graphs``), IDX files
(``idx``), the check that a refused call changed nothing (``unchanged``), and the jobs
``test_distributed`` runs under mpiexec (``mpi_jobs``, also a script)."""
