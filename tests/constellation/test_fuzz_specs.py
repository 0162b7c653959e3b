"""Seeded fuzz test of the TOML constellation and scenario specs (issue 11): mutated specs
(values replaced by absurd numbers, wrong types, keys dropped, bytes flipped) must either
load or fail with satnav's own one-line errors; never another exception. Bounded to a few
seconds: a fixed seed and a fixed number of mutants."""

from __future__ import annotations

import random
import time
from importlib import resources

import numpy as np
import pytest

from satnav.constellation.design import BUILTIN_SPECS, load_constellation
from satnav.constellation.simulate import load_scenario, scenario_constellations
from satnav.errors import SatnavError

ODD_VALUES = ["-1", "0", "1e308", "-1e308", "nan", "inf", "-inf", "500", "1e9", '"x"', "true",
              "[]", "[1, 2]", "{}", "2020-06-25T00:00:00", "9999-01-01T00:00:00", "0.5", "-29600.0",
              "99999999999999999", '"\\u001b[2J"']
SCENARIO = """name = "fuzz"
marker = "FUZZ"
start = 2020-06-25T06:00:00
duration_h = 0.1
interval_s = 60
mask_deg = 10
seed = 3
constellations = ["galileo"]
[site]
lat_deg = 48.0
lon_deg = 11.0
height_m = 500.0
[errors]
noise = true
iono_scale = 1.25
"""


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(5)
    i = rng.randrange(len(lines))
    if kind == 0 and "=" in lines[i]:  # a value replaced by an odd one
        key = lines[i].split("=", 1)[0]
        lines[i] = f"{key}= {rng.choice(ODD_VALUES)}"
    elif kind == 1:  # a line dropped
        del lines[i]
    elif kind == 2:  # a line duplicated
        lines.insert(i, lines[i])
    elif kind == 3:  # a character changed
        if lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + chr(rng.choice([0, 7, 27, 34, 61, 91, 93, 0x80, 0xFF, 0x202E])) + lines[i][j + 1:]
    else:  # the file cut short
        lines = lines[:i]
    return "\n".join(lines) + "\n"


def _check_loaded(con) -> None:
    """What loads is physically possible: orbits above the Earth, inclination 0-180 deg,
    positive frequencies."""
    a, e, inc = con.elements[:, 0], con.elements[:, 1], con.elements[:, 2]
    assert np.all(a * (1 - e) > 6.4e6) and np.all((e >= 0) & (e < 1))
    assert np.all((inc >= 0) & (inc <= np.pi + 1e-12))
    assert all(np.isfinite(f) and f > 0 for f in con.signals.values())


@pytest.mark.parametrize("name", BUILTIN_SPECS)
def test_mutated_constellation_specs_fail_only_with_satnav_errors(name, tmp_path):
    text = resources.files("satnav.constellation").joinpath("specs", f"{name}.toml").read_text()
    rng = random.Random(f"satnav-fuzz-{name}")
    t0, loaded, refused = time.perf_counter(), 0, 0
    for k in range(60):
        mutant = text
        for _ in range(rng.randint(1, 3)):
            mutant = _mutate(mutant, rng)
        p = tmp_path / f"m{k}.toml"
        p.write_bytes(mutant.encode("utf-8", "surrogatepass"))
        try:
            con = load_constellation(p)
        except SatnavError as exc:
            assert "\n" not in str(exc)
            refused += 1
            continue
        _check_loaded(con)
        loaded += 1
    assert loaded and refused  # the mutator both breaks specs and leaves some valid
    assert time.perf_counter() - t0 < 20.0


def test_mutated_scenarios_fail_only_with_satnav_errors(tmp_path):
    rng = random.Random("satnav-fuzz-scenario")
    loaded = refused = 0
    for k in range(80):
        mutant = SCENARIO
        for _ in range(rng.randint(1, 3)):
            mutant = _mutate(mutant, rng)
        p = tmp_path / f"s{k}.toml"
        p.write_bytes(mutant.encode("utf-8", "surrogatepass"))
        try:
            scenario = load_scenario(p)
            cons = scenario_constellations(scenario)
        except SatnavError as exc:
            assert "\n" not in str(exc)
            refused += 1
            continue
        assert scenario.interval_s > 0 and scenario.duration_h > 0 and scenario.seed >= 0
        for con in cons:
            _check_loaded(con)
        loaded += 1
    assert loaded and refused


def test_random_bytes_are_refused_in_one_line(tmp_path):
    rng = random.Random(11)
    for k in range(30):
        p = tmp_path / f"b{k}.toml"
        p.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400))))
        with pytest.raises(SatnavError):
            load_scenario(p)
