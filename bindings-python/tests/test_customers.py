"""Customer intelligence from Python: segments, RFM and lifecycle, the single customer view."""

import json

import pytest

import maitre

LOG = maitre.synthetic_storefront(seed=21, size="small")
ITEMS = maitre.synthetic_catalog(seed=21, size="small")


def test_segments_are_frames_described_in_words_and_deterministic():
    seg = maitre.segments(LOG, ITEMS, k=8, fit_min_days=15, seed=1)
    assert list(seg.customers.columns) == ["customer", "segment"]
    assert len(seg.customers) == 3000
    assert len(seg.segments) == 8
    assert seg.segments["size"].sum() == 3000
    for row in seg.segments.itertuples():
        assert row.categories[0][0] in row.description
        assert row.value > 0
    again = maitre.segments(LOG, ITEMS, k=8, fit_min_days=15, seed=1, threads=1)
    assert again.customers.equals(seg.customers)


def test_segments_choose_k_by_silhouette_when_not_given():
    small = maitre.synthetic_storefront(seed=1, size="tiny")
    seg = maitre.segments(small, maitre.synthetic_catalog(seed=1, size="tiny"))
    ks = [k for k, _ in seg.silhouettes]
    assert ks == list(range(2, 11))
    best = max(seg.silhouettes, key=lambda x: x[1])[0]
    assert len(seg.segments) == best


def test_rfm_table_has_scores_groups_and_stages():
    table = maitre.rfm(LOG, ITEMS)
    assert len(table) == 3000
    assert {"customer", "r", "f", "m", "group", "stage", "loyalty"} <= set(table.columns)
    buyers = table[table["frequency"] > 0]
    assert buyers["r"].between(1, 5).all() and buyers["m"].between(1, 5).all()
    assert (table.loc[table["frequency"] == 0, "group"] == "prospect").all()
    assert set(table["stage"]) <= {"new", "active", "at_risk", "lapsed", "prospect"}
    assert table["loyalty"].between(0, 1).all()


def test_customer_view_is_one_json_ready_dict_from_any_id():
    view = maitre.customer_view(LOG, "c0000001", ITEMS, recent=10)
    assert view["customer"] == "c0000001"
    assert len(view["timeline"]) <= 10
    times = [e["timestamp"] for e in view["timeline"]]
    assert times == sorted(times, reverse=True)
    json.dumps(view)
    linked = next(v for v in (maitre.customer_view(LOG, c, ITEMS) for c in ("c0000002", "c0000003", "c0000004",
                  "c0000005", "c0000006", "c0000007", "c0000008", "c0000009")) if len(v["identities"]) > 1)
    alias = next(i for i in linked["identities"] if i != linked["customer"])
    assert maitre.customer_view(LOG, alias, ITEMS) == linked


def test_bad_input_raises_typed_errors():
    with pytest.raises(maitre.UnknownIdError):
        maitre.customer_view(LOG, "nobody")
    for k in (0, 3001):
        with pytest.raises(maitre.InvalidParamError):
            maitre.segments(LOG, ITEMS, k=k)
    with pytest.raises(maitre.NotEnoughDataError):
        maitre.rfm(maitre.EventLog())
    with pytest.raises(maitre.InvalidParamError):
        maitre.customer_view(LOG, "c0000001", recent=0)
