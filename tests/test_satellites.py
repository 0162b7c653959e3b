from satnav.satellites import prn_of, satellite_id, satellite_index, system_of


def test_satellite_index_roundtrip():
    for sid, idx in [("G05", 5), ("R21", 121), ("E11", 211), ("C59", 359), ("J02", 402), ("I03", 503), ("S28", 628)]:
        assert satellite_index(sid) == idx
        assert satellite_id(idx) == sid
        assert system_of(idx) == sid[0]
        assert prn_of(idx) == int(sid[1:])
    assert satellite_index("G 5") == 5
    assert satellite_index(" 7") == 7
