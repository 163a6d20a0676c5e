"""Customer intelligence from Python: segments, RFM and lifecycle, the single customer view."""

import json

import pandas as pd
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


TINY = maitre.synthetic_storefront(seed=6, size="tiny")
TINY_ITEMS = maitre.synthetic_catalog(seed=6, size="tiny")
TINY_MODEL = maitre.ALS(factors=8, iterations=3).fit(TINY)
OFFERS = [
    {"id": "10-off", "value": 5.0},
    {"id": "free-delivery", "value": 2.0},
    {"id": "return-help", "kind": "service", "value": 1.0},
]


def _linked_customer(log):
    """A customer with a second, linked id."""
    for customer in TINY_MODEL.customer_ids():
        ids = log.identities(customer)
        if len(ids) > 1:
            return customer, [i for i in ids if i != customer][0]
    raise AssertionError("the tiny storefront has linked ids")


def test_the_view_shows_offers_and_the_next_best_action():
    nbo = maitre.NextBestOffer(OFFERS, dim=8, bandit={"seed": 1})
    who, alias = _linked_customer(TINY)
    vector = TINY_MODEL.user_factors[list(TINY_MODEL.customer_ids()).index(who)]
    now = TINY.summary()["last_timestamp"]
    for t, id in enumerate([who, alias, who]):
        d = nbo.decide(id, vector, now=now + t)
        if t == 0:
            nbo.reward(d.chosen[0].event_id, 1.0, now=now + t)
    view = maitre.customer_view(TINY, alias, TINY_ITEMS, model=TINY_MODEL, offers=nbo)
    assert view["offers"]["shown"] == 3, "showings on both ids, in one view"
    assert (view["offers"]["accepted"], view["offers"]["pending"]) == (1, 2)
    assert view["offers"]["recent"][0]["outcome"] == "pending"
    action = view["next_best_action"]
    assert action["offer"] in {"10-off", "free-delivery", "return-help"} and action["why"]
    assert nbo.activity([who, alias])["shown"] == 3, "the view recorded nothing"
    json.dumps(view)
    # After a return, the service action comes first, with the rule named.
    log = maitre.EventLog()
    log.extend({
        "customer_id": ["ann", "ann"],
        "item_id": ["sku-1", "sku-1"],
        "kind": ["purchase", "return"],
        "timestamp": [now - 86_400, now],
    })
    context_free = maitre.NextBestOffer(OFFERS, dim=0)
    returned = maitre.customer_view(log, "ann", offers=context_free)["next_best_action"]
    assert returned["offer"] == "return-help"
    assert "no-sales-after-return-or-complaint" in returned["fired"]
    assert maitre.customer_view(log, "ann")["offers"] is None
    with pytest.raises(maitre.InvalidParamError, match="context"):
        maitre.customer_view(log, "ann", offers=nbo)  # dim 8 and no vectors
    with pytest.raises(maitre.InvalidParamError, match="model"):
        maitre.customer_view(log, "ann", model=TINY_MODEL, offers=nbo)  # fitted on another log


def test_forget_removes_the_customer_from_log_recommender_and_offers():
    log = maitre.EventLog.from_bytes(TINY.to_bytes())
    rec = maitre.Recommender.build(log, TINY_MODEL)
    nbo = maitre.NextBestOffer(OFFERS, dim=8)
    who, alias = _linked_customer(log)
    vector = TINY_MODEL.user_factors[list(TINY_MODEL.customer_ids()).index(who)]
    d = nbo.decide(alias, vector, now=100)
    nbo.reward(d.chosen[0].event_id, 1.0, now=101)
    nbo.decide(who, vector, now=102)

    def saved():
        return {
            "log": log.to_bytes(),
            "recommender": rec.to_bytes(),
            "offers": nbo.to_bytes(),
            "decision log": nbo.log_jsonl().encode(),
        }

    for what, data in saved().items():
        assert who.encode() in data, f"{what} holds them before"
    assert vector.tobytes() in saved()["recommender"]
    gone = log.forget(alias)
    assert gone["customer"] == who and {who, alias} <= set(gone["identities"])
    assert gone["events"] > 0 and gone["links"] >= 1
    assert rec.forget(alias)["identities"] == gone["identities"]
    assert nbo.forget(gone["identities"]) == {"decisions": 2, "unlearned": 1, "pending": 1, "contacts": 2}
    for what, data in saved().items():
        for id in gone["identities"]:
            assert id.encode() not in data, f"{id} still in the {what}"
    assert vector.tobytes() not in saved()["recommender"]
    with pytest.raises(maitre.UnknownIdError):
        maitre.customer_view(log, who)
    with pytest.raises(maitre.UnknownIdError):
        rec.forget(who)
    with pytest.raises(maitre.UnknownIdError):
        log.forget(who)


def test_targeting_and_advocates_are_frames_with_why():
    top = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=5)
    assert list(top.columns) == ["customer", "score", "reason"] and len(top) == 5
    assert list(top["score"]) == sorted(top["score"], reverse=True)
    assert all(r["reason"] in {"because", "taste"} for r in top["reason"])
    skip = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=5, exclude=[top["customer"][0]])
    assert top["customer"][0] not in set(skip["customer"])
    by_category = maitre.target(TINY, TINY_MODEL, category=TINY_ITEMS["category"][0], items=TINY_ITEMS, k=3)
    assert len(by_category) == 3
    with pytest.raises(maitre.InvalidParamError, match="exactly one"):
        maitre.target(TINY, TINY_MODEL, item="sku-000003", category="x")
    with pytest.raises(maitre.InvalidParamError, match="model"):
        maitre.target(LOG, TINY_MODEL, item="sku-000003")
    best = maitre.advocates(TINY, TINY_ITEMS, n=4)
    assert len(best) == 4 and list(best["advocacy"]) == sorted(best["advocacy"], reverse=True)
    assert all(isinstance(w, str) and w for w in best["why"])
    seg = maitre.segments(TINY, TINY_ITEMS, k=3, model=TINY_MODEL)
    assert seg.segments["size"].sum() == len(TINY_MODEL.customer_ids())


def test_targeting_within_segments_needs_the_segmentation():
    seg = maitre.segments(TINY, TINY_ITEMS, k=3, seed=1)
    label = seg.customers.set_index("customer")["segment"]
    everyone = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=len(label))
    for chosen in ([1], [0, 2]):
        for given in (seg, seg.customers):
            got = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=10, segments=chosen, segmentation=given)
            # The best 10 of the chosen segments, in the unfiltered order.
            want = everyone[everyone["customer"].map(label).isin(chosen)].head(10)
            assert got["customer"].tolist() == want["customer"].tolist()
    with pytest.raises(maitre.InvalidParamError, match="segmentation"):
        maitre.target(TINY, TINY_MODEL, item="sku-000003", segments=[1])
    with pytest.raises(maitre.InvalidParamError, match="segmentation"):
        maitre.target(TINY, TINY_MODEL, item="sku-000003", segments=[1], segmentation=[1, 2])
    other = pd.DataFrame({"customer": ["nobody"], "segment": [0]})
    with pytest.raises(maitre.UnknownIdError):
        maitre.target(TINY, TINY_MODEL, item="sku-000003", segments=[1], segmentation=other)
    with pytest.raises(maitre.InvalidParamError, match="segmentation"):
        maitre.target(TINY, TINY_MODEL, item="sku-000003", segments=[1],
                      segmentation=seg.customers.assign(segment=seg.customers["segment"].astype(str)))
    # A customer the segmentation does not list (say, new since) is in none
    # of its segments, as on Spark (a join on the labels).
    best = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=10, segments=[0, 1, 2], segmentation=seg)
    unlisted = seg.customers[seg.customers["customer"] != best["customer"][0]]
    got = maitre.target(TINY, TINY_MODEL, item="sku-000003", k=10, segments=[0, 1, 2], segmentation=unlisted)
    assert best["customer"][0] not in got["customer"].tolist()
    assert got["customer"].tolist()[:9] == best["customer"].tolist()[1:]
