"""CPU per epoch of the live RTCM 3 decoding, by kind of epoch: a known layout (a plan kept)
or a new one (a satellite rises or sets, a signal appears: plans made), with or without the
station messages (1005 every 10th epoch) in the read.

The frames are those of bench/engine.py ``_rtcm_round_trip`` (ESBC 30 s, MSM7 GEC), each
epoch one read, fed to a fresh :class:`satnav.io.rtcm3.Rtcm3Decoder` per pass;
``time.thread_time`` per read, the first read of a pass left out. Run it with PYTHONPATH
naming the tree to measure (before and after, interleaved, at the same load):

    PYTHONPATH=src python bench/rtcm_live_layouts.py --epochs 120 --passes 5
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def frames(epochs: int) -> tuple[list[bytes], int]:
    """(one read per epoch, a time hint) as bench/engine.py's live RTCM 3 round trip sends them."""
    import satnav
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    obs = satnav.read_obs(DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    enc = Rtcm3Encoder(2, systems="GEC")
    reads = []
    for k, e in enumerate(obs.epoch_slice(0, epochs).iter_epochs()):
        head = enc.encode_station(obs.header.approx_position_m) if k % 10 == 0 else b""
        reads.append(head + enc.encode_epoch(e))
    return reads, int(obs.epochs[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    from satnav.io import rtcm3_live
    from satnav.io.rtcm3 import Rtcm3Decoder

    reads, hint = frames(args.epochs)
    made = [0]
    init = rtcm3_live.EpochPlan.__init__

    def counted(self, *a, **k):
        made[0] += 1
        init(self, *a, **k)

    rtcm3_live.EpochPlan.__init__ = counted
    ms = defaultdict(list)
    for _ in range(args.passes):
        dec = Rtcm3Decoder(time_hint_ns=hint)
        for k, r in enumerate(reads):
            m, d = made[0], dec._live.decoded
            c = time.thread_time()
            dec.feed(r)
            dt = (time.thread_time() - c) * 1e3
            if k:
                kind = ("general path, " if dec._live.decoded == d else "") + ("new" if made[0] > m else "known")
                ms[kind + (" + station" if k % 10 == 0 else "")].append(dt)
    every = [x for v in ms.values() for x in v]
    print(f"all: {len(every)} epochs, p50 {np.median(every):.3f} p99 {np.percentile(every, 99):.3f} ms")
    for kind, v in sorted(ms.items()):
        print(f"{kind}: {len(v)}, p50 {np.median(v):.3f} p99 {np.percentile(v, 99):.3f} ms")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
