"""Command-line options shared by the ``brian-snn`` sub-commands (argparse only, no brian2).

One concept has one option name in every sub-command (``tests/test_cli_options.py`` checks it):

=====================  ==================================================================
``--model``            model, or a comma list where a command runs several
``--neurons``          excitatory neurons, or a comma list
``--backend``          simulator backend (its choices listed in ``--help``)
``--epochs``           passes over the training samples
``--seed``             seed, or a comma list where a command averages over seeds
``--chunk``            presentations per compiled run
``--param``            model parameter override (repeatable)
``--train-samples``    training samples (``--test-samples``: test samples)
``--out``              the output file or folder
``--force``            overwrite what ``--out`` holds
``--no-resume``        start again instead of resuming a checkpoint in ``--out``
``--target``           hwmodel target(s)
``--plot``             a PNG to write
``--json``             one JSON object on stdout
``--quiet``            no progress output
``--workers``          Dask LocalCluster workers (``--scheduler``: a running scheduler)
=====================  ==================================================================

Older spellings that documented commands used (``--n-train``, ``--n-test``, ``--models``,
``--seeds``, ``--targets``, ``--out-dir``) are still accepted as hidden aliases: they parse to
the same value and are not shown in ``--help``.
"""
from __future__ import annotations

import argparse
import math
import re

from .errors import BrianSnnError


# -- value types (argparse turns ArgumentTypeError into a one-line usage error, exit 2) ----------
def _choice(name, valid):
    def check(value):
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {name} {value!r}; choose one of {', '.join(valid)}")
        return value
    return check


def _names(name, valid):
    """A comma list of names from ``valid`` (in the order given, no repeats)."""
    def check(text):
        vals = list(dict.fromkeys(v.strip() for v in str(text).split(",") if v.strip()))
        bad = [v for v in vals if v not in valid]
        if bad or not vals:
            raise argparse.ArgumentTypeError(f"unknown {name} {(bad or [text])[0]!r}; choose one of {', '.join(valid)}")
        return vals
    return check


def _targets(value):
    """``--target a,b``: hwmodel target ids (or TOML files), in the order given, no repeats."""
    names = list(dict.fromkeys(v.strip() for v in str(value).split(",") if v.strip()))
    if not names:
        raise argparse.ArgumentTypeError("no target given")
    return names


MAX_INT = 2 ** 31 - 1       # every integer option: counts, sizes and seeds fit a 32-bit index


def int_at_least(low, what="an integer", high=MAX_INT):
    """An argparse type: an integer in ``low..high`` (one-line usage error otherwise)."""
    def check(value):
        try:
            v = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        if v > high:
            raise argparse.ArgumentTypeError(f"expected {what}, at most {high:,}, got {_short(value)}")
        return v
    return check


def _short(value) -> str:
    text = repr(str(value))
    return text if len(text) <= 24 else text[:12] + "..." + text[-4:] + f" ({len(str(value))} characters)"


def nonneg_number(what, units=None, example="a number >= 0"):
    """An argparse type: a finite number >= 0, with an optional unit from ``units`` ({suffix:
    factor to the base unit}; none by default)."""
    units = units or {"": 1}

    def parse(text):
        m = re.fullmatch(r"\s*([-+0-9.eE]+|nan|inf|-inf)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in units:
            raise argparse.ArgumentTypeError(f"{what}: expected {example}, got {text!r}")
        try:
            v = float(m.group(1)) * units[m.group(2).lower()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise argparse.ArgumentTypeError(f"{what} must be a finite number >= 0, got {text!r}")
        return v
    return parse


def checked_by(check):
    """An argparse type that keeps the text when ``check(text)`` accepts it; the check's
    error (ValueError or any brian-snn error) becomes the one-line usage error."""
    def parse(text):
        try:
            check(text)
        except (ValueError, BrianSnnError) as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text
    return parse


_positive_int = int_at_least(1, "a positive integer")
_seed = int_at_least(0, "an integer >= 0")


def _int_list(name, lo=1, hi=MAX_INT):
    """A comma list of integers in ``lo..hi``."""
    def check(text):
        try:
            vals = [int(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected comma-separated integers, got {text!r}") from None
        if not vals:
            raise argparse.ArgumentTypeError(f"{name}: no value given")
        for v in vals:
            if v < lo or (hi is not None and v > hi):
                rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
                raise argparse.ArgumentTypeError(f"{name}: {v} is outside {rng}")
        return vals
    return check


# -- helpers --------------------------------------------------------------------------------------
def hidden_alias(p, *names, dest, **kw):
    """An older spelling of an option: parsed into ``dest`` like the option, not shown in --help
    (and its default never overrides the option's)."""
    p.add_argument(*names, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kw)


def _model_or_file(valid):
    """A built-in model name, or FILE.py:CLASS (loaded at once: its errors are one line)."""
    def check(value):
        from .models import is_model_file, load_model_file
        if is_model_file(value):
            try:
                load_model_file(value)
            except ValueError as e:
                raise argparse.ArgumentTypeError(str(e)) from None
            return value
        return _choice("model", valid)(value)
    return check


def add_model_argument(p, valid, default, many=False, files=False):
    """``--model``; ``files``: also ``FILE.py:CLASS``, a user's ModelSpec subclass."""
    if files and not many:
        p.add_argument("--model", type=_model_or_file(valid), default=default, metavar="MODEL",
                       help=f"one of {', '.join(valid)} (default {default}), or FILE.py:CLASS: your own "
                            "ModelSpec subclass (examples/own_model.py)")
        return
    if many:
        kind = _names("model", valid)
        p.add_argument("--model", type=kind, default=list(default), metavar="MODEL[,MODEL...]",
                       help=f"models, comma-separated: {', '.join(valid)} (default {','.join(default)})")
        hidden_alias(p, "--models", dest="model", type=kind, metavar="MODEL[,MODEL...]")
    else:
        p.add_argument("--model", type=_choice("model", valid), default=default, metavar="MODEL",
                       help=f"one of {', '.join(valid)} (default {default})")


def add_neurons_argument(p, default, many=False):
    if many:
        p.add_argument("--neurons", type=_int_list("--neurons"), default=list(default), metavar="N[,N...]",
                       help=f"excitatory neurons, comma-separated (default {','.join(map(str, default))})")
    else:
        p.add_argument("--neurons", type=_positive_int, default=default, metavar="N",
                       help=f"excitatory neurons (default {default})")


#: what each backend is, for --help
BACKEND_HELP = {
    "cpp": "compiled C++ (Brian2 cpp_standalone; one build per network structure, needs g++)",
    "runtime": "Brian2 runtime mode (no build; slower)",
    "cuda": "brian2cuda on an NVIDIA GPU (needs nvcc, cuRAND and a GPU)",
}


def add_backend_argument(p, choices=None, default="cpp", what="simulator backend"):
    """``--backend``: ``choices`` (default: every simulator backend), each described in --help."""
    if choices is None:
        from .backend import BACKENDS
        choices = BACKENDS
    choices = tuple(choices)
    dflt = "the backend it was trained on" if default is None else default
    p.add_argument("--backend", type=_choice("backend", choices), default=default,
                   metavar="{" + ",".join(choices) + "}",
                   help=f"{what} (default {dflt}). " + "; ".join(f"{c}: {BACKEND_HELP[c]}" for c in choices))


def add_epochs_argument(p, default=1):
    p.add_argument("--epochs", type=_positive_int, default=default, metavar="N",
                   help=f"passes over the training samples (default {default})")


def add_seed_argument(p, what, default=0, many=False):
    if many:
        kind = _int_list("--seed", lo=0)
        p.add_argument("--seed", type=kind, default=list(default), metavar="S[,S...]",
                       help=f"{what}, comma-separated (default {','.join(map(str, default))})")
        hidden_alias(p, "--seeds", dest="seed", type=kind, metavar="S[,S...]")
    else:
        p.add_argument("--seed", type=_seed, default=default, metavar="S", help=f"{what} (default {default})")


def add_chunk_argument(p, default=250):
    p.add_argument("--chunk", type=_positive_int, default=default, metavar="N",
                   help=f"presentations per compiled run; state is checkpointed between chunks (default {default})")


def add_param_argument(p, example="nu_post=0.002"):
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help=f"override a model parameter (repeatable), e.g. --param {example}")


def add_out_argument(p, default, what, folder=False, aliases=()):
    """``--out``: ``what`` it is; ``aliases``: older spellings (hidden)."""
    metavar = "DIR" if folder else "FILE"
    p.add_argument("--out", default=default, metavar=metavar,
                   help=what + ("" if default is None else f" (default {default})"))
    if aliases:
        hidden_alias(p, *aliases, dest="out", metavar=metavar)


def add_force_argument(p, what=None):
    p.add_argument("--force", action="store_true",
                   help=what or "overwrite --out when it holds finished results, another configuration's "
                                "checkpoint or another kind of file")


def add_no_resume_argument(p):
    p.add_argument("--no-resume", action="store_true",
                   help="start again instead of resuming the checkpoint --out holds")


def add_target_argument(p, default, what, many=True, aliases=()):
    """``--target``: hwmodel target ids or TOML files (``many``: a comma list, parsed to a list)."""
    if many:
        p.add_argument("--target", type=_targets, default=default, metavar="T[,T...]",
                       help=f"{what}: hwmodel target ids or TOML files, comma-separated (default {default}; "
                            "see 'hwmodel targets')")
    else:
        p.add_argument("--target", default=default, metavar="T",
                       help=f"{what}: an hwmodel target id or TOML file (default {default}; see 'hwmodel targets')")
    if aliases:
        hidden_alias(p, *aliases, dest="target", type=_targets if many else str)


def add_plot_argument(p, what):
    p.add_argument("--plot", metavar="PNG", default=None, help=what)


def add_json_argument(p):
    p.add_argument("--json", action="store_true",
                   help="print the result as one JSON object on stdout (no progress output)")


def add_quiet_argument(p):
    p.add_argument("--quiet", action="store_true", help="no progress output on stderr")


SCHEDULER_SCHEMES = ("tcp", "tls", "inproc")
_HOST_PORT = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>[0-9]{1,5})")


def check_scheduler_address(text) -> str:
    """A Dask scheduler address by its form alone (nothing is contacted): ``tcp://HOST:PORT``,
    ``tls://HOST:PORT``, ``inproc://...`` or ``HOST:PORT``, a port in 1..65535 (ValueError)."""
    address = str(text)
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme == "inproc":                          # inproc://HOST/PID/N: this process only
        ok = re.fullmatch(r"\S+", rest) is not None
    else:
        m = _HOST_PORT.fullmatch(rest)
        ok = scheme in SCHEDULER_SCHEMES and m is not None and 1 <= int(m["port"]) <= 65535
    if not ok:
        raise ValueError(f"expected a Dask scheduler address tcp://HOST:PORT, tls://HOST:PORT, inproc://... or "
                         f"HOST:PORT (a port in 1..65535), got {_short(address)}")
    return address


def add_dask_arguments(p, workers=2):
    p.add_argument("--workers", type=_positive_int, default=workers, metavar="N",
                   help=f"worker processes of a Dask LocalCluster; 1 runs the jobs one by one here (default {workers})")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None, type=checked_by(check_scheduler_address),
                   help="use a running Dask scheduler, e.g. tcp://host:8786 (default: a LocalCluster here); it is "
                        "contacted before anything is written, and it runs this command's code: give only one "
                        "you control")


def parse_params(items):
    """``--param NAME=VALUE`` options -> ``{name: float}`` (finite numbers only)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            v = float(value)
        except ValueError:
            raise ValueError(f"--param {name}: {value!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"--param {name}: {value!r} is not a finite number")
        out[name] = v
    return out
