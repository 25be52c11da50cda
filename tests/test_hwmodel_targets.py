"""Target files: every number carries a source; validation errors name file and field."""
import os
import tomllib

import pytest

from hwmodel.targets import BUILTIN_DIR, GRADES, TargetError, list_targets, load_target

REQUIRED = ["jetson-nano", "jetson-tx2", "xavier-nx", "orin-nano-8gb", "agx-orin-64gb", "gtx-1080ti",
            "h100-sxm5", "loihi1", "spinnaker", "spinnaker2", "truenorth", "cortex-m4f", "asic-45nm"]
FILES = sorted(f for f in os.listdir(BUILTIN_DIR) if f.endswith(".toml"))


def _numbers(node, where=""):
    """Yield (path, parent-table, key) for every number in a parsed TOML tree (independent walk)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield f"{where}.{k}".lstrip("."), node, k
            else:
                yield from _numbers(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield f"{where}[{i}]", None, i
            else:
                yield from _numbers(v, f"{where}[{i}]")


def test_required_targets_exist():
    assert set(REQUIRED) <= set(list_targets())
    assert len(FILES) == len(list_targets())


@pytest.mark.parametrize("fname", FILES)
def test_every_number_has_value_unit_evidence_and_a_listed_source(fname):
    with open(os.path.join(BUILTIN_DIR, fname), "rb") as f:
        data = tomllib.load(f)
    assert data["id"] + ".toml" == fname
    sources = data["sources"]
    assert sources and all(isinstance(s, str) and len(s) > 10 for s in sources.values())
    n = 0
    for path, table, key in _numbers(data):
        n += 1
        assert key == "value", f"{fname}: bare number at {path}"
        assert table["source"] in sources, f"{fname}: {path} has no listed source"
        assert table["evidence"] in GRADES, f"{fname}: {path} evidence {table.get('evidence')!r}"
        assert isinstance(table["unit"], str) and table["unit"], f"{fname}: {path} has no unit"
        assert table["value"] > 0, f"{fname}: {path} is 0 or negative (write \"null\")"
    assert n > 0
    load_target(data["id"])                       # and the validator accepts it


def test_nulls_are_explicit_strings_with_units():
    t = load_target("jetson-nano")
    assert t.node("gpu.peak_int8")["value"] == "null" and t.node("gpu.peak_int8")["unit"] == "OP/s"


def _write(tmp_path, text, name="mine.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD = '''schema = "hwmodel-target/1"
id = "mychip"
name = "test chip"
class = "neuromorphic"
execution = "event_driven"
[sources]
me = "a test citation string"
[energy]
scope = "per_term"
synop = { value = 1e-12, unit = "J", evidence = "measured", source = "me" }
'''


def test_user_target_file_loads(tmp_path):
    t = load_target(_write(tmp_path, GOOD))
    assert (t.id, t.model) == ("mychip", "event_driven")


@pytest.mark.parametrize("old,new,field", [
    (', source = "me"', "", "'energy.synop.source' is missing"),
    ('evidence = "measured", ', "", "'energy.synop.evidence' is missing"),
    ('evidence = "measured"', 'evidence = "guess"', "'energy.synop.evidence' must be one of"),
    ('source = "me"', 'source = "nobody"', "'energy.synop.source' names 'nobody'"),
    ('value = 1e-12', "value = 0", "'energy.synop.value' must be > 0"),
    ('value = 1e-12', "value = 0.5e-12, evidnce = 1", "'energy.synop.evidnce' is not a quantity key"),
    ('scope = "per_term"', 'scope = "per_term"\nspike = 4', "field 'energy.spike' is a bare number"),
    ('scope = "per_term"', 'scope = "all_in"\nneuron_update = { value = 1e-12, unit = "J", '
     'evidence = "measured", source = "me" }', "'energy.neuron_update' is not allowed with energy.scope 'all_in'"),
    ('class = "neuromorphic"', 'class = "toaster"', "field 'class' must be one of"),
    ('[sources]\nme = "a test citation string"', "", "field 'sources' is missing"),
])
def test_validation_errors_name_file_and_field(tmp_path, old, new, field):
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(TargetError) as e:
        load_target(path)
    msg = str(e.value)
    assert msg.startswith(path + ": ") and field in msg and "\n" not in msg


def test_unknown_target_lists_known_ids():
    with pytest.raises(TargetError, match="unknown target 'nope'.*loihi1"):
        load_target("nope")


def test_extends_overrides_only_given_fields(tmp_path):
    path = _write(tmp_path, 'extends = "jetson-nano"\nid = "nano-cal"\n[sources]\nme = "my INA3221 measurement"\n'
                            '[power]\nidle = { value = 1.25, unit = "W", evidence = "measured", source = "me" }\n')
    t = load_target(path)
    assert t.id == "nano-cal" and t.need("power.idle", "W").value == 1.25
    assert t.need("gpu.mem_bandwidth", "B/s").value == 25.6e9          # inherited from jetson-nano
    assert "devicequery" in t.sources and "me" in t.sources


def test_a_calibrated_file_of_the_earlier_gpu_model_is_refused_with_what_replaced_its_price(tmp_path):
    path = _write(tmp_path, 'extends = "jetson-nano"\nid = "nano-old"\n[sources]\nme = "my fit"\n[gpu]\n'
                            'bytes_per_event_sparse = { value = 170, unit = "B", evidence = "calibrated", source = "me" }\n')
    with pytest.raises(TargetError) as e:
        load_target(path)
    msg = str(e.value)
    assert msg.count("\n") == 0 and "mine.toml" in msg and "'gpu.bytes_per_event_sparse'" in msg
    assert "'gpu.bytes_per_target_update'" in msg and "hwmodel calibrate" in msg
