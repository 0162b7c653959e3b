import numpy as np

from satnav.satellites import (
    MAX_SATELLITES,
    SATELLITES_PER_SYSTEM,
    SYSTEM_NAMES,
    SYSTEMS,
    prn_of,
    satellite_id,
    satellite_ids,
    satellite_index,
    satellite_index_of,
    system_number_of,
    system_of,
)


def test_satellite_index_roundtrip():
    for sid, idx in [("G05", 5), ("R21", 121), ("E11", 211), ("C59", 359), ("J02", 402), ("I03", 503), ("S28", 628)]:
        assert satellite_index(sid) == idx
        assert satellite_id(idx) == sid
        assert system_of(idx) == sid[0]
        assert prn_of(idx) == int(sid[1:])
    assert satellite_index("G 5") == 5
    assert satellite_index(" 7") == 7


def test_system_number_and_index_of_are_inverse():
    assert SYSTEMS == "GRECJIS" == "".join(SYSTEM_NAMES)
    assert MAX_SATELLITES == SATELLITES_PER_SYSTEM * len(SYSTEMS) == 700
    sats = np.array([5, 121, 211, 359, 402, 503, 628], dtype=np.int16)
    numbers = system_number_of(sats)
    assert numbers.dtype == np.int16
    np.testing.assert_array_equal(numbers, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(satellite_index_of(numbers, prn_of(sats)), sats)
    assert system_number_of(359) == 3 and type(system_number_of(np.int16(359))) is int
    assert satellite_index_of(SYSTEMS.index("C"), 59) == satellite_index("C59")
    np.testing.assert_array_equal(system_of(sats), list(SYSTEMS))
    assert system_of(np.int64(628)) == "S"
    assert system_of(np.zeros(0, np.int16)).shape == (0,)
    # every index below MAX_SATELLITES with a satellite number names a satellite
    every = np.arange(MAX_SATELLITES)
    ids = satellite_ids(every)
    assert all(i == "" for i in ids[prn_of(every) == 0])
    assert all(satellite_index(i) == n for n, i in zip(every, ids) if i)
