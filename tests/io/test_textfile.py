"""Compressed inputs open transparently (recognised by magic bytes, not by name)."""

from __future__ import annotations

import bz2
import gzip
import zipfile

import ncompress
import numpy as np
import pytest

import satnav
from satnav.errors import FormatError
from satnav.io.textfile import read_bytes
from tests.conftest import data_path


def _wrap(kind: str, data: bytes, tmp_path, name: str):
    path = tmp_path / f"{name}.{kind}"
    if kind == "gz":
        path.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(data))
    elif kind == "Z":
        path.write_bytes(ncompress.compress(data))
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(name, data)
    elif kind == "noext":  # gzip content under a misleading name
        path = tmp_path / f"{name}.txt"
        path.write_bytes(gzip.compress(data))
    return path


@pytest.mark.parametrize("kind", ["gz", "bz2", "Z", "zip", "noext"])
@pytest.mark.parametrize("name", ["demo3.10o", "AJAC3550.21D"])  # RINEX 3, Hatanaka 1.0
def test_compressed_observation_files_read_identically(kind, name, tmp_path):
    src = data_path("corpus", name)
    plain = satnav.read_obs(src)
    wrapped = satnav.read_obs(_wrap(kind, src.read_bytes(), tmp_path, name))
    assert np.array_equal(plain.time, wrapped.time)
    assert np.array_equal(plain.sat, wrapped.sat)
    assert np.array_equal(plain.value, wrapped.value, equal_nan=True)
    assert plain.codes == wrapped.codes
    assert len(plain.epochs) > 0


def test_compressed_navigation_file(tmp_path):
    src = data_path("corpus", "demo.10n")
    a = satnav.read_nav(src)
    b = satnav.read_nav(_wrap("bz2", src.read_bytes(), tmp_path, "demo.10n"))
    assert a.count_by_system() == b.count_by_system()


def test_damaged_gzip_is_a_format_error(tmp_path):
    src = data_path("corpus", "demo3.10o")
    data = gzip.compress(src.read_bytes())
    bad = tmp_path / "bad.10o.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError) as exc:
        read_bytes(bad)
    assert "bad.10o.gz" in str(exc.value)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        satnav.read_obs(tmp_path / "nothing.21o")
