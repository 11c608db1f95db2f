"""What is built on the library: the ``jitgrad`` command (``cli``), the classifier it trains
(``training``), tables of the user's own data (``tabular``), the book's character-level LSTM
(``charlm``), the bundled and downloadable datasets (``datasets``), loss curves (``plotting``)
and ``jitgrad info`` (``sysinfo``).

The library (``jitgrad`` outside this package) never imports from here;
``tests/test_architecture.py`` checks it.
"""
