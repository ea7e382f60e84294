"""A session's accepted bids (auction/domain/bidding/accepted.py): an immutable map that each
bid extends without copying the earlier ones, and that behaves as the dict it replaced."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from auction.domain.bidding.accepted import FOLD, Accepted


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 300)), max_size=4 * FOLD))
def test_it_holds_what_a_dict_would_and_no_earlier_map_changes(pairs: list[tuple[int, int]]) -> None:
    maps: list[Accepted[int, int]] = [Accepted()]
    dicts: list[dict[int, int]] = [{}]
    for key, value in pairs:
        maps.append(maps[-1].set(key, value))
        dicts.append({**dicts[-1], key: value})
    for m, d in zip(maps, dicts, strict=True):  # every earlier state is as it was
        assert m == d and d == dict(m.items())
        assert len(m) == len(d) and sorted(m) == sorted(d)
        assert all(m[k] == v and k in m and m.get(k) == v for k, v in d.items())
        assert -1 not in m and m.get(-1) is None


def test_maps_with_the_same_bids_are_equal_however_they_were_built() -> None:
    grown: Accepted[int, str] = Accepted()
    for i in range(FOLD * 2 + 3):
        grown = grown.set(i, str(i))
    assert grown == Accepted({i: str(i) for i in range(FOLD * 2 + 3)})
    assert grown != Accepted({0: "0"})
