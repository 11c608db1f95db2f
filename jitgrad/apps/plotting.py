"""Loss and accuracy curves of a training run as an image (needs matplotlib: ``jitgrad[plot]``)."""
import os

from jitgrad.backend.atomic import atomic_write

MISSING = 'matplotlib is not installed; install it with: pip install "jitgrad[plot]"'


def require_matplotlib():
    """Raise ImportError with the install command unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(MISSING) from None


def plot_history(history, path, title, metric="accuracy", val_name="val"):
    """Write the curves of ``history`` (a ``jitgrad.fitting.History``) to ``path``.

    Two panels: the loss and ``metric`` per epoch, training and (when recorded)
    ``val_name``'s. The format follows the file's suffix (``.png``, ``.svg``, ``.pdf``; PNG
    otherwise).
    """
    require_matplotlib()
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    figure = Figure(figsize=(8, 3.2), layout="constrained")
    loss_axes, metric_axes = figure.subplots(1, 2)
    for axes, name in ((loss_axes, "loss"), (metric_axes, metric)):
        for key, label in ((name, "train"), (f"{val_name}_{name}", val_name)):
            if key in history:
                axes.plot(history["epoch"], history[key], label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_yscale("log")
    figure.suptitle(title)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    with atomic_write(path) as file:
        figure.savefig(file, format=suffix if suffix in ("png", "svg", "pdf") else "png", dpi=100)
