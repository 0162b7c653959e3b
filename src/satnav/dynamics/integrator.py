"""Fixed-step 8th-order Dormand-Prince Runge-Kutta integration (the 12-stage 8th-order formula
of DOP853: Hairer, Norsett & Wanner, *Solving Ordinary Differential Equations I*, 2nd ed.,
1993, sec. II.5; coefficients as in SciPy's ``dop853_coefficients``).

Used for every numerical orbit of satnav: the designed constellations
(:mod:`satnav.constellation.propagate`) and the precise dynamics (:mod:`satnav.dynamics.propagator`).
States are arrays of any shape; a fixed step keeps all satellites of a constellation on one
time grid so that one vectorized force evaluation serves them all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dop853_step", "dop853_nodes", "DOP853_NODES"]

_C = np.array(
    [
        0.0,
        0.526001519587677318785587544488e-01,
        0.789002279381515978178381316732e-01,
        0.118350341907227396726757197510,
        0.281649658092772603273242802490,
        0.333333333333333333333333333333,
        0.25,
        0.307692307692307692307692307692,
        0.651282051282051282051282051282,
        0.6,
        0.857142857142857142857142857142,
        1.0,
    ]
)
_A = np.zeros((12, 12))
_A[1, 0] = 5.26001519587677318785587544488e-2
_A[2, :2] = [1.97250569845378994544595329183e-2, 5.91751709536136983633785987549e-2]
_A[3, [0, 2]] = [2.95875854768068491816892993775e-2, 8.87627564304205475450678981324e-2]
_A[4, [0, 2, 3]] = [
    2.41365134159266685502369798665e-1,
    -8.84549479328286085344864962717e-1,
    9.24834003261792003115737966543e-1,
]
_A[5, [0, 3, 4]] = [
    3.7037037037037037037037037037e-2,
    1.70828608729473871279604482173e-1,
    1.25467687566822425016691814123e-1,
]
_A[6, [0, 3, 4, 5]] = [
    3.7109375e-2,
    1.70252211019544039314978060272e-1,
    6.02165389804559606850219397283e-2,
    -1.7578125e-2,
]
_A[7, [0, 3, 4, 5, 6]] = [
    3.70920001185047927108779319836e-2,
    1.70383925712239993810214054705e-1,
    1.07262030446373284651809199168e-1,
    -1.53194377486244017527936158236e-2,
    8.27378916381402288758473766002e-3,
]
_A[8, [0, 3, 4, 5, 6, 7]] = [
    6.24110958716075717114429577812e-1,
    -3.36089262944694129406857109825,
    -8.68219346841726006818189891453e-1,
    2.75920996994467083049415600797e1,
    2.01540675504778934086186788979e1,
    -4.34898841810699588477366255144e1,
]
_A[9, [0, 3, 4, 5, 6, 7, 8]] = [
    4.77662536438264365890433908527e-1,
    -2.48811461997166764192642586468,
    -5.90290826836842996371446475743e-1,
    2.12300514481811942347288949897e1,
    1.52792336328824235832596922938e1,
    -3.32882109689848629194453265587e1,
    -2.03312017085086261358222928593e-2,
]
_A[10, [0, 3, 4, 5, 6, 7, 8, 9]] = [
    -9.3714243008598732571704021658e-1,
    5.18637242884406370830023853209,
    1.09143734899672957818500254654,
    -8.14978701074692612513997267357,
    -1.85200656599969598641566180701e1,
    2.27394870993505042818970056734e1,
    2.49360555267965238987089396762,
    -3.0467644718982195003823669022,
]
_A[11, [0, 3, 4, 5, 6, 7, 8, 9, 10]] = [
    2.27331014751653820792359768449,
    -1.05344954667372501984066689879e1,
    -2.00087205822486249909675718444,
    -1.79589318631187989172765950534e1,
    2.79488845294199600508499808837e1,
    -2.85899827713502369474065508674,
    -8.87285693353062954433549289258,
    1.23605671757943030647266201528e1,
    6.43392746015763530355970484046e-1,
]
_B = np.zeros(12)
_B[[0, 5, 6, 7, 8, 9, 10, 11]] = [
    5.42937341165687622380535766363e-2,
    4.45031289275240888144113950566,
    1.89151789931450038304281599044,
    -5.8012039600105847814672114227,
    3.1116436695781989440891606237e-1,
    -1.52160949662516078556178806805e-1,
    2.01365400804030348374776537501e-1,
    4.47106157277725905176885569043e-2,
]

#: The stage abscissae c_s (fractions of the step) at which a step evaluates ``f``.
DOP853_NODES = _C


def dop853_step(f, t, y, h):
    """One 8th-order step of ``dy/dt = f(t, y)`` from ``t`` over ``h``.

    ``h`` is a scalar or an array of the leading dimensions of ``y`` (one step length per
    leading row; ``t`` then has the same shape); ``f`` receives ``t + c_s h``.
    """
    h_arr = np.asarray(h, dtype=np.float64)
    hb = h_arr.reshape(h_arr.shape + (1,) * (np.ndim(y) - h_arr.ndim)) if h_arr.ndim else h_arr
    k = [f(t, y)]
    for s in range(1, 12):
        dy = sum(_A[s, j] * k[j] for j in range(s) if _A[s, j] != 0.0)
        k.append(f(t + _C[s] * h_arr, y + hb * dy))
    return y + hb * sum(_B[j] * k[j] for j in range(12) if _B[j] != 0.0)


def dop853_nodes(f, y0: np.ndarray, h: float, k_min: int, k_max: int) -> np.ndarray:
    """States on the fixed grid ``t = k h`` for ``k_min <= k <= k_max`` (``k_min <= 0 <=
    k_max``), integrated forward and backward from ``y0`` at t = 0 with :func:`dop853_step`.

    Returns an array ``(k_max - k_min + 1,) + y0.shape``; row ``k - k_min`` is the state at
    ``k h``. ``f(t, y)`` is the derivative; ``h`` the step (s)."""
    nodes = np.empty((k_max - k_min + 1,) + np.shape(y0))
    nodes[-k_min] = y0
    y = y0
    for k in range(0, k_max):
        y = dop853_step(f, k * h, y, h)
        nodes[k + 1 - k_min] = y
    y = y0
    for k in range(0, k_min, -1):
        y = dop853_step(f, k * h, y, -h)
        nodes[k - 1 - k_min] = y
    return nodes
