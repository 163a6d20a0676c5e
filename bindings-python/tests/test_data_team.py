"""What a data team reached for and did not find (issue 14, item 6): event kinds
and weights from Python, identity read-back, which factor row is which id, and
NaN values for kinds that carry none."""

import pickle

import numpy as np
import pandas as pd
import pytest

import maitre

T0 = 1_714_564_800


def frame(kinds, values=None):
    n = len(kinds)
    df = pd.DataFrame({
        "customer_id": [f"c{i % 3}" for i in range(n)],
        "item_id": [f"sku-{i % 4}" for i in range(n)],
        "kind": kinds,
        "timestamp": [T0 + 60 * i for i in range(n)],
    })
    if values is not None:
        df["value"] = values
    return df


def test_kinds_and_weights_from_python_shape_the_matrix():
    log = maitre.EventLog({"view": 0.5, "wishlist": 2, "stars": 1}, scaled=["stars"])
    assert log.kinds() == {"view": 0.5, "wishlist": 2.0, "stars": 1.0}
    assert log.scaled_kinds() == ["stars"]
    log.extend(frame(["view", "wishlist", "stars"], [np.nan, np.nan, 4.0]))
    assert len(log) == 3
    # A default kind is not accepted by a log that did not name it.
    with pytest.raises(maitre.BadRecordError) as err:
        log.extend(frame(["purchase"]))
    assert err.value.field == "kind"
    assert len(log) == 3
    # Pickling keeps the registry.
    copy = pickle.loads(pickle.dumps(log))
    assert copy.kinds() == log.kinds() and copy.scaled_kinds() == ["stars"]


def test_from_pandas_takes_kinds():
    log = maitre.EventLog.from_pandas(frame(["like", "like"]), kinds={"like": 3})
    assert len(log) == 2 and log.kinds() == {"like": 3.0}


@pytest.mark.parametrize("kinds, scaled, name", [
    ({}, None, "kinds"),
    ({"view": float("nan")}, None, 'weight of "view"'),
    ({"view": "heavy"}, None, 'weight of "view"'),
    ({"view": 1}, ["rating"], "scaled"),
    (None, ["rating"], "scaled"),
    (["view"], None, "kinds"),
])
def test_bad_kinds_are_named(kinds, scaled, name):
    with pytest.raises(maitre.InvalidParamError) as err:
        maitre.EventLog(kinds, scaled=scaled)
    assert name in str(err.value)


def test_nan_value_is_no_value_for_kinds_that_ignore_it():
    log = maitre.EventLog.from_pandas(frame(["view", "purchase", "rating"], [np.nan, None, 4.0]))
    assert len(log) == 3
    # A rating's weight is its value: NaN there is a bad row, and nothing is kept.
    with pytest.raises(maitre.BadRecordError) as err:
        log.extend(frame(["view", "rating"], [1.0, np.nan]))
    assert (err.value.row, err.value.field) == (1, "value")
    assert len(log) == 3


def test_identity_read_back():
    log = maitre.EventLog()
    log.extend(frame(["view"] * 3))
    log.link("anon-7", "c1", T0)
    log.link("app-3", "c1", T0 + 1)
    assert log.resolve("anon-7") == "c1"
    assert log.resolve("c1") == "c1"
    assert log.resolve("nobody") is None
    assert sorted(log.identities("app-3")) == ["anon-7", "app-3", "c1"]
    assert log.identities("c0") == ["c0"]
    assert log.identities("nobody") is None


def test_factor_rows_name_their_ids_and_pickle_keeps_them():
    log = maitre.EventLog()
    log.extend(frame(["purchase"] * 12))
    log.link("anon-7", "c1", T0)
    log.extend({"customer_id": ["anon-7"], "item_id": ["sku-9"], "kind": ["view"],
                "timestamp": [T0 + 5]})
    model = maitre.ALS(factors=4, iterations=2).fit(log)
    customers, items = model.customer_ids(), model.item_ids()
    assert sorted(customers) == ["c0", "c1", "c2"]  # anon-7 is c1
    assert items == ["sku-0", "sku-1", "sku-2", "sku-3", "sku-9"]
    assert model.user_factors.shape[0] == len(customers)
    assert model.item_factors.shape[0] == len(items)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.customer_ids() == customers and copy.item_ids() == items
    np.testing.assert_array_equal(copy.user_factors, model.user_factors)
    # Bare bytes hold factors only.
    assert maitre.AlsModel.from_bytes(model.to_bytes()).customer_ids() is None
    # Ids that do not match the rows are refused.
    with pytest.raises(maitre.LengthMismatchError):
        maitre.AlsModel._from_parts(model.to_bytes(), (customers[:1], items))


def test_factorized_columns_give_the_same_log_and_name_the_first_bad_row():
    n = 200_000  # several conversion chunks
    rng = np.random.default_rng(3)
    plain = pd.DataFrame({
        "customer_id": rng.integers(0, 5000, n).astype(str),
        "item_id": rng.integers(0, 800, n),
        "kind": rng.choice(["view", "purchase"], n),
        "timestamp": T0 + rng.integers(0, 10**6, n),
        "channel": rng.choice(["web", "app", None], n),
    })
    categorical = plain.astype({"customer_id": "category", "kind": "category", "channel": "category"})
    a = maitre.EventLog.from_pandas(plain)
    b = maitre.EventLog.from_pandas(categorical)
    assert a.to_bytes() == b.to_bytes()
    assert a.summary()["context"] == b.summary()["context"]
    # A float id that is not a whole number: the error names the first row that
    # holds it, counted across chunks.
    floats = plain.assign(item_id=plain["item_id"].astype(float))
    floats.loc[150_001, "item_id"] = 2.5
    floats.loc[170_000, "item_id"] = 2.5
    with pytest.raises(maitre.BadRecordError) as err:
        maitre.EventLog.from_pandas(floats)
    assert (err.value.row, err.value.field) == (150_001, "item_id")


@pytest.fixture(scope="module")
def rec():
    log = maitre.synthetic_storefront(seed=1, size="tiny")
    return maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))


def test_candidates_filter_and_batch(rec):
    ids, _ = rec.recommend(customer="c0000001", k=20)
    candidates = list(ids[-5:]) + ["no-such-item"]
    only, scores = rec.recommend(customer="c0000001", k=10, filters={"only_items": candidates})
    assert sorted(only) == sorted(ids[-5:]) and list(scores) == sorted(scores, reverse=True)
    batch, _ = rec.recommend_batch(["c0000001", "c0000002"], k=3, filters={"only_items": candidates})
    assert all(i in candidates for i in batch.ravel() if i is not None)


def test_serve_settings_from_python(rec):
    before = rec.settings()
    assert set(before) == {"context_weight", "session_weight", "popular_per_context",
                           "history_half_life"}
    assert before["history_half_life"] is None
    rec.set_settings(context_weight=0.4)
    assert rec.settings()["context_weight"] == pytest.approx(0.4)
    assert rec.settings()["session_weight"] == before["session_weight"]
    for bad in ({"context_weigth": 1.0}, {"session_weight": 2.0}, {"context_weight": "high"},
                {"context_weight": float("nan")}, {"history_half_life": 0},
                {"history_half_life": -60.0}, {"history_half_life": "an hour"}):
        with pytest.raises(maitre.InvalidParamError):
            rec.set_settings(**bad)
        assert rec.settings()["context_weight"] == pytest.approx(0.4)
    # Saved with the recommender.
    copy = maitre.Recommender.from_bytes(rec.to_bytes())
    assert copy.settings()["context_weight"] == pytest.approx(0.4)
    # The history half-life: what a customer did last counts most, so their
    # list changes; it is saved (and pickled) with the recommender.
    plain, _ = rec.recommend(customer="c0000001", k=10)
    rec.set_settings(history_half_life=300)
    assert rec.settings()["history_half_life"] == 300.0
    recent, _ = rec.recommend(customer="c0000001", k=10)
    assert list(recent) != list(plain)
    assert pickle.loads(pickle.dumps(rec)).settings()["history_half_life"] == 300.0
    rec.set_settings(**before)


def test_recommend_batch_takes_a_context_per_row(rec):
    customers = ["c0000001", "c0000002", "c0000003"]
    rows = [{"device": "mobile"}, {"device": "desktop", "channel": "app"}, {}]
    ids, scores = rec.recommend_batch(customers, k=4, context=rows)
    plain, plain_scores = rec.recommend_batch(customers, k=4)
    assert not np.allclose(scores[0], plain_scores[0])  # the context moved the row
    for i, (customer, context) in enumerate(zip(customers, rows)):
        one, one_scores = rec.recommend(customer=customer, k=4, context=context)
        assert list(ids[i]) == list(one)
        np.testing.assert_allclose(scores[i], one_scores, rtol=1e-6)
    # The same from a frame of context columns (a missing value is no context).
    frame = pd.DataFrame({"device": ["mobile", "desktop", None], "channel": [None, "app", None]})
    framed, _ = rec.recommend_batch(customers, k=4, context=frame)
    assert (framed == ids).all()
    # One context for everyone still works.
    shared, _ = rec.recommend_batch(customers, k=4, context={"device": "mobile"})
    assert list(shared[0]) == list(ids[0])
    with pytest.raises(maitre.LengthMismatchError):
        rec.recommend_batch(customers, k=4, context=rows[:2])
