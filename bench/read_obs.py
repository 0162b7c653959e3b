"""Benchmark: RINEX observation (and navigation) reading speed.

Reads the full-day ESBC file (RINEX 3.05, Hatanaka + gzip, 33 MB expanded) with satnav and
prints decompression time, parse time, MB/s of RINEX text and peak memory; then reads the
first hour (a temporary RINEX 3 subset) with satnav and with georinex (if installed) and
prints the speed ratio; finally times the ESBC MN navigation file if satnav.io.rinex_nav
exists.

Usage: ``python bench/read_obs.py [--repeat N] [--no-georinex]``
(data from $SATNAV_DATA, default ../shared/data).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

from common import DATA, best_of

REPO = Path(__file__).resolve().parents[1]
ESBC = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
ESBC_NAV = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"


def first_hour(text: bytes) -> bytes:
    """Header plus the epochs before 01:00 of a RINEX 3 text."""
    cut = text.find(b"\n> 2020 06 25 01 00 00")
    return text[: cut + 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-georinex", action="store_true")
    args = ap.parse_args()

    from satnav.io.rinex_obs import parse_rinex_obs, read_rinex_obs
    from satnav.io.textfile import read_bytes

    if not ESBC.exists():
        raise SystemExit(f"data not found: {ESBC}")
    t_dec, text = best_of(lambda: read_bytes(ESBC), 2)
    mb = len(text) / 1e6
    print(f"ESBC full day: {mb:.1f} MB of RINEX text; decompression (gzip + Hatanaka) {t_dec:.2f} s")
    t_parse, obs = best_of(lambda: parse_rinex_obs(text, path=str(ESBC)), args.repeat)
    print(f"  satnav parse: {t_parse:.3f} s (best of {args.repeat}) = {mb / t_parse:.0f} MB/s; "
          f"{len(obs.epochs)} epochs, {len(obs)} values, {len(obs.satellites)} satellites")
    tracemalloc.start()
    parse_rinex_obs(text, path=str(ESBC))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak memory during parse (tracemalloc): {peak / 1e6:.0f} MB; with the text itself "
          f"{(peak + len(text)) / 1e6:.0f} MB = {(peak + len(text)) / len(text):.2f} x text size")

    sub = first_hour(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ESBC_first_hour.rnx"
        path.write_bytes(sub)
        t_sat, o1 = best_of(lambda: read_rinex_obs(path), args.repeat)
        print(f"first hour: {len(sub) / 1e6:.2f} MB, {len(o1.epochs)} epochs; satnav {t_sat:.4f} s")
        if args.no_georinex:
            print("  georinex: skipped (--no-georinex)")
        else:
            try:
                import georinex
            except ImportError:
                print("  georinex not installed: ratio skipped (pip install georinex)")
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    ds = georinex.load(path)
                    t_gr = time.perf_counter() - t0
                print(f"  georinex {georinex.__version__}: {t_gr:.1f} s ({ds.time.size} epochs); "
                      f"satnav is {t_gr / t_sat:.0f}x faster")

    try:
        from satnav.io.rinex_nav import read_rinex_nav
    except ImportError:
        print("navigation: satnav.io.rinex_nav not available, skipped")
    else:
        if ESBC_NAV.exists():
            t_nav, _ = best_of(lambda: read_rinex_nav(ESBC_NAV), args.repeat)
            print(f"ESBC MN navigation file: satnav {t_nav:.3f} s")


if __name__ == "__main__":
    main()
