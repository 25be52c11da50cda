"""The options of every ``brian-snn`` sub-command: each has help, one concept has one name in
every sub-command, older spellings are hidden aliases that parse to the same value."""
import argparse

import pytest

from brian_snn.cli import build_parser

# older spellings documented commands used, kept as hidden aliases: (sub-command, alias, canonical)
ALIASES = [("train", "--n-train", "--train-samples"), ("train", "--n-test", "--test-samples"),
           ("solsa", "--n-train", "--train-samples"), ("solsa", "--n-test", "--test-samples"),
           ("compare", "--models", "--model"), ("compare", "--targets", "--target"),
           ("compare", "--out-dir", "--out"), ("search", "--out-dir", "--out"),
           ("timestep", "--models", "--model"), ("timestep", "--seeds", "--seed")]
RETIRED = {"--n-train", "--n-test", "--models", "--seeds", "--targets", "--out-dir"}


def subparsers():
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def options(sp, hidden=False):
    """The option actions of a sub-command (not -h); ``hidden``: only those without help shown."""
    acts = [a for a in sp._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    return [a for a in acts if (a.help == argparse.SUPPRESS) == hidden]


def test_every_option_of_every_sub_command_has_help():
    missing = [f"{name} {'/'.join(a.option_strings)}" for name, sp in subparsers().items()
               for a in options(sp) if not (a.help and a.help.strip())]
    assert missing == []
    for name, sp in subparsers().items():
        for a in sp._actions:
            if not a.option_strings:                       # positionals too
                assert a.help and a.help.strip(), f"{name} {a.dest}"


def test_hidden_options_are_aliases_of_a_shown_one():
    for name, sp in subparsers().items():
        shown = {a.dest for a in options(sp)}
        for a in options(sp, hidden=True):
            assert a.dest in shown, f"{name} {a.option_strings}: hidden, but no shown option sets {a.dest}"
            assert a.default is argparse.SUPPRESS           # never overrides the shown option's default
            text = sp.format_help()
            for s in a.option_strings:
                assert f"{s} " not in text and f"{s}\n" not in text and f"{s}," not in text


def test_one_name_per_option_across_sub_commands():
    names = {}
    for name, sp in subparsers().items():
        for a in options(sp):
            names.setdefault(a.dest, {}).setdefault(tuple(a.option_strings), []).append(name)
    differ = {dest: spellings for dest, spellings in names.items() if len(spellings) > 1}
    assert differ == {}
    shown = {s for sp in subparsers().values() for a in options(sp) for s in a.option_strings}
    assert shown & RETIRED == set()
    # the shared concepts, by name, where a sub-command has them
    for name, sp in subparsers().items():
        by_dest = {a.dest: a.option_strings for a in options(sp)}
        for dest, opt in [("n_train", ["--train-samples"]), ("n_test", ["--test-samples"]), ("out", ["--out"]),
                          ("seed", ["--seed"]), ("target", ["--target"]), ("model", ["--model"]),
                          ("json", ["--json"]), ("force", ["--force"]), ("quiet", ["--quiet"])]:
            if dest in by_dest:
                assert by_dest[dest] == opt, (name, dest)


def test_backend_lists_its_choices_and_epochs_has_help():
    sps = subparsers()
    for name in ("train", "evaluate", "continual", "compare", "search", "timestep", "solsa"):
        a = next(a for a in options(sps[name]) if a.dest == "backend")
        choices = a.metavar.strip("{}").split(",")
        assert set(choices) <= {"cpp", "runtime", "cuda"} and len(choices) >= 2
        for c in choices:
            assert f"{c}: " in a.help, (name, c)
        assert "default" in a.help
    for name in ("train", "solsa", "timestep"):
        a = next(a for a in options(sps[name]) if a.dest == "epochs")
        assert "default" in a.help
    text = " ".join(sps["train"].format_help().split())
    assert "--backend {runtime,cpp,cuda}" in text


@pytest.mark.parametrize("command, alias, canonical", ALIASES)
def test_hidden_aliases_parse_like_the_option(command, alias, canonical):
    value = {"--n-train": "7", "--n-test": "7", "--models": "spikedyn", "--targets": "loihi1",
             "--out-dir": "somewhere", "--seeds": "0,3"}[alias]
    p = build_parser()
    a = p.parse_args([command, alias, value])
    b = p.parse_args([command, canonical, value])
    assert vars(a) == vars(b)


def test_defaults_unchanged_by_aliases():
    p = build_parser()
    args = p.parse_args(["compare"])
    assert args.out == "continual-compare" and args.target == ["jetson-nano", "loihi1"]
    assert args.model == ["diehl-cook", "asp", "spikedyn"]
    args = p.parse_args(["timestep"])
    assert args.seed == [0] and args.model == ["spikedyn", "diehl-cook"] and args.target == "jetson-nano"
    args = p.parse_args(["solsa"])
    assert args.n_train is None and args.out is None and not args.quiet
    args = p.parse_args(["train"])
    assert args.target == ["loihi1", "jetson-nano"] and args.out == "results.h5" and args.backend == "cpp"


def test_solsa_data_dir_help_names_the_real_defaults():
    a = next(a for a in options(subparsers()["solsa"]) if a.dest == "data_dir")
    assert "$BRIAN_SNN_SHARED_DATA" in a.help and "packaged" in a.help and "../shared" not in a.help
