"""Integrity monitoring of the broadcast from the monitoring network: satellite clock jumps
and ramps, and orbit manoeuvres, detected in the stations' carrier phase against the
broadcast in force.

Test statistic, per satellite and epoch: the epoch-to-epoch change of the phase residual
``L - rho_broadcast - T + c dt_broadcast`` at each station, with the station's common change
(its clock) removed as the median over the satellites it tracks, then the median over the
stations that see the satellite. A healthy satellite's statistic is the centimetre noise of
phase differences plus the slow drift of broadcast errors; a jump of the satellite's clock or
position moves it by the jump. A ramp (or a slow drift after a manoeuvre) changes it by a
little each epoch: its running sum since the message came into use (reset at a new message
or a tracking gap) grows instead. An alarm is raised when ``|statistic| > threshold_m`` or
``|running sum| > ramp_threshold_m``; the satellite is flagged unhealthy in every message
uploaded after the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...constants import SPEED_OF_LIGHT
from .truth import MonitoringData, satellite_at_transmission, troposphere_zenith_and_mapping

__all__ = ["Alarm", "monitor_broadcast"]


@dataclass(frozen=True)
class Alarm:
    """A detection: satellite, GPST ns of the alarm, statistic (m)."""

    satellite: str
    time_ns: int
    statistic_m: float


def monitor_broadcast(data: MonitoringData, rotation, messages, ids, epochs, *,
                      threshold_m: float = 1.0, ramp_threshold_m: float = 1.0) -> list[Alarm]:
    """Alarms over the epochs selected by ``epochs`` (bool mask of ``data.time_ns``) with the
    broadcast ``messages`` (:class:`~satnav.constellation.control.odts.BroadcastMessages`)."""
    from .odts import broadcast_states

    sel = np.asarray(epochs, bool)
    t = data.time_ns[sel]
    phase = data.phase_m[sel]
    rot = rotation[sel]
    pos_e, clock, _ = broadcast_states(messages, t)
    pos_g = np.einsum("tji,tnj->tni", rot, pos_e)
    vel_g = np.gradient(pos_g, (t - t[0]) / 1e9, axis=0)
    sta_g = np.einsum("tji,mj->tmi", rot, data.stations_itrs_m)
    _, rho = satellite_at_transmission(pos_g[:, None], vel_g[:, None], sta_g[:, :, None])
    up = data.stations_itrs_m / np.linalg.norm(data.stations_itrs_m, axis=1, keepdims=True)
    los = pos_g[:, None] - sta_g[:, :, None]
    los /= np.linalg.norm(los, axis=-1, keepdims=True)
    el = np.arcsin(np.clip(np.einsum("tmi,tmni->tmn", np.einsum("tji,mj->tmi", rot, up), los), -1, 1))
    zhd, mh, mw = troposphere_zenith_and_mapping(data.stations_itrs_m, el, t)
    residual = phase - rho - zhd[None, :, None] * mh - 0.1 * mw + SPEED_OF_LIGHT * clock[:, None, :]
    message = np.searchsorted(messages.upload_ns, t, side="right")
    same_pass = (data.pass_id[sel][1:] == data.pass_id[sel][:-1]) & (message[1:] == message[:-1])[:, None, None]
    d = np.where(same_pass, np.diff(residual, axis=0), np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            d = d - np.nanmedian(d, axis=2, keepdims=True)
            stat = np.nanmedian(d, axis=1)  # (T-1, n)
    drift = accumulated_change(stat)
    alarms = []
    for j, sid in enumerate(ids):
        hit = np.flatnonzero((np.abs(np.nan_to_num(stat[:, j])) > threshold_m)
                             | (np.abs(np.nan_to_num(drift[:, j])) > ramp_threshold_m))
        if hit.size:
            k = hit[0]
            value = stat[k, j] if abs(np.nan_to_num(stat[k, j])) > threshold_m else drift[k, j]
            alarms.append(Alarm(sid, int(t[k + 1]), float(value)))
    return alarms


def accumulated_change(stat: np.ndarray) -> np.ndarray:
    """(T-1, n) running sum of the epoch-to-epoch statistic since its last break (a NaN: a
    new message, a gap in tracking): the change of the residual against the broadcast in
    force, which a clock ramp or a slow orbit drift makes grow while each step stays small."""
    out = np.full(stat.shape, np.nan)
    acc = np.zeros(stat.shape[1])
    for k in range(stat.shape[0]):
        ok = np.isfinite(stat[k])
        acc = np.where(ok, acc + np.nan_to_num(stat[k]), 0.0)
        out[k] = np.where(ok, acc, np.nan)
    return out
