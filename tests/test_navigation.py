"""The Navigation data model: filling it message by message or merging navigations gives
what the RINEX reader gives for the same files read together."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import satnav.io.rinex_nav as rinex_nav
import satnav.io.rinex_nav_writer as rinex_nav_writer
from satnav import navigation
from satnav.io.rinex_nav import read_rinex_nav
from satnav.navigation import KEPLER_DTYPE, NavHeader, Navigation, message_dtype
from tests.conftest import data_path

ESBC = ("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
MOJN = ("esbc-2020-177", "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
KMS = ("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz")  # RINEX 4 with STO and ION records
GSI = ("gsi-2005-092", "07590920.05n")


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def assert_same_navigation(a: Navigation, b: Navigation):
    assert list(a.messages) == list(b.messages)
    for s in a.messages:
        assert a.messages[s].dtype == b.messages[s].dtype
        assert a.messages[s].tobytes() == b.messages[s].tobytes(), s  # bit for bit, same order
    assert a.sources == b.sources
    assert a.skipped == b.skipped
    for kind in ("ion_records", "sto_records", "eop_records"):
        ra, rb = getattr(a, kind), getattr(b, kind)
        assert len(ra) == len(rb)
        for x, y in zip(ra, rb):
            assert x.keys() == y.keys()
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
    assert a.header.version == b.header.version and a.header.leap_seconds == b.header.leap_seconds
    assert a.header.comments == b.header.comments
    assert a.header.time_corrections == b.header.time_corrections
    assert a.header.iono_corrections.keys() == b.header.iono_corrections.keys()
    for k, v in a.header.iono_corrections.items():
        np.testing.assert_array_equal(v, b.header.iono_corrections[k])


def test_reader_reexports_the_model():
    assert rinex_nav.Navigation is Navigation and rinex_nav.NavHeader is NavHeader
    assert rinex_nav.message_dtype is message_dtype and rinex_nav.KEPLER_DTYPE is KEPLER_DTYPE
    assert rinex_nav.GLONASS_DTYPE is navigation.GLONASS_DTYPE and rinex_nav.SBAS_DTYPE is navigation.SBAS_DTYPE
    assert rinex_nav.write_rinex_nav is rinex_nav_writer.write_rinex_nav


def test_writer_does_not_import_the_reader():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(rinex_nav_writer))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "rinex_nav" not in imported and "satnav.io.rinex_nav" not in imported


@pytest.mark.parametrize("pair", [(ESBC, MOJN), (MOJN, ESBC), (ESBC, KMS), (GSI, ESBC), (ESBC, ESBC)])
def test_merge_equals_reading_together(pair):
    a, b = (data_path(*p) for p in pair)
    with _quiet():
        na, nb, both = read_rinex_nav(a), read_rinex_nav(b), read_rinex_nav(a, b)
    merged = na.merge(nb)
    assert_same_navigation(merged, both)
    # neither input changed
    with _quiet():
        assert_same_navigation(na, read_rinex_nav(a))
        assert_same_navigation(nb, read_rinex_nav(b))


def test_add_messages_message_by_message_equals_the_reader():
    a, b = data_path(*ESBC), data_path(*MOJN)
    both = read_rinex_nav(a, b)
    nav = Navigation.empty()
    assert len(nav) == 0 and nav.messages == {}
    rng = np.random.default_rng(5)
    for source, path in enumerate((a, b)):
        one = read_rinex_nav(path)
        for s, arr in one.messages.items():
            arr = arr.copy()
            arr["source"] = source
            # as a decoder would deliver them: one at a time, in any order, some twice
            for i in rng.permutation(len(arr))[:40]:
                nav.add_messages(s, arr[i : i + 1])
            nav.add_messages(s, arr)
    for s in both.messages:
        assert nav.messages[s].tobytes() == both.messages[s].tobytes(), s


def test_add_messages_fills_missing_fields_with_nan():
    small = np.zeros(2, dtype=[("sat", np.int16), ("toc", np.int64), ("af0", np.float64)])
    small["sat"] = [5, 3]
    small["toc"] = [10**18, 10**18]
    small["af0"] = [1e-4, 2e-4]
    nav = Navigation.empty()
    nav.add_messages("G", small)
    g = nav.for_system("G")
    assert g.dtype == KEPLER_DTYPE
    assert g["sat"].tolist() == [3, 5] and g["af0"].tolist() == [2e-4, 1e-4]
    assert np.isnan(g["sqrt_a"]).all() and g["line"].tolist() == [0, 0]
    assert nav.satellites() == ["G03", "G05"]
    with pytest.raises(ValueError, match="unknown system"):
        nav.add_messages("X", small)

