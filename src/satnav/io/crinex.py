"""Tolerant Compact RINEX (Hatanaka) decoder: the fallback when ``hatanaka.crx2rnx`` fails.

Compact RINEX 1.0 (for RINEX 2) and 3.0 (for RINEX 3/4), as defined by Hatanaka (2008), "A
Compression Format and Tools for GNSS Observation Data", Bulletin of the Geographical Survey
Institute 55, 21-30, and the RNXCMP (CRX2RNX) documentation:

- two header lines (``CRINEX VERS / TYPE``, ``CRINEX PROG / DATE``), then the RINEX header;
- per epoch: the epoch line (with the satellite list appended), differenced as text against
  the previous epoch line (``' '`` unchanged, ``'&'`` becomes a blank, other characters
  replace); an epoch line starting with ``'&'`` (CRINEX 1) or ``'>'`` (CRINEX 3) restarts the
  compression; event records (flag > 1) follow such a line verbatim;
- then the receiver clock offset line (``"n&value"`` starts an arc of difference order *n*,
  otherwise the *n*-th difference; empty when no clock offset), in units of 1e-9 s (RINEX 2)
  or 1e-12 s (RINEX 3);
- then one line per satellite: one field per observation type (``"n&value"`` initialises,
  otherwise the *n*-th difference; empty for a blank observation) in units of 0.001, a blank,
  and the LLI/SSI flags differenced as text against the satellite's previous flags.

The decoder writes the RINEX text CRX2RNX writes for the undamaged parts. A damaged record
does not stop it: a bad epoch line skips to the next epoch that restarts the compression; a
bad satellite line drops that satellite until each of its data arcs is re-initialised (or
the satellite reappears); a bad value (not a number, out of the RINEX field range, a
difference without an arc) blanks that observation until its next ``"n&"``; a bad clock line
leaves the clock offset out until its next ``"n&"``. Each damage is one
``FILE:LINE: damaged Compact RINEX record skipped ...`` warning naming the line of the
Compact RINEX file (an error with ``strict``). Pure Python; a day of 30 s data takes
seconds to tens of seconds.
"""

from __future__ import annotations

from ..errors import FormatError
from ._damage import DamageLog

__all__ = ["crx_to_rnx"]

MAX_DIFF_ORDER = 5
_NOTE = "; line numbers in later messages refer to the expanded RINEX text"
_DIGITS = frozenset("0123456789")
_TEXT_OK = frozenset(chr(c) for c in range(32, 127))


def _repair(old: str, diff: str) -> str:
    """Apply a text difference ``diff`` to ``old`` (``' '`` keep, ``'&'`` blank, else replace)."""
    if not diff:
        return old
    n = len(old)
    out = list(old)
    for k, c in enumerate(diff):
        if k < n:
            if c != " ":
                out[k] = " " if c == "&" else c
        else:
            out.append(" " if c == "&" else c)
    return "".join(out)


def _format_value(v: int) -> str:
    """CRX2RNX's F14.3 of ``v`` * 0.001 (no leading zero below 1: ``-.123``)."""
    ip, fp = divmod(abs(v), 1000)
    txt = f"{ip}.{fp:03d}" if ip else f".{fp:03d}"
    if v < 0:
        txt = "-" + txt
    return txt.rjust(14)


def _value_in_range(v: int) -> bool:
    """Whether ``v`` * 0.001 fits CRX2RNX's F14.3 field."""
    return -10**12 < v < 10**13


def _format_clock(v: int, decimals: int) -> str | None:
    """Clock offset ``v`` * 10**-decimals as CRX2RNX writes it (None when it does not fit)."""
    digits = str(abs(v)).rjust(decimals, "0")
    ip = digits[:-decimals]
    if ip:
        ip = ip.lstrip("0")
    head = ("-" if v < 0 else "") + ip
    if len(head) > 2:
        return None
    return (head + "." + digits[-decimals:]).rjust(decimals + 3)


def _step(prev: list | None, arc: int, order: int, d: int) -> tuple[int, list]:
    """Undo one epoch of arbitrary-order differencing; returns (order, state list)."""
    y = [d]
    if order < arc:
        order += 1
        for k in range(order):
            y.append(y[k] + prev[k])
    else:
        for k in range(order):
            y.append(y[k] + prev[k + 1])
    return order, y


class _Damaged(Exception):
    """Internal: the current record is damaged (message says why)."""


def _parse_int(text: str) -> int:
    if not text or not (text.lstrip("-") and set(text.lstrip("-")) <= _DIGITS) or text.count("-") > 1 \
            or (text[0] != "-" and "-" in text):
        raise _Damaged("a value is not an integer")
    return int(text)


def crx_to_rnx(data: bytes, path: str = "<bytes>", *, strict: bool = False) -> bytes:
    """Expand Compact RINEX ``data`` to RINEX text, skipping damaged records.

    Parameters
    ----------
    data : bytes
        The whole Compact RINEX 1.0 / 3.0 file (already gunzipped etc.).
    path : str
        File name used in the messages.
    strict : bool
        Raise :class:`~satnav.errors.FormatError` at the first damaged record instead of
        warning.

    Returns
    -------
    bytes
        The RINEX observation text (ASCII), as CRX2RNX writes it for the undamaged records.

    Raises
    ------
    FormatError
        Not Compact RINEX 1.0/3.0, a RINEX header without ``END OF HEADER``, or (``strict``)
        any damaged record.

    Warns
    -----
    DamagedRecordWarning
        ``FILE:LINE: damaged Compact RINEX record skipped ...`` for each damaged record, LINE
        being the line of the Compact RINEX file.
    """
    path = str(path)
    lines = data.decode("latin-1").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    log = DamageLog(path, strict, FormatError)
    out: list[str] = []
    nlines = len(lines)

    # ---- header -------------------------------------------------------------------------
    if nlines < 3 or not lines[0][60:].startswith("CRINEX VERS") or lines[0][:3] not in ("1.0", "3.0"):
        raise FormatError("not Compact RINEX 1.0 or 3.0 (no 'CRINEX VERS / TYPE' line)", path, 1)
    crx_v3 = lines[0][:3] == "3.0"
    first = lines[2].rstrip()
    if first[60:80] != "RINEX VERSION / TYPE" or len(first) < 6 or first[5] not in "234":
        raise FormatError("Compact RINEX without a RINEX 2/3/4 'RINEX VERSION / TYPE' line", path, 3)
    rnx2 = first[5] == "2"
    ntype2 = 0
    ntype_gnss: dict[str, int] = {}

    def header_record(text: str) -> None:
        nonlocal ntype2
        label = text[60:79]
        try:
            if label == "# / TYPES OF OBSERV" and len(text) > 5 and text[5] != " ":
                ntype2 = int(text[:6])
            elif label == "SYS / # / OBS TYPES" and text[:1] not in ("", " "):
                ntype_gnss[text[0]] = int(text[3:6])
        except ValueError:
            pass  # the RINEX reader reports the header record itself

    i = 2
    while True:
        if i >= nlines:
            raise FormatError("Compact RINEX header has no 'END OF HEADER'", path, nlines)
        text = lines[i].rstrip()
        i += 1
        if set(text) - _TEXT_OK:
            text = "".join(c if c in _TEXT_OK else "?" for c in text)
        out.append(text + "\n")
        header_record(text)
        if text[60:73] == "END OF HEADER":
            break

    top_from = "&" if rnx2 else ">"
    top_to = " " if rnx2 else ">"
    p_event = 28 if rnx2 else 31
    p_nsat = 29 if rnx2 else 32
    p_satlst = 32 if rnx2 else 41
    off = 3 if rnx2 else 6
    clk_decimals = 9 if rnx2 else 12

    epoch = ""                # the current epoch line (as text, blanks stripped)
    need_init = True          # after damage (or at the start): wait for an initialising epoch
    skipping = False          # the skip to the next initialising epoch was already reported
    prev: dict[str, list] = {}  # sat -> [fields (None or (arc, order, ys)), flags or None]
    clk_arc = 0
    clk_order = -1
    clk_prev: list = []
    clk_ok = False
    clk_warned = False

    def resync(line_no: int, why: str) -> None:
        nonlocal need_init, skipping
        if not skipping:
            damage(line_no, why + "; skipping to the next initialised epoch")
        need_init = True
        skipping = True

    def damage(line_no: int, why: str) -> None:
        log.add(line_no, f"damaged Compact RINEX record skipped: {why}{_NOTE}",
                f"damaged Compact RINEX record skipped: {why}")

    def epoch_ok(text: str) -> bool:
        return (len(text) >= 26 + off and text[0] == top_to and text[off + 23] == " "
                and text[off + 24] == " " and text[off + 25] in _DIGITS)

    while i < nlines:
        ln_no = i + 1
        dline = lines[i]
        i += 1
        if crx_v3 and dline[:1] == "&":
            continue  # CRINEX 3 escape line
        if dline[:1] == "\x1a":
            break
        if set(dline) - _TEXT_OK:
            resync(ln_no, "control or non-ASCII characters")
            continue
        if dline[:1] == top_from:
            dline = top_to + dline[1:]
            flag = dline[p_event:p_event + 1]
            if flag and flag not in "01":
                # event record: the epoch line and its n special records, verbatim
                if flag not in _DIGITS:
                    resync(ln_no, "bad event flag")
                    continue
                text = dline.rstrip()
                nrec = 0
                if len(text) > 29:
                    try:
                        nrec = int(text[p_event + 1:p_event + 4])
                    except ValueError:
                        resync(ln_no, "bad record count of an event")
                        continue
                if i + nrec > nlines or any(set(lines[k]) - _TEXT_OK for k in range(i, i + nrec)):
                    resync(ln_no, "damaged event records")
                    continue
                out.append(text + "\n")
                for k in range(i, i + nrec):
                    rec = lines[k].rstrip()
                    out.append(rec + "\n")
                    header_record(rec)
                i += nrec
                need_init = True  # an initialised epoch follows an event
                skipping = False
                continue
            epoch = ""
            prev = {}
            need_init = False
            skipping = False
        elif need_init:
            resync(ln_no, "epoch line without an initialised epoch before it")
            continue
        new_epoch = _repair(epoch, dline).rstrip()
        if not epoch_ok(new_epoch):
            resync(ln_no, "bad epoch line")
            continue
        nsat_txt = new_epoch[p_nsat:p_nsat + 3].strip()
        if not nsat_txt or not set(nsat_txt) <= _DIGITS:
            resync(ln_no, "bad satellite count")
            continue
        nsat = int(nsat_txt)
        sats = [new_epoch[p_satlst + 3 * k:p_satlst + 3 * k + 3] for k in range(nsat)]
        if nsat and len(sats[-1]) != 3 or len(set(sats)) != nsat:
            resync(ln_no, "satellite list does not match the satellite count")
            continue
        if i + 1 + nsat > nlines:
            damage(ln_no, "file ends inside the epoch")
            break
        epoch = new_epoch

        # ---- receiver clock offset ----------------------------------------------------
        cline = lines[i]
        i += 1
        clock_txt = None
        if cline == "":
            clk_order = -1
            clk_ok = True
        else:
            try:
                if set(cline) - _TEXT_OK:
                    raise _Damaged("control or non-ASCII characters")
                if cline[1:2] == "&":
                    if cline[0] not in _DIGITS or int(cline[0]) > MAX_DIFF_ORDER:
                        raise _Damaged("bad difference order")
                    arc, order, d = int(cline[0]), -1, _parse_int(cline[2:])
                elif not clk_ok:
                    raise _Damaged("no initialised clock arc")
                else:
                    arc, order, d = clk_arc, clk_order, _parse_int(cline)
                if order >= 0 and len(clk_prev) < order + 1:
                    raise _Damaged("no initialised clock arc")
                order, ys = _step(clk_prev, arc, order, d)
                clock_txt = _format_clock(ys[order], clk_decimals)
                if clock_txt is None:
                    raise _Damaged("clock offset out of the RINEX range")
                clk_arc, clk_order, clk_prev, clk_ok, clk_warned = arc, order, ys, True, False
            except _Damaged as exc:
                if not clk_warned:
                    damage(i, f"receiver clock offset ({exc}); left out until its next initialisation")
                clk_ok, clk_warned = False, True
                clk_order = -1

        # ---- satellites -----------------------------------------------------------------
        new_prev: dict[str, list] = {}
        sat_out: list[tuple[str, list[str]]] = []
        for sat in sats:
            sline = lines[i]
            s_no = i + 1
            i += 1
            ntype = ntype2 if rnx2 else ntype_gnss.get(sat[0], -1)
            old = prev.get(sat)
            if ntype < 0:
                damage(s_no, f"satellite {ascii(sat)} of a system without observation types")
                continue
            if set(sline) - _TEXT_OK:
                damage(s_no, f"control or non-ASCII characters in the data of {sat}; "
                             "satellite dropped until its tracking restarts")
                new_prev[sat] = [[None] * ntype, None]
                continue
            parts = sline.split(" ", ntype)
            if len(parts) > ntype:
                dflag = parts[ntype]
                parts = parts[:ntype]
            else:
                dflag = ""
                parts = parts + [""] * (ntype - len(parts))
            # flags
            if old is None:
                flags = dflag.replace("&", " ")
                broken_flags = False
            elif old[1] is None:
                flags = ""
                broken_flags = True
            else:
                flags = _repair(old[1], dflag)
                broken_flags = False
            flags = flags[:2 * ntype].ljust(2 * ntype)
            old_fields = old[0] if old is not None else None
            fields: list = []
            texts: list[str] = []
            line_bad = None
            field_bad = None
            n_good = 0
            for j, f in enumerate(parts):
                if f == "":
                    fields.append(None)
                    if not crx_v3:  # CRINEX 1: flags of a blank observation are blank
                        texts.append("                ")
                        flags = flags[:2 * j] + "  " + flags[2 * j + 2:]
                    else:
                        texts.append("              " + flags[2 * j:2 * j + 2])
                    continue
                try:
                    if f[1:2] == "&":
                        if f[0] not in _DIGITS or int(f[0]) > MAX_DIFF_ORDER:
                            raise _Damaged("bad difference order")
                        arc, order, pys = int(f[0]), -1, None
                        d = _parse_int(f[2:])
                    else:
                        d = _parse_int(f)
                        st = old_fields[j] if old_fields is not None and j < len(old_fields) else None
                        if st is None or st == "broken":
                            if st is None:
                                field_bad = field_bad or "a difference without an initialised arc"
                            fields.append("broken")
                            texts.append("                ")
                            continue
                        arc, order, pys = st
                    order, ys = _step(pys, arc, order, d)
                    v = ys[order]
                    if not _value_in_range(v):
                        fields.append("broken")
                        texts.append("                ")
                        field_bad = field_bad or "a value out of the RINEX range"
                        continue
                    fields.append((arc, order, ys))
                    texts.append(_format_value(v) + flags[2 * j:2 * j + 2])
                    n_good += 1
                except _Damaged as exc:
                    line_bad = str(exc)
                    break
            if line_bad is not None:
                damage(s_no, f"{line_bad} in the data of {sat}; satellite dropped until its "
                             "tracking restarts")
                new_prev[sat] = [["broken"] * ntype, None]
                continue
            if field_bad is not None:
                damage(s_no, f"{field_bad} in the data of {sat}; observation left out until its "
                             "arc is re-initialised")
            if broken_flags:
                # flags unknown: usable again only when the satellite reappears
                new_prev[sat] = [fields, None]
                continue
            new_prev[sat] = [fields, flags]
            if n_good == 0 and any(f == "broken" for f in fields):
                continue
            sat_out.append((sat, texts))
        prev = {s: v for s, v in new_prev.items()}

        # ---- output ---------------------------------------------------------------------
        text = epoch
        if len(sat_out) != nsat:
            kept = [s for s, _ in sat_out]
            if rnx2:
                text = epoch[:29].ljust(29) + f"{len(kept):3d}" + "".join(kept)
            else:
                text = (epoch[:32].ljust(32) + f"{len(kept):3d}" + epoch[35:41]).rstrip()
        if rnx2:
            if clock_txt is not None:
                out.append(f"{text[:68]:<68}{clock_txt}\n")
            else:
                out.append(text[:68] + "\n")
            n = len(sat_out) - 12
            pos = 68
            while n > 0:
                out.append(" " * 32 + text[pos:pos + 36] + "\n")
                n -= 12
                pos += 36
            for _, texts in sat_out:
                for c in range(0, len(texts), 5):
                    out.append("".join(texts[c:c + 5]).rstrip() + "\n")
        else:
            if clock_txt is not None:
                out.append(f"{text[:41]:<41}{clock_txt}\n")
            else:
                out.append(text[:41].rstrip() + "\n")
            for sat, texts in sat_out:
                out.append((sat + "".join(texts)).rstrip() + "\n")
    log.emit(stacklevel=4)
    return "".join(out).encode("ascii", "replace")
