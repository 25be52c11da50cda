"""``brian-snn``: train, evaluate, export and inspect spiking networks from the command line.

The shell only: each sub-command lives in :mod:`brian_snn.commands`; errors are one line."""
import argparse
import sys

from .commands import COMMANDS
from .errors import BrianSnnError


class _Parser(argparse.ArgumentParser):
    def error(self, message):                      # one line, exit status 2, one prefix for all errors
        self.exit(2, f"{self.prog.split()[0]}: error: {message}\n")


def build_parser():
    p = _Parser(prog="brian-snn", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv=None):
    """``brian-snn`` (also ``python -m brian_snn``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:                 # --help, or a one-line usage error (status 2)
        return e.code
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("brian-snn: interrupted (checkpoints written so far are kept)", file=sys.stderr)
        return 130
    except ImportError as e:                # an optional package this command needs (dask, matplotlib)
        print(f"brian-snn: error: {e.name or e}: not installed (brian-snn doctor lists what is missing "
              "and what for)", file=sys.stderr)
        return 2
    except (BrianSnnError, ValueError, RuntimeError, OSError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"brian-snn: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
