"""Running the ``jitgrad`` command inside the test process."""
from jitgrad.apps import cli


def run_main(capsys, *args):
    """Run ``jitgrad ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exit:  # argparse exits by itself
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err
