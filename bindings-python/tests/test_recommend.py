"""ALS and Recommender from Python: fit, serve with rules, batch, save/load,
pickle, and bad input raising maitre exceptions (never crashing)."""

import pickle

import numpy as np
import pandas as pd
import pytest

import maitre


@pytest.fixture(scope="module")
def shop():
    return maitre.synthetic_storefront(seed=3, size="tiny")


@pytest.fixture(scope="module")
def model(shop):
    return maitre.ALS(factors=16, iterations=5, seed=1).fit(shop)


@pytest.fixture(scope="module")
def items(rec):
    """An items frame for the storefront's items, with made-up attributes."""
    ids = list(rec.item_ids())
    n = len(ids)
    return pd.DataFrame(
        {
            "id": ids,
            "kind": ["product"] * n,
            "category": [f"cat{i % 4}" for i in range(n)],
            "brand": [f"brand{i % 7}" for i in range(n)],
            "price": [float(10 + i % 50) for i in range(n)],
            "tags": ["vegan|new" if i % 3 == 0 else None for i in range(n)],
            "in_stock": [i % 11 != 0 for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def rec(shop, model):
    return maitre.Recommender.build(shop, model)


def customers(rec, shop, n=20):
    ids, _ = rec.customers_for_item("sku-000003", k=n)
    return list(ids)


# -- ALS -----------------------------------------------------------------------------


def test_als_model_arrays(shop, model):
    s = shop.summary()
    assert model.item_factors.shape == (s["items"], 16)
    assert model.item_factors.dtype == np.float32
    assert model.user_factors.shape[1] == 16 and model.user_factors.shape[0] > 0
    assert repr(model) == f"AlsModel(customers={model.user_factors.shape[0]}, items={s['items']}, factors=16)"
    v = model.fold_in([0, 3], [1.0, 1.0])
    assert v.shape == (16,) and v.dtype == np.float32
    with pytest.raises(maitre.LengthMismatchError):
        model.fold_in([0, 1], [1.0])
    with pytest.raises(maitre.MaitreError):
        model.fold_in([10**6], [1.0])


def test_als_is_deterministic(shop):
    a = maitre.ALS(factors=8, iterations=3, seed=5).fit(shop)
    b = maitre.ALS(factors=8, iterations=3, seed=5, threads=1).fit(shop)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)


def test_als_bad_parameters():
    for kwargs, name in [
        ({"factors": 0}, "factors"),
        ({"iterations": 0}, "iterations"),
        ({"regularization": -1.0}, "regularization"),
        ({"confidence": "cubic"}, "confidence"),
        ({"confidence": "log", "epsilon": 0.0}, "epsilon"),
        ({"threads": 0}, "threads"),
    ]:
        with pytest.raises(maitre.InvalidParamError) as info:
            maitre.ALS(**kwargs)
        assert info.value.name == name


def test_als_regularization_scale(shop):
    assert maitre.ALS().params()["regularization_scale"] == "all_pairs"
    wr = maitre.ALS(factors=8, iterations=3, regularization=0.5, regularization_exponent=1.0, alpha=1.0,
                    regularization_scale="observed")
    assert wr.params()["regularization_scale"] == "observed"
    assert pickle.loads(pickle.dumps(wr)).params() == wr.params()
    model = wr.fit(shop)
    assert model.params()["regularization_scale"] == "observed"
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.item_factors, model.item_factors)
    assert back.params()["regularization_scale"] == "observed"
    plain = maitre.ALS(factors=8, iterations=3, regularization=0.5, regularization_exponent=1.0, alpha=1.0).fit(shop)
    assert not np.array_equal(plain.item_factors, model.item_factors)
    # With ν = 0 the scale changes nothing: plain λ either way.
    a = maitre.ALS(factors=8, iterations=3, regularization_scale="observed").fit(shop)
    b = maitre.ALS(factors=8, iterations=3).fit(shop)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)
    # The block solver regularises a row by its count: λ·|I_u| = 0.5·2 here.
    two = maitre.ALS(factors=2, regularization=0.5, regularization_exponent=1.0, alpha=1.0,
                     regularization_scale="observed")
    x = two.solve_rows(np.eye(2), 2, [[0.0, 0.0]], [0, 2], np.eye(2), [1.0, 1.0])
    # (I + Σ (c − 1) y yᵀ + λ·2·I) x = Σ c y with c = 1 + 1 = 2 per item: (1 + 1 + 1) x = 2.
    np.testing.assert_allclose(x, [[2 / 3, 2 / 3]], rtol=1e-5)
    for bad in ("observed ", "Observed", "", "all"):
        with pytest.raises(maitre.InvalidParamError) as info:
            maitre.ALS(regularization_scale=bad)
        assert info.value.name == "regularization_scale"
    with pytest.raises(TypeError):
        maitre.ALS(regularization_scale=1)


def test_solve_rows_with_columns_passes_each_fixed_vector_once(shop):
    # A half-sweep of a fitted model, its fixed vectors gathered per entry or
    # passed once with each entry's row: the same numbers, to the bit.
    als = maitre.ALS(factors=4, iterations=2, regularization=0.1, threads=1)
    model = als.fit(shop)
    rng = np.random.default_rng(0)
    items = model.item_factors
    rows = 6
    counts = rng.integers(1, 5, rows)
    indptr = np.r_[0, np.cumsum(counts)]
    columns = np.concatenate([np.sort(rng.choice(len(items), c, replace=False)) for c in counts])
    weights = rng.uniform(0.5, 3.0, len(columns)).astype(np.float32)
    gram = items.T @ items
    start = np.zeros((rows, 4), np.float32)
    gathered = als.solve_rows(gram, len(items), start, indptr, items[columns], weights)
    shared = als.solve_rows(gram, len(items), start, indptr, items, weights, columns=columns)
    np.testing.assert_array_equal(shared, gathered)
    assert np.abs(shared).sum() > 0
    with pytest.raises(maitre.InvalidParamError) as info:
        als.solve_rows(gram, len(items), start, indptr, items, weights, columns=columns + len(items))
    assert info.value.name == "columns"
    with pytest.raises(maitre.LengthMismatchError):
        als.solve_rows(gram, len(items), start, indptr, items, weights, columns=columns[1:])


def test_als_on_empty_log():
    with pytest.raises(maitre.NotEnoughDataError):
        maitre.ALS(factors=4).fit(maitre.EventLog())


def test_progress_called_per_iteration(shop):
    for threads in (None, 2):  # on the calling thread, and inside the core's own pool
        seen = []
        maitre.ALS(factors=4, iterations=4, threads=threads).fit(shop, progress=seen.append)
        assert [p["iteration"] for p in seen] == [1, 2, 3, 4]
    assert all(p["iterations"] == 4 and p["seconds"] >= 0 for p in seen)


def test_progress_cancels(shop):
    calls = []

    def stop_after_two(p):
        calls.append(p["iteration"])
        return p["iteration"] < 2

    with pytest.raises(maitre.CancelledError):
        maitre.ALS(factors=4, iterations=10).fit(shop, progress=stop_after_two)
    assert calls == [1, 2]


def test_progress_exception_propagates(shop):
    def boom(p):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        maitre.ALS(factors=4, iterations=3).fit(shop, progress=boom)


def test_progress_true_prints_without_tqdm(shop, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    maitre.ALS(factors=4, iterations=2).fit(shop, progress=True)
    assert "ALS sweep 2/2" in capsys.readouterr().err


def test_half_life(shop):
    model = maitre.ALS(factors=4, iterations=2).fit(shop, half_life_days=30.0)
    assert model.item_factors.shape[1] == 4
    with pytest.raises(maitre.InvalidParamError):
        maitre.ALS(factors=4, iterations=2).fit(shop, half_life_days=-1.0)


# -- recommend -----------------------------------------------------------------------


def test_recommend_arrays(rec, shop):
    (customer,) = customers(rec, shop, 1)
    ids, scores = rec.recommend(customer=customer, k=7)
    assert ids.dtype == object and len(ids) == 7 and len(set(ids)) == 7
    assert scores.dtype == np.float32 and scores.shape == (7,)
    assert all(np.diff(scores) <= 1e-6)


def test_recommend_session_and_context(rec):
    session = [("sku-000003", "view"), ("sku-000004", "cart")]
    ids, _ = rec.recommend(session=session, context={"device": "mobile"}, k=5)
    frame = pd.DataFrame({"item": ["sku-000003", "sku-000004"], "kind": ["view", "cart"]})
    ids2, _ = rec.recommend(session=frame, context={"device": "mobile"}, k=5)
    assert len(ids) == 5 and list(ids) == list(ids2)
    # Viewed and carted items stay eligible by default (what shoppers buy next);
    # bought ones go, and exclude_seen leaves out everything the session touched.
    assert "sku-000004" in set(ids)
    bought = session + [("sku-000004", "purchase")]
    assert "sku-000004" not in set(rec.recommend(session=bought, context={"device": "mobile"}, k=5)[0])
    strict, _ = rec.recommend(session=session, context={"device": "mobile"}, k=5,
                              filters={"exclude_seen": True})
    assert len(strict) == 5 and not {"sku-000003", "sku-000004"} & set(strict)


def test_recommend_as_frame(rec):
    frame = rec.recommend(session=[("sku-000003", "view")], k=4, as_frame=True)
    assert list(frame.columns) == ["item", "score", "reason", "because"]
    assert len(frame) == 4
    assert set(frame["reason"]) <= {"because", "taste", "pinned", "popular_in_context", "popular"}
    because = frame[frame["reason"] == "because"]["because"]
    assert all(isinstance(b, list) and b for b in because)


def test_rules(shop, model, items):
    rec = maitre.Recommender.build(shop, model, items=items)
    session = [("sku-000003", "view")]
    ids, _ = rec.recommend(session=session, k=10, filters={"categories": ["cat1"]})
    cat = dict(zip(items["id"], items["category"]))
    stock = dict(zip(items["id"], items["in_stock"]))
    price = dict(zip(items["id"], items["price"]))
    assert len(ids) == 10 and all(cat[i] == "cat1" and stock[i] for i in ids)
    ids, _ = rec.recommend(session=session, k=10, filters={"min_price": 20, "max_price": 30,
                                                           "exclude_items": ["sku-000005"]})
    assert all(20 <= price[i] <= 30 for i in ids) and "sku-000005" not in ids
    ids, _ = rec.recommend(session=session, k=10, filters={
        "predicates": [{"field": "tag", "values": ["vegan"]}]})
    tagged = set(items["id"][items["tags"].notna()])
    assert set(ids) <= tagged
    ids, _ = rec.recommend(session=session, k=10, pins=["sku-000009"])
    assert ids[0] == "sku-000009"
    frame = rec.recommend(session=session, k=6, diversity={"max_per_category": 2}, as_frame=True)
    assert frame["item"].map(cat).value_counts().max() <= 2
    ids, _ = rec.recommend(session=session, k=10, boosts=[
        {"when": {"field": "brand", "values": ["brand3"]}, "amount": 100.0}])
    assert ids[0] in set(items["id"][items["brand"] == "brand3"])
    shown, _ = rec.recommend(session=session, k=5)
    rotated, _ = rec.recommend(session=session, k=5, rotation={
        "penalty": 100.0, "ignored": {i: 1 for i in shown}})
    assert not set(shown) & set(rotated)


def test_batch_matches_single(rec, shop):
    some = customers(rec, shop, 12) + ["never-seen-before"]
    ids, scores = rec.recommend_batch(some, k=6)
    assert ids.shape == (13, 6) and scores.shape == (13, 6) and scores.dtype == np.float32
    for row, customer in enumerate(some):
        single_ids, single_scores = rec.recommend(customer=customer, k=6)
        assert list(ids[row]) == list(single_ids)
        np.testing.assert_array_equal(scores[row], single_scores)
    frame = rec.recommend_batch(some[:3], k=6, as_frame=True)
    assert list(frame.columns) == ["customer", "rank", "item", "score", "reason"]
    assert len(frame) == 18 and list(frame["rank"][:6]) == [1, 2, 3, 4, 5, 6]
    assert list(frame["item"][:6]) == list(ids[0])
    # The same rows as an Arrow table, ready for Parquet without pandas.
    import pyarrow as pa

    table = rec.recommend_batch(some[:3], k=6, as_frame="arrow")
    assert isinstance(table, pa.Table) and table.column_names == list(frame.columns)
    assert table.schema.field("score").type == pa.float32() and table.schema.field("rank").type == pa.int64()
    assert table.to_pandas().equals(frame)
    assert rec.recommend_batch(some[:3], k=6, as_frame="pandas").equals(frame)
    with pytest.raises(maitre.InvalidParamError, match="as_frame"):
        rec.recommend_batch(some[:3], k=6, as_frame="polars")


def test_batch_pads_short_lists(shop, model, items):
    rec = maitre.Recommender.build(shop, model, items=items)
    some = customers(rec, shop, 3)
    ids, scores = rec.recommend_batch(some, k=5, filters={"exclude_seen": False, "categories": ["cat0"],
        "predicates": [{"field": "brand", "values": ["brand1"]}, {"field": "tag", "values": ["vegan"]}]})
    # cat0, brand1 and vegan together: a few items (rows 36 + 84n, all in stock); the rest is padding
    allowed = {items["id"][i] for i in range(36, len(items), 84)}
    n = len(allowed)
    assert ids.shape == (3, 5) and 0 < n < 5
    assert all(set(row[:n]) == allowed for row in ids)
    assert all(i is None for i in ids[:, n:].ravel()) and np.isnan(scores[:, n:]).all()
    frame = rec.recommend_batch(some, k=5, as_frame=True, filters={"exclude_seen": False, "categories": ["cat0"],
        "predicates": [{"field": "brand", "values": ["brand1"]}, {"field": "tag", "values": ["vegan"]}]})
    assert len(frame) == 3 * n and frame["item"].notna().all()


def test_similar_items_and_customers(rec):
    ids, scores = rec.similar_items("sku-000003", k=5)
    assert len(ids) == 5 and "sku-000003" not in ids and scores.dtype == np.float32
    who, s = rec.customers_for_item("sku-000003", k=7)
    assert len(who) == 7 and all(np.diff(s) <= 1e-6)
    with pytest.raises(maitre.UnknownIdError) as info:
        rec.similar_items("no-such-sku")
    assert info.value.id == "no-such-sku"


def test_rerank(rec):
    candidates = ["sku-000001", "sku-000002", "sku-000007"]
    ids, scores = rec.rerank(candidates, session=[("sku-000003", "view")])
    assert sorted(ids) == sorted(candidates) and all(np.diff(scores) <= 1e-6)
    with pytest.raises(maitre.UnknownIdError):
        rec.rerank(["sku-000001", "nope"])


def test_add_item(shop, model, items):
    rec = maitre.Recommender.build(shop, model, items=items)
    row = rec.add_item("sku-brand-new", category="cat1", tags="vegan|new", price=12.0)
    assert row == shop.summary()["items"]
    ids, _ = rec.similar_items("sku-000003", k=10_000)
    assert "sku-brand-new" in ids
    ids, _ = rec.recommend_batch(customers(rec, shop, 2), k=10_000, filters={"exclude_seen": False})
    assert "sku-brand-new" in set(ids.ravel())
    with pytest.raises(maitre.InvalidParamError):
        rec.add_item("sku-brand-new")
    with pytest.raises(maitre.LengthMismatchError):
        rec.add_item("sku-other", vector=[1.0, 2.0])


# -- save, load, pickle --------------------------------------------------------------


def test_pickle_round_trip_is_identical(rec, shop):
    some = customers(rec, shop, 10)
    copy = pickle.loads(pickle.dumps(rec))
    assert isinstance(copy, maitre.Recommender) and repr(copy) == repr(rec)
    a_ids, a_scores = rec.recommend_batch(some, k=10)
    b_ids, b_scores = copy.recommend_batch(some, k=10)
    assert (a_ids == b_ids).all()
    np.testing.assert_array_equal(a_scores, b_scores)
    session = [("sku-000003", "view")]
    assert list(rec.recommend(session=session)[0]) == list(copy.recommend(session=session)[0])


def test_pickle_keeps_an_hnsw_index(shop, model):
    # The graph travels in the pickle: the copy answers with the same graph,
    # not with a rebuilt or an exact index.
    rec = maitre.Recommender.build(
        shop, model, index="hnsw", hnsw={"max_connections": 8, "ef_search": 20, "seed": 3}
    )
    copy = pickle.loads(pickle.dumps(rec))
    some = customers(rec, shop, 10)
    a_ids, a_scores = rec.recommend_batch(some, k=10)
    b_ids, b_scores = copy.recommend_batch(some, k=10)
    assert (a_ids == b_ids).all()
    np.testing.assert_array_equal(a_scores, b_scores)
    assert len(pickle.dumps(rec)) > len(pickle.dumps(maitre.Recommender.build(shop, model)))


def test_bad_hnsw_settings_are_refused(shop, model):
    for settings, word in [
        ({"max_conections": 8}, "max_conections"),  # misspelt: never silently ignored
        ({"max_connections": 1}, "max_connections"),
        ({"ef_search": "many"}, "ef_search"),
        ({"seed": -1}, "seed"),
    ]:
        with pytest.raises(maitre.InvalidParamError, match=word):
            maitre.Recommender.build(shop, model, index="hnsw", hnsw=settings)


def test_save_load_flavours(rec, shop, tmp_path):
    full, front = tmp_path / "full.maitre", tmp_path / "front.maitre"
    rec.save(full)
    rec.save(str(front), flavour="storefront")
    assert front.stat().st_size < full.stat().st_size
    loaded = maitre.Recommender.load(full)
    assert loaded.has_customers and loaded.summary() == rec.summary()
    some = customers(rec, shop, 3)
    assert (loaded.recommend_batch(some)[0] == rec.recommend_batch(some)[0]).all()
    storefront = maitre.Recommender.load(front)
    assert not storefront.has_customers and storefront.summary()["customers"] == 0
    ids, _ = storefront.recommend(session=[("sku-000003", "view")], k=5)
    assert len(ids) == 5
    with pytest.raises(maitre.InvalidParamError):
        storefront.customers_for_item("sku-000003")
    assert maitre.Recommender.from_bytes(rec.to_bytes("storefront")).has_customers is False


# -- bad input -----------------------------------------------------------------------


def test_unknown_session_item(rec):
    with pytest.raises(maitre.UnknownIdError) as info:
        rec.recommend(session=[("no-such-sku", "view")])
    assert isinstance(info.value, KeyError) and "no-such-sku" in str(info.value)


def test_bad_request_options(rec):
    with pytest.raises(maitre.InvalidParamError) as info:
        rec.recommend(filters={"categorys": ["shoes"]})
    assert info.value.name == "request.filters.categorys"
    with pytest.raises(maitre.InvalidParamError) as info:
        rec.recommend(filters={"min_price": "cheap"})
    # A value of the wrong type is named by its whole path too.
    assert info.value.name == "request.filters.min_price"
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend(filters={"min_price": 10, "max_price": 5})
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend(filters={"predicates": [{"field": "colour", "values": ["red"]}]})
    with pytest.raises(maitre.InvalidParamError) as info:
        rec.recommend(filters={"predicates": [{"field": "tag", "values": ["x"], "negated": True}]})
    assert info.value.name == "request.filters.predicates[0].negated"
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend(kinds=["gadget"])
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend(diversity={"relevance": 2.0})
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend(min_score=float("nan"))
    with pytest.raises(maitre.InvalidParamError):
        rec.similar_items("sku-000003", filters={"in_stock": True})
    with pytest.raises(maitre.InvalidParamError):
        rec.recommend_batch(["c1"], filters={"exclude_purchased_within": -5})
    with pytest.raises(maitre.InvalidParamError, match=r"session\[0\]"):
        rec.recommend(session=["sku-000003"])


def test_malformed_items_frame(shop, model, items):
    def bad(frame, exc=maitre.BadRecordError):
        with pytest.raises(exc) as info:
            maitre.Recommender.build(shop, model, items=frame)
        assert isinstance(info.value, maitre.MaitreError)
        return info.value

    frame = items.copy()
    frame.loc[2, "id"] = None
    err = bad(frame)
    assert (err.row, err.field, err.problem) == (2, "id", "empty")
    frame = items.copy()
    frame["price"] = frame["price"].astype(object)
    frame.loc[4, "price"] = "cheap"
    err = bad(frame)
    assert (err.row, err.field, err.problem, err.detail) == (4, "price", "not_a_number", "cheap")
    assert str(err).startswith("row 4: field `price`")
    frame = items.copy()
    frame.loc[1, "price"] = float("inf")
    err = bad(frame)
    assert (err.row, err.field) == (1, "price")
    frame = items.copy()
    frame["kind"] = frame["kind"].astype(object)
    frame.loc[3, "kind"] = "gadget"
    err = bad(frame)
    assert (err.row, err.field) == (3, "kind") and "gadget" in str(err)
    frame = items.copy()
    frame["in_stock"] = frame["in_stock"].astype(object)
    frame.loc[5, "in_stock"] = "yes"
    err = bad(frame)
    assert (err.row, err.field) == (5, "in_stock")
    frame = items.copy()
    frame.loc[6, "id"] = frame.loc[7, "id"]
    err = bad(frame)
    assert err.field == "id" and "duplicate" in str(err)
    err = bad(items.drop(columns=["id"]), maitre.MissingColumnError)
    # an item the log and model have never seen, without an attribute map to
    # place it: the error says to build with attributes or use add_item
    extra = pd.concat([items, pd.DataFrame({"id": ["sku-unknown"]})], ignore_index=True)
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.Recommender.build(shop, model, items=extra, attributes=False)
    assert "add_item" in str(info.value)
    with pytest.raises(TypeError):
        maitre.Recommender.build(shop, model, items=[("sku-1", "shoes")])
    with pytest.raises(maitre.InvalidParamError):
        maitre.Recommender.build(shop, model, index="annoy")


def test_corrupt_artifacts(rec, tmp_path):
    data = rec.to_bytes()
    with pytest.raises(maitre.ArtifactError) as info:
        maitre.Recommender.from_bytes(data[: len(data) // 2])
    assert info.value.problem == "truncated" and info.value.filename is None
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(maitre.ArtifactError) as info:
        maitre.Recommender.from_bytes(bytes(flipped))
    assert info.value.problem == "checksum_mismatch"
    with pytest.raises(maitre.ArtifactError) as info:
        maitre.Recommender.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert info.value.problem == "not_an_artifact" and isinstance(info.value, ValueError)
    with pytest.raises(maitre.ArtifactError):
        maitre.Recommender.from_bytes(b"")
    path = tmp_path / "cut.maitre"
    rec.save(path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(maitre.ArtifactError) as info:
        maitre.Recommender.load(path)
    assert info.value.problem == "truncated" and "cut.maitre" in info.value.filename
    with pytest.raises(maitre.MaitreFileNotFoundError):
        maitre.Recommender.load(tmp_path / "missing.maitre")
    with pytest.raises(maitre.InvalidParamError):
        rec.to_bytes("tiny")


# -- MovieLens -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def movielens():
    return maitre.load_movielens()


def test_movielens_fit_and_recommend(movielens):
    model = maitre.ALS(factors=32, iterations=5, seed=0).fit(movielens)
    assert model.item_factors.shape == (1682, 32) and model.user_factors.shape == (943, 32)
    rec = maitre.Recommender.build(movielens, model)
    assert rec.summary() == {"items": 1682, "factors": 32, "customers": 943}
    users = [str(u) for u in range(1, 944)]
    ids, scores = rec.recommend_batch(users, k=10)
    assert ids.shape == (943, 10) and not np.isnan(scores).any()
    frame = rec.recommend(customer="1", k=5, as_frame=True)
    assert len(frame) == 5 and set(frame["reason"]) <= {"because", "taste"}


def test_build_places_new_arrivals(shop, model, items):
    """Catalogue rows without events are new arrivals, placed from their attributes."""
    arrivals = pd.DataFrame({"id": ["arrival-1", "arrival-2"], "category": ["new-in", "new-in"],
                             "price": [12.0, 14.0]})
    frame = pd.concat([items, arrivals], ignore_index=True)
    rec = maitre.Recommender.build(shop, model, items=frame)
    assert rec.summary()["items"] == model.item_factors.shape[0] + 2
    listed = rec.recommend(k=5, filters={"categories": ["new-in"]})
    assert sorted(listed[0]) == ["arrival-1", "arrival-2"]
    assert shop.summary()["items"] == model.item_factors.shape[0]  # the log is not changed


def test_rerank_batch_orders_each_customers_own_candidates():
    """One call for many customers, each with their own candidates: the
    same order and scores as one ``rerank`` per customer; an unknown
    candidate raises; missing columns are named."""
    log = maitre.synthetic_storefront(seed=4, size="tiny")
    rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
    items = list(rec.item_ids()[:12])
    pairs = pd.DataFrame({
        "customer": ["c0000003"] * 5 + ["someone-new"] * 3 + ["c0000001"] * 4,
        "item": items[:5] + items[3:6] + items[6:10],
    }).sample(frac=1.0, random_state=0)  # rows in any order
    frame = rec.rerank_batch(pairs, context={"device": "mobile"})
    assert list(frame.columns) == ["customer", "rank", "item", "score", "reason"]
    assert len(frame) == len(pairs)
    for customer, group in frame.groupby("customer", sort=False):
        own = pairs.loc[pairs["customer"] == customer, "item"].tolist()
        ids, scores = rec.rerank(own, customer=customer, context={"device": "mobile"})
        assert list(group["item"]) == list(ids), customer
        np.testing.assert_allclose(group["score"].to_numpy(), scores, rtol=1e-6)
        assert list(group["rank"]) == list(range(1, len(own) + 1))
    assert list(dict.fromkeys(frame["customer"])) == list(dict.fromkeys(pairs["customer"]))
    assert len(rec.rerank_batch({"customer": [], "item": []})) == 0
    with pytest.raises(maitre.UnknownIdError):
        rec.rerank_batch({"customer": ["c0000001"], "item": ["no-such-sku"]})
    with pytest.raises(maitre.MissingColumnError, match="item"):
        rec.rerank_batch({"customer": ["c0000001"], "sku": ["x"]})
