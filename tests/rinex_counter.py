"""An independent, deliberately simple line-by-line RINEX observation counter.

Used by tests as a second implementation to check satnav's fast reader: it counts
epochs (flags 0/1), satellites and declared observation codes straight from the text,
sharing no code with satnav (decompression through the standard library and the
`hatanaka` package only).
"""

from __future__ import annotations

import gzip
from pathlib import Path


def _text(path: Path) -> list[str]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if b"COMPACT RINEX" in data[:100]:
        import hatanaka

        data = hatanaka.crx2rnx(data)
        if isinstance(data, str):
            data = data.encode()
    return data.decode("ascii", "replace").replace("\r", "").split("\n")


def count_rinex_obs(path) -> dict:
    """{'version', 'epochs', 'satellites' (set of 'G05'), 'codes' (list of header codes, v2)
    or per-system dict (v3)} counted from the text of a RINEX 2 or 3 observation file."""
    lines = _text(Path(path))
    version = float(lines[0][:9])
    i = 0
    codes2: list[str] = []
    codes3: dict[str, list[str]] = {}
    pending_sys = None
    while i < len(lines) and "END OF HEADER" not in lines[i][60:]:
        ln = lines[i]
        label = ln[60:].strip()
        if label == "# / TYPES OF OBSERV":
            codes2 += ln[6:60].split()
        elif label == "SYS / # / OBS TYPES":
            if ln[0] != " ":
                pending_sys = ln[0]
                codes3[pending_sys] = []
            codes3[pending_sys] += ln[7:60].split()
        i += 1
    i += 1
    epochs = 0
    sats: set[str] = set()
    if version >= 3:
        while i < len(lines):
            ln = lines[i]
            if ln.startswith(">"):
                flag = int(ln[31:32] or 0)
                n = int(ln[32:35])
                if flag in (0, 1):
                    epochs += 1
                    for k in range(n):
                        sats.add(lines[i + 1 + k][:3].replace(" ", "0"))
                    i += n + 1
                    continue
                i += n + 1
                continue
            i += 1
        return {"version": version, "epochs": epochs, "satellites": sats, "codes": codes3}
    nobs = len(codes2)
    lines_per_sat = (nobs + 4) // 5
    while i < len(lines):
        ln = lines[i]
        if len(ln) >= 32 and ln[28:29].isdigit() and ln[26:27] == " " and ln[0] == " " and ln[29:32].strip().isdigit():
            flag = int(ln[28])
            n = int(ln[29:32])
            if flag > 1:  # event: n header/comment records follow
                i += n + 1
                continue
            ids = []
            j = i
            rest = ln[32:68]
            while len(ids) < n:
                for k in range(0, len(rest.rstrip()), 3):
                    if len(ids) < n:
                        ids.append(rest[k : k + 3])
                if len(ids) < n:
                    j += 1
                    rest = lines[j][32:68]
            epochs += 1
            for s in ids:
                s = s.replace(" ", "0") if s[0] != " " else "G" + s[1:].replace(" ", "0")
                sats.add(s)
            i = j + 1 + n * lines_per_sat
            continue
        i += 1
    return {"version": version, "epochs": epochs, "satellites": sats, "codes": codes2}
