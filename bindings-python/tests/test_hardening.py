"""Hostile input, class by class (issue 12): strict numbers, ids that pandas
upcast, undecodable bytes, pickling every model object, and sharing a
Recommender between threads."""

import copy
import pickle
import threading

import numpy as np
import pandas as pd
import pytest

import maitre


@pytest.fixture(scope="module")
def shop():
    return maitre.synthetic_storefront(seed=2, size="tiny")


@pytest.fixture(scope="module")
def model(shop):
    return maitre.ALS(factors=8, iterations=3, seed=1).fit(shop)


@pytest.fixture
def rec(shop, model):
    return maitre.Recommender.build(shop, model)


# -- pickle and deepcopy: every object a user holds --------------------------------


def copies(obj):
    return [pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj), copy.copy(obj)]


def test_event_log_copies_give_equal_results(shop):
    shop = maitre.EventLog.from_bytes(shop.to_bytes())
    shop.link("anon-x", "c0000001", 1714564800)
    fitted = maitre.ALS(factors=4, iterations=2).fit(shop).item_factors
    for log in copies(shop):
        assert type(log) is maitre.EventLog
        assert log.summary() == shop.summary()
        np.testing.assert_array_equal(maitre.ALS(factors=4, iterations=2).fit(log).item_factors, fitted)
    empty = pickle.loads(pickle.dumps(maitre.EventLog()))
    assert len(empty) == 0
    with pytest.raises(maitre.ArtifactError):
        maitre.EventLog.from_bytes(b"\x89MTR")


def test_als_and_model_copies_give_equal_results(shop, model):
    als = maitre.ALS(factors=8, iterations=3, confidence="log", epsilon=0.5, threads=2, seed=1)
    for c in copies(als):
        assert type(c) is maitre.ALS
        assert c.params() == als.params()
    for m in copies(model):
        np.testing.assert_array_equal(m.item_factors, model.item_factors)
        np.testing.assert_array_equal(m.user_factors, model.user_factors)
        assert m.params() == model.params()
        np.testing.assert_array_equal(m.fold_in([0, 3], [1.0, 2.0]), model.fold_in([0, 3], [1.0, 2.0]))
        a = maitre.Recommender.build(shop, m).recommend(customer="c0000001", k=5)
        b = maitre.Recommender.build(shop, model).recommend(customer="c0000001", k=5)
        assert list(a[0]) == list(b[0])


def test_a_storefront_recommender_pickles(rec):
    storefront = maitre.Recommender.from_bytes(rec.to_bytes("storefront"))
    assert not storefront.has_customers
    session = [("sku-000003", "view")]
    want = storefront.recommend(session=session, k=10)
    for c in copies(storefront):
        assert not c.has_customers
        got = c.recommend(session=session, k=10)
        assert list(got[0]) == list(want[0])
        np.testing.assert_array_equal(got[1], want[1])


# -- strict numbers ----------------------------------------------------------------


@pytest.mark.parametrize("k", [1.5, 2.0, True, "3", None, -1, 2**64, float("nan")])
def test_k_must_be_an_integer(rec, k):
    for call in (
        lambda: rec.recommend(customer="c0000001", k=k),
        lambda: rec.recommend_batch(["c0000001"], k=k),
        lambda: rec.similar_items("sku-000003", k=k),
        lambda: rec.customers_for_item("sku-000003", k=k),
    ):
        with pytest.raises(maitre.InvalidParamError) as info:
            call()
        assert info.value.name == "k"


def test_numpy_integers_are_integers(rec):
    for k in (np.int64(3), np.uint8(3), np.int32(3)):
        assert len(rec.recommend(customer="c0000001", k=k)[0]) == 3
        assert rec.recommend_batch(["c0000001"], k=k)[0].shape == (1, 3)
        assert len(rec.similar_items("sku-000003", k=k)[0]) == 3
    assert maitre.ALS(factors=np.int64(4), threads=np.int8(1)).params()["factors"] == 4


def test_a_huge_k_is_the_whole_catalogue(rec):
    items = rec.summary()["items"]
    for k in (10**12, 2**63, 2**64 - 1):
        ids, scores = rec.recommend_batch(["c0000001", "c0000002"], k=k)
        assert ids.shape == (2, items)
        assert len(rec.recommend(customer="c0000001", k=k)[0]) <= items
        assert len(rec.similar_items("sku-000003", k=k)[0]) <= items
    with pytest.raises(maitre.InvalidParamError, match="split the batch"):
        rec.recommend_batch(["c0000001"] * (2**24 // items + 1), k=items)


@pytest.mark.parametrize("threads", [0, 1025, 10**6, 2**64, -1, 1.5, True, "4"])
def test_threads_are_capped_at_construction(threads):
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.ALS(threads=threads)
    assert info.value.name == "threads"
    assert maitre.ALS(threads=1024).params()["threads"] == 1024


@pytest.mark.parametrize("draws", [0, 1001, 10**9, 1.5, -1])
def test_cold_start_draws_are_capped(shop, draws):
    items = maitre.synthetic_catalog(seed=2, size="tiny")
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.evaluate_cold_start(shop, items, draws=draws)
    assert info.value.name == "draws"


@pytest.mark.parametrize("size", [0, 1_000_001, 50_000_000, 10**12, -1, 1.5, "huge"])
def test_storefront_size_is_capped(size):
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.synthetic_storefront(size=size)
    assert info.value.name == "size"


# -- ids: floats pandas upcast, bytes, short rows ------------------------------------


def test_integral_float_ids_are_the_integer_ids():
    ints = pd.DataFrame({"customer_id": [101, 102], "item_id": [7, 8], "kind": ["view"] * 2, "timestamp": [1, 2]})
    upcast = ints.astype({"customer_id": "float64", "item_id": "float64"})
    mixed = ints.astype({"customer_id": object})
    mixed.loc[0, "customer_id"] = 101.0
    for frame in (ints, upcast, mixed):
        log = maitre.EventLog.from_pandas(frame)
        assert log.summary()["customers"] == 2
    log = maitre.EventLog.from_pandas(ints)
    log.extend(upcast)
    log.extend({"customer_id": ["101"], "item_id": ["7"], "kind": ["view"], "timestamp": [3]})
    assert (log.summary()["customers"], log.summary()["items"]) == (2, 2)
    # NaN is a missing id (the row is bad); a fraction is not an id.
    with pytest.raises(maitre.BadRecordError) as info:
        maitre.EventLog.from_pandas(upcast.assign(customer_id=[101.0, np.nan]))
    assert (info.value.row, info.value.field, info.value.problem) == (1, "customer_id", "empty")
    for bad in (101.5, 2.0**60, np.inf):
        with pytest.raises(maitre.BadRecordError) as info:
            maitre.EventLog.from_pandas(upcast.assign(item_id=[7.0, bad]))
        assert (info.value.row, info.value.field, info.value.problem) == (1, "item_id", "malformed")


def test_undecodable_bytes_name_the_row_and_column():
    for column in ([b"c1", b"\xff\xfe"], np.array([b"c1", b"\xff\xfe"])):
        frame = {"customer_id": column, "item_id": ["a", "b"], "kind": ["view"] * 2, "timestamp": [1, 2]}
        with pytest.raises(maitre.BadRecordError) as info:
            maitre.EventLog.from_pandas(frame)
        assert (info.value.row, info.value.field, info.value.problem) == (1, "customer_id", "malformed")
    ok = {"customer_id": [b"c1", "c\u00e9".encode()], "item_id": ["a", "b"], "kind": ["view"] * 2, "timestamp": [1, 2]}
    assert maitre.EventLog.from_pandas(ok).summary()["customers"] == 2


# -- ingestion in chunks -------------------------------------------------------------


def test_a_frame_is_ingested_in_chunks_all_or_nothing(monkeypatch):
    from maitre import _frames

    monkeypatch.setattr(_frames, "CHUNK_ROWS", 7)
    n = 50
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(n)],
            "item_id": [f"sku-{i % 13}" for i in range(n)],
            "kind": ["view"] * n,
            "timestamp": pd.to_datetime(np.arange(n) + 1_714_564_800, unit="s"),
            "channel": ["web", "app"] * (n // 2),
        }
    )
    whole = maitre.EventLog.from_pandas(frame)
    assert len(whole) == n and whole.summary()["context"]["channel"] == {"web": 25, "app": 25}
    log = maitre.EventLog.from_pandas(frame.iloc[:10])
    before = log.summary()
    for bad, field, problem in (("", "item_id", "empty"), (b"\xff", "item_id", "malformed"), (1.5, "item_id", "malformed")):
        broken = frame.astype({"item_id": object})
        broken.loc[45, "item_id"] = bad  # in the seventh chunk
        with pytest.raises(maitre.BadRecordError) as info:
            log.extend(broken)
        assert (info.value.row, info.value.field, info.value.problem) == (45, field, problem)
        assert log.summary() == before  # the first six chunks were undone too
    report = log.extend(frame.assign(item_id=[""] + list(frame["item_id"][1:])), skip_bad_rows=True)
    assert (report["accepted"], report["skipped"]) == (n - 1, 1)
    with pytest.raises(maitre.LengthMismatchError):
        log.extend({"customer_id": ["a"] * 9, "item_id": ["b"] * 8, "kind": ["view"] * 9, "timestamp": [1] * 9})


# -- threads -------------------------------------------------------------------------


def test_add_item_while_other_threads_serve(rec):
    errors = []
    stop = threading.Event()

    def serve():
        try:
            while not stop.is_set():
                rec.recommend(customer="c0000001", k=5)
                rec.recommend_batch(["c0000001", "c0000002"], k=5)
                rec.similar_items("sku-000003", k=5)
        except Exception as e:  # noqa: BLE001 - any error fails the test
            errors.append(e)

    readers = [threading.Thread(target=serve) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        for n in range(40):
            rec.add_item(f"sku-new-{n}", category="cat-01", tags=["new"])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == []
    assert rec.summary()["items"] == len(rec.item_ids())
    assert "sku-new-39" in rec.item_ids()
    ids, _ = rec.recommend_batch(["c0000001"], k=10**6)
    assert ids.shape[1] == rec.summary()["items"]


def test_event_log_ingests_while_other_threads_read(shop):
    log = maitre.EventLog.from_bytes(shop.to_bytes())
    frame = pd.DataFrame(
        {"customer_id": ["c0000001"] * 100, "item_id": ["sku-000001"] * 100, "kind": ["view"] * 100,
         "timestamp": np.arange(100) + 1_714_564_800}
    )
    errors, stop = [], threading.Event()

    def read():
        try:
            while not stop.is_set():
                len(log)
                log.summary()
                maitre.ALS(factors=4, iterations=1).fit(log, progress=lambda p: None)
                pickle.dumps(log)
        except Exception as e:  # noqa: BLE001 - any error fails the test
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for n in range(20):
            log.extend(frame)
            log.link(f"anon-{n}", "c0000001", 1_714_564_800)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == []
    assert len(log) == len(shop) + 20 * 100


def test_csv_errors_name_the_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"customer_id,item_id,kind,timestamp\nc1,i1,view,1714564800\nc2,\xff\xfe,view,1714564801\n")
    with pytest.raises(maitre.BadRecordError) as info:
        maitre.EventLog.from_csv(path)
    assert (info.value.line, info.value.field, info.value.problem) == (3, "item_id", "malformed")
