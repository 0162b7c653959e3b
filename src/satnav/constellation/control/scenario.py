"""A control-segment scenario and its run: truth world, monitoring data, ODTS every few hours
over sliding arcs, hourly broadcast uploads, integrity monitoring, SISRE; the outputs
(estimated SP3 with clocks, RINEX clock 3.04 of satellites and stations, broadcast RINEX
navigation, JSON report) — ``satnav odts``.

Scenario TOML (``specs/regional_control.toml`` is the built-in default)::

    constellation = "regional"     # a built-in name or a constellation spec file
    interval_s = 30                # monitoring data rate
    arc_hours = 24                 # ODTS arc
    evaluation_hours = 24          # broadcast evaluated over this span after the first arc
    odts_every_hours = 3           # a new ODTS (sliding arc) every ... hours
    upload_hours = 1               # message upload cadence
    seed = 1
    truth_srp = "ecom5"            # the truth's SRP model (ECOM terms; ecomc: 13 terms)
    truth_gravity_degree = 12      # the truth's EGM96 degree and order (2-12)
    odts_srp = "ecom5"             # the estimator's: a model lacking the truth's terms
    odts_gravity_degree = 12       # makes the estimation honest about model errors
    [monitoring] ...               # satnav.constellation.control.network
    [[fault]]                      # optional injected faults
    satellite = "I03"
    kind = "clock_jump"            # or "clock_ramp" (size_m per hour), "manoeuvre" (m/s)
    time_h = 30.25                 # hours from the start
    size_m = 10
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ...errors import FormatError, SatnavError
from ...gnss_time import NS_PER_S
from .network import MonitoringNetwork, network_from_spec
from .odts import OdtsOptions
from .truth import FaultSpec

__all__ = ["ControlScenario", "load_control_scenario", "run_odts", "DEFAULT_SCENARIO"]

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "specs" / "regional_control.toml"


@dataclass(frozen=True)
class ControlScenario:
    """What ``satnav odts`` runs (module docstring)."""

    constellation: str = "regional"
    interval_s: float = 30.0
    arc_hours: float = 24.0
    evaluation_hours: float = 24.0
    odts_every_hours: float = 3.0
    upload_hours: float = 1.0
    seed: int = 1
    network: MonitoringNetwork | None = None
    faults: tuple = field(default_factory=tuple)
    options: OdtsOptions = OdtsOptions()
    source: str = "<built-in>"
    #: a priori orbit error (m, 1-sigma per axis; 1e-4 of it in m/s) of the first arc: tens of
    #: metres for a cold start, about a metre when a previous day's solution warms it
    apriori_sigma_m: float = 50.0
    #: estimate and evaluate the time links (GPS and GLONASS orbits propagated: seconds)
    time_links: bool = True
    #: the truth's force model where it differs from the estimator's (``options.srp``,
    #: ``options.degree``): an SRP model with terms the estimator lacks, a higher degree
    truth_srp: str = "ecom5"
    truth_degree: int = 12


def _number(spec, key, default, low, high, where):
    value = spec.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {key} = {value!r}, expected a number") from None
    if not low <= value <= high:
        raise FormatError(f"{where}: {key} = {value}, expected {low} <= value <= {high}")
    return value


def load_control_scenario(path=None) -> ControlScenario:
    """Read a control scenario TOML (the built-in regional one when ``path`` is None)."""
    import tomllib

    where = str(path) if path is not None else str(DEFAULT_SCENARIO)
    try:
        text = Path(where).read_text(encoding="utf-8")
    except OSError as exc:
        raise SatnavError(f"{where}: cannot read the scenario ({exc.strerror})") from None
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{where}: not valid TOML ({exc})") from None
    known = {"constellation", "interval_s", "arc_hours", "evaluation_hours", "odts_every_hours",
             "upload_hours", "seed", "monitoring", "fault", "truth_srp", "truth_gravity_degree",
             "odts_srp", "odts_gravity_degree"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise FormatError(f"{where}: unknown key {unknown[0]!r}, expected one of {', '.join(sorted(known))}")
    faults = []
    for i, row in enumerate(spec.get("fault", []) or []):
        try:
            f = FaultSpec(str(row["satellite"]), str(row["kind"]), float(row["time_h"]), float(row["size_m"]))
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{where}: fault[{i}]: expected satellite, kind, time_h, size_m") from None
        if f.kind not in ("clock_jump", "clock_ramp", "manoeuvre"):
            raise FormatError(f"{where}: fault[{i}].kind {f.kind!r}, expected clock_jump, clock_ramp or manoeuvre")
        faults.append(f)
    s = ControlScenario(
        constellation=str(spec.get("constellation", "regional")),
        interval_s=_number(spec, "interval_s", 30, 1, 900, where),
        arc_hours=_number(spec, "arc_hours", 24, 2, 72, where),
        evaluation_hours=_number(spec, "evaluation_hours", 24, 1, 72, where),
        odts_every_hours=_number(spec, "odts_every_hours", 3, 0.5, 72, where),
        upload_hours=_number(spec, "upload_hours", 1, 0.25, 12, where),
        seed=int(_number(spec, "seed", 1, 0, 2**31, where)),
        network=network_from_spec(spec.get("monitoring", {}), f"{where}: monitoring"),
        faults=tuple(faults),
        source=where,
        truth_srp=_srp_name(spec, "truth_srp", where),
        truth_degree=int(_number(spec, "truth_gravity_degree", 12, 2, 12, where)),
    )
    return replace(s, options=replace(s.options, arc_hours=s.arc_hours, upload_hours=s.upload_hours,
                                      srp=_srp_name(spec, "odts_srp", where),
                                      degree=int(_number(spec, "odts_gravity_degree", 12, 2, 12, where))))


def _srp_name(spec, key, where) -> str:
    from ...dynamics.forces import SRP_MODELS

    value = str(spec.get(key, "ecom5"))
    if value not in SRP_MODELS or value == "none":
        raise FormatError(f"{where}: {key} = {value!r}, expected one of {', '.join(m for m in SRP_MODELS if m != 'none')}")
    return value


def _constellation(name: str):
    from ..design import builtin_constellation, load_constellation

    if Path(name).suffix == ".toml" or "/" in name:
        return load_constellation(name)
    return builtin_constellation(name)


def run_odts(scenario: ControlScenario, out_dir=None, *, progress=None) -> dict:
    """Run the scenario; write the outputs into ``out_dir`` (if given); return the report."""
    from ...io.clk import write_clk
    from ...io.sp3 import write_sp3
    from .integrity import monitor_broadcast
    from .odts import (
        broadcast_fit_times,
        broadcast_from_prediction,
        estimate_orbits_clocks,
        predict,
        sisre_report,
    )
    from .truth import _initial_gcrs_state, build_truth, simulate_monitoring

    def say(msg):
        if progress is not None:
            progress(msg)

    timing = {}
    clock0 = time.perf_counter()
    con = _constellation(scenario.constellation)
    ids = con.ids
    for f in scenario.faults:
        if f.satellite not in ids:
            raise SatnavError(f"{scenario.source}: fault on {f.satellite}, not a satellite of {con.name} ({', '.join(ids)})")
    network = scenario.network
    start = con.epoch_ns
    step = int(round(scenario.interval_s * NS_PER_S))
    total_h = scenario.arc_hours + scenario.evaluation_hours
    times = start + np.arange(0, int(round(total_h * 3600 * NS_PER_S)) + 1, step, dtype=np.int64)
    truth = build_truth(con, network, times, seed=scenario.seed, faults=scenario.faults, srp=scenario.truth_srp,
                        degree=scenario.truth_degree)
    data = simulate_monitoring(truth, network, seed=scenario.seed + 1)
    timing["truth_and_observations_s"] = time.perf_counter() - clock0
    say(f"truth: {len(ids)} satellites, {len(network.stations)} stations, {len(times)} epochs")
    options = scenario.options
    arc_ns = int(round(scenario.arc_hours * 3600)) * NS_PER_S
    every_ns = int(round(scenario.odts_every_hours * 3600)) * NS_PER_S
    eval_end = int(times[-1])
    origins = np.arange(start + arc_ns, eval_end, every_ns, dtype=np.int64)
    runs, messages, solution = [], [], None
    # the a priori of the first arc: the design orbit with errors of tens of metres (what a
    # previous day's orbit determination would give); the truth differs by its SRP as well
    rng = np.random.default_rng(scenario.seed + 2)
    sigma = scenario.apriori_sigma_m
    state = _initial_gcrs_state(con) + np.concatenate(
        [rng.normal(0, sigma, (len(ids), 3)), rng.normal(0, sigma * 1e-4, (len(ids), 3))], axis=1)
    from ...dynamics.forces import ForceModel
    from ...dynamics.propagator import Propagator

    propagator = Propagator(ForceModel(srp=options.srp, degree=options.degree), options.step_s)
    t_odts = 0.0
    for origin in origins:
        c = time.perf_counter()
        arc = (times >= origin - arc_ns) & (times < origin)
        if solution is not None:  # warm start: the previous solution at the new arc's start
            state = solution.gcrs_states(times[arc][:1])
            if state is None:
                pr = solution.propagator.propagate(int(solution.time_ns[0]), solution.state[:, :3],
                                                   solution.state[:, 3:], times[arc][:1], solution.srp_parameters)
                state = np.concatenate([pr.position_m, pr.velocity_m_s], axis=-1)
            state = state[0]
        upload_end = int(min(origin + every_ns, eval_end))
        solution = estimate_orbits_clocks(data, truth.rotation, state, options, epochs=arc, propagator=propagator,
                                          predict_times_ns=broadcast_fit_times(int(origin), upload_end, options))
        msg = broadcast_from_prediction(solution, con.sat, int(origin), upload_end, options)
        messages.append(msg)
        dt = time.perf_counter() - c
        t_odts += dt
        runs.append(dict(origin_h=(origin - start) / 3.6e12, iterations=solution.iterations,
                         code_rms_m=solution.code_rms_m, phase_rms_m=solution.phase_rms_m, seconds=dt))
        say(f"ODTS arc ending {runs[-1]['origin_h']:.1f} h: {solution.iterations} iterations, "
            f"code {solution.code_rms_m:.2f} m, phase {solution.phase_rms_m * 1000:.1f} mm, {dt:.1f} s")
    timing["odts_s"] = t_odts
    brdc = _concatenate(messages)
    evaluation = times >= origins[0]
    alarms = monitor_broadcast(data, truth.rotation, brdc, ids, evaluation)
    for a in alarms:  # unhealthy in every message uploaded after the alarm
        j = ids.index(a.satellite)
        brdc.health[brdc.upload_ns > a.time_ns, j] = True
    report = sisre_report(brdc, truth, ids, times[evaluation])
    from ...frames import geodetic_to_ecef
    from .user import broadcast_from_truth, user_accuracy

    fitted = broadcast_from_truth(truth, con.sat, int(origins[0]), eval_end, scenario.upload_hours)
    fitted_sisre = sisre_report(fitted, truth, ids, times[evaluation])
    report["truth_fitted"] = dict(sisre_rms_m=fitted_sisre["sisre_rms_m"],
                                  satellites=fitted_sisre["satellites"])
    site = np.ravel(geodetic_to_ecef(np.radians(30.0), np.radians(105.0), 500.0))
    accuracy = user_accuracy(truth, {"odts": brdc, "truth_fitted": fitted}, site, times[evaluation],
                             alarms=[(ids.index(a.satellite), a.time_ns) for a in alarms])
    a, b = accuracy["odts"]["position_rms_m"], accuracy["truth_fitted"]["position_rms_m"]
    report["user_accuracy"] = dict(site_deg=[30.0, 105.0], **accuracy,
                                   ratio=(a / b) if a is not None and b else None)
    if scenario.faults:  # the same user ignoring the ground's alarms: does its RAIM see it?
        raim = user_accuracy(truth, {"odts": brdc}, site, times[evaluation])["odts"]
        first = raim["first_raim_alarm_ns"]
        report["user_raim"] = dict(alarm_epochs=raim["raim_alarm_epochs"],
                                   first_alarm_h=None if first is None else (first - start) / 3.6e12)
    from .time_link import (
        BROADCAST_CODES,
        combined_user_accuracy,
        estimate_time_links,
        master_time_data,
    )

    stride = max(1, int(300 / scenario.interval_s))
    links = []
    if scenario.time_links:
        link_data = master_time_data(truth, network, times[::stride])
        links = [estimate_time_links(link_data, (link_data.time_ns >= o - arc_ns) & (link_data.time_ns < o), int(o))
                 for o in origins]
        eval_300 = times[evaluation][::stride]
        report["time_links"] = dict(
            offsets={code: dict(a0_ns=links[0][code].a0_s * 1e9, a1_ns_per_day=links[0][code].a1 * 86400e9,
                                fit_rms_vs_truth_ns=max(lk[code].rms_vs_truth_s for lk in links) * 1e9)
                     for code in ("IRGP", "IRGL") + BROADCAST_CODES[1:]},
            estimations=len(links),
            users={f"{p}_plus_designed": combined_user_accuracy(truth, links, site, eval_300, p)
                   for p in ("glonass", "gps")})
    report.update(
        scenario=scenario.source, constellation=con.name, stations=network.names,
        interval_s=scenario.interval_s, arc_hours=scenario.arc_hours,
        evaluation_hours=scenario.evaluation_hours, upload_hours=scenario.upload_hours,
        odts_runs=runs,
        alarms=[dict(satellite=a.satellite, time_h=(a.time_ns - start) / 3.6e12, statistic_m=a.statistic_m)
                for a in alarms],
    )
    if scenario.faults:
        tta = []
        for f in scenario.faults:
            t_fault = start + int(round(f.time_h * 3600 * NS_PER_S))
            hit = [a for a in alarms if a.satellite == f.satellite and a.time_ns >= t_fault]
            tta.append((hit[0].time_ns - t_fault) / NS_PER_S if hit else None)
            next_upload = brdc.upload_ns[brdc.upload_ns > t_fault]
            report.setdefault("faults", []).append(dict(
                satellite=f.satellite, kind=f.kind, time_h=f.time_h, size_m=f.size_m,
                detected=bool(hit), time_to_alarm_s=tta[-1],
                alarm_h=(hit[0].time_ns - start) / 3.6e12 if hit else None,
                next_upload_h=(int(next_upload[0]) - start) / 3.6e12 if next_upload.size else None,
                flagged_in_next_message=bool(hit) and next_upload.size > 0
                and bool(brdc.health[brdc.upload_ns == next_upload[0], ids.index(f.satellite)].all())))
        report["time_to_alarm_s"] = max((x for x in tta if x is not None), default=None)
        report["missed_detections"] = sum(x is None for x in tta)
    timing["total_s"] = time.perf_counter() - clock0
    report["timing"] = timing
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        pred = predict(solution, solution.time_ns[::max(1, int(300 / scenario.interval_s))], options)
        sp3_path = out / "odts_estimated.sp3"
        write_sp3(sp3_path, pred.time_ns, con.sat, pred.position_itrs_m,
                  np.where(np.isfinite(solution.satellite_clock_s[::max(1, int(300 / scenario.interval_s))]),
                           solution.satellite_clock_s[::max(1, int(300 / scenario.interval_s))], np.nan),
                  comment=f"satnav ODTS estimate, last arc, {con.name}")
        clk_path = out / "odts_clock.clk"
        write_clk(clk_path, solution.time_ns, ids, solution.satellite_clock_s,
                  station_time_ns=solution.time_ns, stations=network.names,
                  station_bias_s=solution.station_clock_s, station_positions_m=network.positions_m,
                  reference_station=network.names[network.master_index], system="I",
                  run_by="satnav odts", analysis_center=("SAT", f"satnav ODTS of {con.name}"),
                  comments=["ODTS estimate, last arc: clocks against system time, realised by",
                            f"the master station {network.names[network.master_index]} (its clock 0 by definition)"])
        nav_path = out / "odts_broadcast.rnx"
        _write_navigation(brdc, con, nav_path, links)
        nav4_path = out / "odts_broadcast_v4.rnx"
        _write_navigation(brdc, con, nav4_path, links, version=4.01)
        report["outputs"] = [str(sp3_path), str(clk_path), str(nav_path), str(nav4_path),
                             str(out / "odts_report.json")]
        (out / "odts_report.json").write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
    return report


def _concatenate(messages):
    from .odts import BroadcastMessages

    first = messages[0]
    return BroadcastMessages(*(np.concatenate([getattr(m, f) for m in messages])
                               if f not in ("system", "sat") else getattr(first, f)
                               for f in ("upload_ns", "toe_ns", "params", "toe_sow", "af", "fit_rms_m",
                                         "system", "sat", "health", "origin_ns")))


def _write_navigation(brdc, con, path, links=(), version: float = 3.05) -> None:
    """The broadcast as RINEX navigation: 3.05 with the time links in force at the start as
    header ``TIME SYSTEM CORR`` lines, or 4.01 with every estimation of them as ``STO``
    records (transmitted by the first satellite from each estimation's origin)."""
    from ...gnss_time import gps_week_tow, leap_seconds_at_gpst
    from ...navigation import NavHeader, Navigation
    from ..broadcast import kepler_message_array, write_broadcast
    from .time_link import BROADCAST_CODES

    U, n = brdc.health.shape
    sat = np.broadcast_to(np.asarray(con.sat)[None, :], (U, n)).ravel()
    toe = np.repeat(brdc.toe_ns, n)
    issue = np.repeat(np.arange(U) % 256, n)
    af = (brdc.af[..., 0].ravel(), brdc.af[..., 1].ravel(), np.zeros(U * n))
    arr = kepler_message_array(brdc.params.reshape(U * n, -1), brdc.toe_sow.ravel(), sat, toe,
                               brdc.system, af, issue, 2 * (brdc.toe_ns[0] - brdc.upload_ns[0]) / 3.6e12,
                               health=brdc.health.ravel().astype(float))
    order = np.lexsort((arr["toc"], arr["sat"]))
    header = NavHeader(version=version, system=brdc.system, program="satnav", run_by="satnav odts",
                       comments=["satnav control segment: broadcast from ODTS predictions",
                                 f"{con.name}: {len(con)} satellites",
                                 "IRGP, IRUT: the designed system's time - GPST, - UTC"],
                       leap_seconds=int(leap_seconds_at_gpst(np.int64(brdc.upload_ns[0]))))
    nav = Navigation(messages={brdc.system: arr[order]}, header=header, sources=["satnav odts"])
    utc_id = {"IRUT": "UTC(USNO)", "GPUT": "UTC(USNO)", "GLUT": "UTC(SU)"}
    if links and version < 4:
        for code in BROADCAST_CODES:
            week, sow = gps_week_tow(np.int64(links[0][code].t_ref_ns))
            header.time_corrections[code] = (links[0][code].a0_s, links[0][code].a1, int(sow), int(week))
    for lk in links if version >= 4 else ():
        _, sow = gps_week_tow(np.int64(lk.origin_ns))
        for code in BROADCAST_CODES:
            nav.sto_records.append(dict(sat=int(con.sat[0]), type="STO", message="LNAV", time=int(lk.origin_ns),
                                        code=code, sbas_id="", utc_id=utc_id.get(code, ""), t_tot=float(sow),
                                        a0=lk[code].a0_s, a1=lk[code].a1, a2=0.0))
    write_broadcast(nav, path, version=version)
