"""Utilities beside the models: mini-batches (``data``), the metrics ``fit`` reports
(``metrics``), and Ctrl-C handling for training loops (``interrupts``)."""
