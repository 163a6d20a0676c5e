"""Cold start from Python: the catalogues of the built-in data sets, and the
held-out-items evaluation as a DataFrame, with bad input raising maitre
exceptions."""

import numpy as np
import pandas as pd
import pytest

import maitre


@pytest.fixture(scope="module")
def small():
    return maitre.synthetic_storefront(seed=5, size="small"), maitre.synthetic_catalog(seed=5, size="small")


@pytest.fixture(scope="module")
def frame(small):
    log, items = small
    als = maitre.ALS(factors=16, iterations=6, seed=1)
    return maitre.evaluate_cold_start(log, items, als, positive_kinds=["purchase"], draws=2)


def test_synthetic_catalog_describes_the_logs_items(small):
    log, items = small
    assert list(items.columns) == [
        "id", "kind", "category", "brand", "price_band", "price", "tags", "in_stock",
    ]
    assert items["id"].is_unique
    assert len(items) == log.summary()["items"]
    products = items[items["kind"] == "product"]
    assert products["category"].notna().all() and products["price"].gt(0).all()
    assert set(items["kind"]) <= {"product", "content", "offer", "service"}
    assert items["tags"].map(lambda t: isinstance(t, list)).all()
    # Deterministic: the same seed gives the same catalogue.
    pd.testing.assert_frame_equal(items, maitre.synthetic_catalog(seed=5, size="small"))


def test_new_items_are_placed_far_better_than_popularity(frame):
    recall = frame.set_index("model")["recall@20"]
    assert {"popularity", "attribute-popularity", "als+attributes"} <= set(recall.index)
    # Popularity has never seen the new items: it is chance on the rail.
    chance = 20 / frame.attrs["cold_items"]
    assert recall["popularity"] < 1.5 * chance
    assert recall["als+attributes"] > 2 * recall["popularity"]
    assert recall["als+attributes"] > recall["attribute-popularity"]
    assert frame["recall@20 sd"].notna().all()
    assert frame.attrs["users"] > 0 and len(frame.attrs["draws"]) == 2


def test_evaluation_is_deterministic(small, frame):
    log, items = small
    again = maitre.evaluate_cold_start(
        log, items, maitre.ALS(factors=16, iterations=6, seed=1), positive_kinds=["purchase"], draws=2
    )
    pd.testing.assert_frame_equal(frame, again)


def test_true_segments_add_the_reference():
    log = maitre.synthetic_storefront(seed=3, size="tiny")
    items = maitre.synthetic_catalog(seed=3, size="tiny")
    args = dict(als=maitre.ALS(factors=8, iterations=3), positive_kinds=["purchase"], draws=1)
    segments = {f"c{c:07d}": c % 4 for c in range(300)}
    frame = maitre.evaluate_cold_start(log, items, segments=segments, **args)
    assert frame["model"].iloc[-1] == "segment × attributes (true segments)"
    assert frame.attrs["chance"] == pytest.approx(min(1.0, 20 / frame.attrs["cold_items"]))
    with pytest.raises(maitre.UnknownIdError):
        maitre.evaluate_cold_start(log, items, segments={"no-such-customer": 1}, **args)


def test_bad_input_raises(small):
    log, items = small
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.evaluate_cold_start(log, items, fraction=1.0)
    assert info.value.name == "fraction"
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.evaluate_cold_start(log, items, draws=0)
    assert info.value.name == "draws"
    with pytest.raises(maitre.MissingColumnError):
        maitre.evaluate_cold_start(log, items.drop(columns=["id"]))
    bad = items.copy()
    bad.loc[3, "kind"] = "gadget"
    with pytest.raises(maitre.BadRecordError):
        maitre.evaluate_cold_start(log, bad)
    with pytest.raises(maitre.UnknownIdError):
        maitre.evaluate_cold_start(log, items, positive_kinds=["teleport"])
    with pytest.raises(maitre.InvalidParamError):
        maitre.synthetic_catalog(size="enormous")


def test_movielens_catalogue_carries_genres_and_years():
    # No skip: without the data (MAITRE_ML100K or ../shared/data/ml-100k) this fails.
    items = maitre.load_movielens_catalog()
    assert len(items) == 1682
    toy_story = items.set_index("id").loc["1"]
    assert toy_story["category"] == "Animation"
    assert {"Animation", "Comedy", "1990s", "1995"} <= set(toy_story["tags"])


def test_new_arrivals_calibrated_and_given_a_slot():
    """Catalogue items with no events are new arrivals: ``calibrate_new_items``
    rescales their attribute-placed vectors, ``new_arrival_slot`` gives the
    best of them the last place with reason new_arrival."""
    log = maitre.synthetic_storefront(seed=2, size="tiny")
    items = maitre.synthetic_catalog(seed=2, size="tiny")
    new = items.head(3).assign(id=["new-1", "new-2", "new-3"])
    catalogue = pd.concat([items, new], ignore_index=True)
    model = maitre.ALS(factors=8, iterations=3).fit(log)
    plain = maitre.Recommender.build(log, model, items=catalogue)
    strong = maitre.Recommender.build(log, model, items=catalogue, calibrate_new_items=3.0)
    customer = str(model.customer_ids()[0])
    only = {"only_items": ["new-1", "new-2", "new-3"], "exclude_seen": False}
    _, before = plain.recommend(customer, k=3, filters=only)
    _, after = strong.recommend(customer, k=3, filters=only)
    assert not np.allclose(before, after)  # the calibration moved the new items' scores

    slotted = 0
    for customer in model.customer_ids()[:20]:
        customer = str(customer)
        without = strong.recommend(customer, k=5, as_frame=True)
        frame = strong.recommend(customer, k=5, new_arrival_slot=True, as_frame=True)
        assert len(frame) == 5 and "new_arrival" not in set(without["reason"])
        if without["item"].str.startswith("new-").any():
            assert list(frame["item"]) == list(without["item"])  # one is there already
        else:
            slotted += 1
            assert frame["reason"].iloc[-1] == "new_arrival" and frame["item"].iloc[-1].startswith("new-")
            assert list(frame["item"].iloc[:4]) == list(without["item"].iloc[:4])
        ids, _ = strong.recommend_batch([customer], k=5, new_arrival_slot=True)
        assert list(ids[0]) == list(frame["item"])
    assert slotted > 0

    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(maitre.InvalidParamError, match="calibrate_new_items"):
            maitre.Recommender.build(log, model, items=catalogue, calibrate_new_items=bad)
    with pytest.raises(maitre.InvalidParamError, match="calibrate_new_items"):
        maitre.Recommender.build(log, model, items=catalogue, attributes=False, calibrate_new_items=1.0)


def test_full_catalogue_chooses_the_calibration_strength(small):
    """``full_catalogue=True`` ranks held-out items inside the whole catalogue
    and chooses, on each draw's validation split, the calibration strength a
    ``Recommender`` can then be built with."""
    log, items = small
    als = maitre.ALS(factors=16, iterations=6, seed=1)
    frame = maitre.evaluate_cold_start(log, items, als, positive_kinds=["purchase"], draws=3,
                                       full_catalogue=True)
    assert any(m.startswith("full:") for m in frame["model"])
    chosen = [d["calibration_strength"] for d in frame.attrs["draws"]]
    assert len(chosen) == 3 and all(s >= 0 for s in chosen)
    strength = frame.attrs["calibration_strength"]
    assert strength is None or (strength > 0 and strength in chosen)
    if strength is not None:
        assert sorted(chosen)[1] == strength  # the median draw
    plain = maitre.evaluate_cold_start(log, items, als, positive_kinds=["purchase"], draws=3)
    assert "calibration_strength" not in plain.attrs
    assert not any(m.startswith("full:") for m in plain["model"])
    # The strength is what Recommender.build takes.
    new = items.head(2).assign(id=["new-1", "new-2"])
    model = maitre.ALS(factors=8, iterations=3).fit(log)
    rec = maitre.Recommender.build(log, model, items=pd.concat([items, new], ignore_index=True),
                                   calibrate_new_items=strength)
    assert rec.summary()["items"] == len(items) + 2
