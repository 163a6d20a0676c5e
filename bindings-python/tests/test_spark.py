"""maitre on Spark, in local[2]: the same model as a single process, every
customer scored, typed errors for bad events. Needs pyspark and a JVM (CI
installs both); never skipped."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import SparkSession  # noqa: E402

import maitre  # noqa: E402
import maitre.spark as ms  # noqa: E402

T0 = 1_714_564_800


@pytest.fixture(scope="module")
def spark():
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(0)
    n = 6000
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in rng.integers(0, 300, n)],
        "item_id": [f"i{i}" for i in rng.integers(0, 120, n)],
        "kind": rng.choice(["view", "purchase", "return", "rating"], n, p=[0.6, 0.25, 0.05, 0.1]),
        "timestamp": T0 + rng.integers(0, 10**7, n),
        "value": np.where(rng.random(n) < 0.5, 4.0, 2.0),
    })


@pytest.mark.parametrize("scale", [
    {},  # the default: plain λ
    {"regularization": 0.5, "regularization_exponent": 1.0, "regularization_scale": "observed"},  # ALS-WR
])
def test_fit_als_gives_the_single_process_model(spark, events, scale):
    als = maitre.ALS(factors=8, iterations=2, seed=4, **scale)
    single = als.fit(maitre.EventLog.from_pandas(events), half_life_days=90)
    seen = []
    spread = ms.fit_als(spark.createDataFrame(events), als, half_life_days=90, progress=seen.append)
    assert [p["iteration"] for p in seen] == [1, 2]
    assert spread.customer_ids() == single.customer_ids()
    assert spread.item_ids() == single.item_ids()
    for a, b in [(spread.user_factors, single.user_factors), (spread.item_factors, single.item_factors)]:
        assert a.shape == b.shape
        # Sums in another order: float rounding, nothing more.
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_fit_als_frees_what_it_stored(spark, events):
    # Each half-sweep is a local checkpoint; a fit that left them behind
    # would keep 2 × iterations of them in the session's storage memory.
    frame = spark.createDataFrame(events)
    stored = spark.sparkContext._jsc.sc().getRDDStorageInfo
    before = len(stored())
    ms.fit_als(frame, maitre.ALS(factors=4, iterations=3, seed=1))
    assert len(stored()) <= before


def test_fit_als_with_fewer_rows_than_blocks(spark):
    # 3 customers and 2 items in 4 blocks: some blocks of each side are
    # empty, and one item is needed by a single customer block only.
    tiny = pd.DataFrame({
        "customer_id": ["a", "b", "c", "a", "b"],
        "item_id": ["x", "y", "x", "y", "x"],
        "kind": ["purchase", "view", "purchase", "view", "purchase"],
        "timestamp": T0 + np.arange(5) * 3600,
    })
    als = maitre.ALS(factors=4, iterations=3, seed=1)
    single = als.fit(maitre.EventLog.from_pandas(tiny))
    spread = ms.fit_als(spark.createDataFrame(tiny), als)
    assert spread.customer_ids() == single.customer_ids() == ["a", "b", "c"]
    for a, b in [(spread.user_factors, single.user_factors), (spread.item_factors, single.item_factors)]:
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_recommend_all_scores_every_customer(spark, events):
    log = maitre.EventLog.from_pandas(events)
    rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=2).fit(log))
    customers = spark.createDataFrame(pd.DataFrame({"customer_id": sorted(set(events["customer_id"]))}))
    out = ms.recommend_all(customers, rec, k=5).toPandas()
    assert set(out["customer_id"]) == set(events["customer_id"])
    assert (out.groupby("customer_id")["rank"].max() == 5).all()
    first = out[out["customer_id"] == "c7"].sort_values("rank")
    ids, scores = rec.recommend_batch(["c7"], k=5)
    assert first["item_id"].tolist() == list(ids[0])
    np.testing.assert_allclose(first["score"].to_numpy(), scores[0], rtol=1e-6)


def test_bad_events_are_typed_errors(spark, events):
    ms_events = events.assign(timestamp=events["timestamp"] * 1000)
    with pytest.raises(maitre.InvalidParamError, match="divide milliseconds"):
        ms.fit_als(spark.createDataFrame(ms_events))
    with pytest.raises(maitre.InvalidParamError, match="teleport"):
        ms.fit_als(spark.createDataFrame(events.assign(kind="teleport")))
    with pytest.raises(maitre.MissingColumnError):
        ms.fit_als(spark.createDataFrame(events.drop(columns=["kind"])))


# Identity links (issue 16): anon-1 -> dev-1 -> c5 is a chain; ghost-1 never
# acts; anon-2 and c10 link both ways (both known: anon-2 is the smaller);
# dev-2 links to itself; zz-dev/zz-account and lonely-a/lonely-b never act at
# all (customers with no entries, indexed after every acting id, in link
# order, not name order); web-9's canonical name, member-77, never acts;
# c20 -> c30 merges two acting customers.
LINKS = [
    ("anon-1", "dev-1"), ("zz-dev", "zz-account"), ("dev-1", "c5"), ("ghost-1", "c7"), ("anon-2", "c10"),
    ("c10", "anon-2"),
    ("dev-2", "dev-2"), ("lonely-a", "lonely-b"), ("web-9", "member-77"), ("c20", "c30"),
]


@pytest.fixture(scope="module")
def linked_events():
    rng = np.random.default_rng(1)
    n = 1500
    pool = [f"c{i}" for i in range(40)] + ["anon-1", "anon-2", "dev-1", "dev-2", "web-9"]
    return pd.DataFrame({
        "customer_id": rng.choice(pool, n),
        "item_id": [f"i{i}" for i in rng.integers(0, 50, n)],
        "kind": rng.choice(["view", "purchase", "rating"], n, p=[0.6, 0.3, 0.1]),
        "timestamp": T0 + rng.integers(0, 10**7, n),
        "value": np.where(rng.random(n) < 0.5, 4.0, 2.0),
    })


def _links(rows=LINKS):
    return pd.DataFrame({"alias": [a for a, _ in rows], "customer": [c for _, c in rows],
                         "timestamp": [T0 + j for j in range(len(rows))]})


def _single(events, links, als):
    log = maitre.EventLog.from_pandas(events)
    for row in links.itertuples():
        log.link(row.alias, row.customer, row.timestamp)
    return als.fit(log, half_life_days=90)


def test_fit_als_with_links_gives_the_single_process_model(spark, linked_events):
    als = maitre.ALS(factors=8, iterations=2, seed=4)
    links = _links()
    single = _single(linked_events, links, als)
    spread = ms.fit_als(spark.createDataFrame(linked_events), als, half_life_days=90,
                        links=spark.createDataFrame(links))
    ids = single.customer_ids()
    assert spread.customer_ids() == ids
    assert spread.item_ids() == single.item_ids()
    # The core's canonical names: known ids first, then the smallest.
    for gone in ["anon-1", "dev-1", "ghost-1", "c10", "web-9", "c20", "lonely-a", "zz-dev"]:
        assert gone not in ids
    for kept in ["c5", "c7", "anon-2", "dev-2", "member-77", "c30", "lonely-b", "zz-account"]:
        assert kept in ids
    assert ids[-2:] == ["zz-account", "lonely-b"]  # interned from links, after every acting id
    for a, b in [(spread.user_factors, single.user_factors), (spread.item_factors, single.item_factors)]:
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_interactions_with_links_merge_rows(spark, linked_events):
    matrix, customers, _ = ms.interactions(
        spark.createDataFrame(linked_events), links=spark.createDataFrame(_links()))
    names = customers.orderBy("index").toPandas()["id"].tolist()
    assert names == _single(linked_events, _links(), maitre.ALS(factors=2, iterations=1)).customer_ids()
    rows = set(matrix.select("u").distinct().toPandas()["u"])
    assert names.index("lonely-b") not in rows  # a customer with no entries
    assert names.index("c5") in rows


def test_bad_links_are_typed_errors_before_any_fitting(spark, linked_events):
    events = spark.createDataFrame(linked_events)
    seen = []
    with pytest.raises(maitre.MissingColumnError, match="customer"):
        ms.fit_als(events, links=spark.createDataFrame(_links().drop(columns=["customer"])), progress=seen.append)
    bad = _links([("anon-1", "c5"), (None, "c6"), ("x", "  "), ("", "c8")])
    with pytest.raises(maitre.InvalidParamError, match="2 identity links have a null or empty `alias` and 1"):
        ms.fit_als(events, links=spark.createDataFrame(bad), progress=seen.append)
    renamed = _links().rename(columns={"alias": "device", "customer": "account"})
    with pytest.raises(maitre.InvalidParamError, match="divide milliseconds"):
        ms.fit_als(events, links=spark.createDataFrame(renamed.assign(timestamp=renamed["timestamp"] * 1000)),
                   link_alias="device", link_customer="account", progress=seen.append)
    chain = _links([(f"n{j}", f"n{j + 1}") for j in range(8)])  # settles in 3 rounds, not 1
    with pytest.raises(ms.LinksNotConvergedError, match="1 rounds"):
        ms.fit_als(events, links=spark.createDataFrame(chain), link_rounds=1, progress=seen.append)
    assert seen == []
    # The same chain settles within the default bound: one person, named n1
    # (n0 is smaller but only ever an alias).
    _, customers, _ = ms.interactions(events, links=spark.createDataFrame(chain))
    names = customers.toPandas()["id"].tolist()
    assert "n1" in names and not any(f"n{j}" in names for j in [0, *range(2, 9)])
    # Renamed link columns work.
    _, customers, _ = ms.interactions(events, links=spark.createDataFrame(renamed),
                                      link_alias="device", link_customer="account")
    names = customers.toPandas()["id"].tolist()
    assert "c5" in names and "dev-1" not in names


@pytest.fixture(scope="module")
def visits():
    """Customers who each favour two categories of the tiny catalogue, their
    events in shuffled order (so interning order is not id order)."""
    items = maitre.synthetic_catalog(seed=1, size="tiny")
    catalogue = pd.DataFrame(items)
    products = catalogue[catalogue["category"].notna() & (catalogue["kind"] != "service")]
    names = sorted(products["category"].unique())
    rng = np.random.default_rng(3)
    rows = []
    for c in range(240):
        liked = [names[c % len(names)], names[(c * 7 + 1) % len(names)]]
        for _ in range(rng.integers(1, 12)):
            category = liked[rng.integers(0, 2)] if rng.random() < 0.8 else names[rng.integers(len(names))]
            shelf = products.loc[products["category"] == category, "id"].to_numpy()
            bought = rng.random() < 0.25
            rows.append((f"c{c}", shelf[rng.integers(len(shelf))], "purchase" if bought else "view",
                         T0 + int(rng.integers(0, 60)) * 86_400 + int(rng.integers(0, 86_400)),
                         float(rng.integers(1, 4)) if bought and rng.random() < 0.7 else np.nan,
                         ["web", "app", "store"][rng.integers(0, 3)]))
    events = pd.DataFrame(rows, columns=["customer_id", "item_id", "kind", "timestamp", "value", "channel"])
    return events.sample(frac=1, random_state=0).reset_index(drop=True), items


def test_segments_are_the_single_process_segments(spark, visits):
    events, items = visits
    single = maitre.segments(maitre.EventLog.from_pandas(events), items, k=4, fit_min_days=2, seed=5)
    labelled, summary = ms.segments(spark.createDataFrame(events), items, k=4, fit_min_days=2, seed=5)
    got = labelled.toPandas().set_index("customer")["segment"].sort_index()
    want = single.customers.set_index("customer")["segment"].sort_index()
    assert got.index.tolist() == want.index.tolist()
    assert got.tolist() == want.tolist()
    # The summary is the core's, counted in Spark: the same words and shares,
    # the values up to the order of their sums.
    want = single.segments
    assert summary["segment"].tolist() == [0, 1, 2, 3]
    assert summary["value"].tolist() == pytest.approx(want["value"].tolist(), rel=1e-12)
    assert min(want["value"]) > 0 and all(len(c) == 3 for c in want["channels"])
    assert all(len(b) > 0 for b in want["brands"])
    exact = ["size", "categories", "brands", "channels", "description"]
    assert summary[exact].to_dict("records") == want[exact].to_dict("records")


def test_segments_on_a_sample_and_bad_input(spark, visits):
    events, items = visits
    df = spark.createDataFrame(events)
    labelled, summary = ms.segments(df, items, k=3, fit_sample=60, seed=2)
    out = labelled.toPandas()
    assert sorted(out["customer"]) == sorted(events["customer_id"].unique())
    assert set(out["segment"]) <= {0, 1, 2} and summary["size"].sum() == len(out)
    # The same sample and centres again.
    again, _ = ms.segments(df, items, k=3, fit_sample=60, seed=2)
    assert again.toPandas().sort_values("customer")["segment"].tolist() == \
        out.sort_values("customer")["segment"].tolist()
    with pytest.raises(maitre.InvalidParamError, match="fit_sample"):
        ms.segments(df, items, k=3, fit_sample=0)
    with pytest.raises(maitre.NotEnoughDataError, match="category"):
        ms.segments(df, {"id": ["x"], "category": [None]}, k=2)
    with pytest.raises(maitre.NotEnoughDataError, match="1000 or more days"):
        ms.segments(df, items, k=2, fit_min_days=1000)
    with pytest.raises(maitre.InvalidParamError, match="k"):
        ms.segments(df, items, k=10_000)


def _same_rfm(got, want):
    """Spark's RFM table against maitre.rfm's: the same customers in the same
    order, the same scores, groups and stages; the numbers to the last bit
    but the value sums, which may differ in their last bits."""
    assert got.columns.tolist() == want.columns.tolist()
    exact = ["customer", "frequency", "r", "f", "m", "group", "stage", "typical_gap_days", "loyalty"]
    assert got[exact].to_dict("records") == want[exact].to_dict("records")
    assert got["recency_days"].isna().tolist() == want["recency_days"].isna().tolist()
    assert got["recency_days"].fillna(-1).tolist() == want["recency_days"].fillna(-1).tolist()
    assert got["monetary"].tolist() == pytest.approx(want["monetary"].tolist(), rel=1e-12)


def test_rfm_is_the_single_process_rfm(spark, visits, linked_events):
    events, items = visits
    catalogue = pd.DataFrame(items)
    log = maitre.EventLog.from_pandas(events)
    for now in (None, T0 + 75 * 86_400):
        want = maitre.rfm(log, catalogue, now=now)
        got = ms.rfm(spark.createDataFrame(events), catalogue, now=now).toPandas()
        # Enough of every kind of customer that the rules are all exercised.
        assert {"new", "active", "at_risk", "lapsed"} <= set(want["stage"]) or now is None
        assert len(set(want["group"])) >= 5
        _same_rfm(got, want)
    # Without prices (value alone), and with identity links.
    links = _links()
    single = maitre.EventLog.from_pandas(linked_events)
    for row in links.itertuples():
        single.link(row.alias, row.customer, row.timestamp)
    got = ms.rfm(spark.createDataFrame(linked_events), links=spark.createDataFrame(links)).toPandas()
    _same_rfm(got, maitre.rfm(single))
    with pytest.raises(maitre.InvalidParamError, match="now"):
        ms.rfm(spark.createDataFrame(events), now=-5)


def test_advocates_are_the_single_process_advocates(spark, events):
    """Purchases, returns and ratings: loyalty, advocacy and the words."""
    log = maitre.EventLog.from_pandas(events)
    df = spark.createDataFrame(events)
    _same_rfm(ms.rfm(df).toPandas(), maitre.rfm(log))
    for n, now in ((10, None), (40, T0 + 5 * 10**6)):
        want = maitre.advocates(log, n=n, now=now)
        got = ms.advocates(df, n=n, now=now)
        assert len(want) == n
        assert got.to_dict("records") == want.to_dict("records")
        assert got.dtypes.to_dict() == want.dtypes.to_dict()
    with pytest.raises(maitre.InvalidParamError, match="`n`"):
        ms.advocates(df, n=0)


@pytest.fixture(scope="module")
def targeting(events):
    """The events with a catalogue (two categories of products, some
    content) and a single-process model fitted on them."""
    ids = sorted(events["item_id"].unique(), key=lambda i: int(i[1:]))
    items = pd.DataFrame({
        "id": ids,
        "category": ["shoes" if int(i[1:]) % 2 else "bags" for i in ids],
        "kind": ["content" if int(i[1:]) % 10 == 0 else "product" for i in ids],
    })
    log = maitre.EventLog.from_pandas(events)
    return log, items, maitre.ALS(factors=8, iterations=3, seed=2).fit(log)


def _same_targets(got, want):
    assert got["customer"].tolist() == want["customer"].tolist()
    assert got["score"].tolist() == want["score"].tolist()
    assert got["reason"].tolist() == want["reason"].tolist()


def test_target_is_the_single_process_target(spark, events, targeting):
    log, items, model = targeting
    df = spark.createDataFrame(events)
    for what in ({"item": "i7"}, {"category": "shoes", "items": items}):
        want = maitre.target(log, model, k=25, **what)
        assert len(want) == 25 and any(r["reason"] == "because" for r in want["reason"])
        _same_targets(ms.target(df, model, k=25, **what), want)
    buyers = set(events.loc[(events["kind"] == "purchase") & (events["item_id"] == "i7"), "customer_id"])
    assert buyers
    got = ms.target(df, model, item="i7", k=40, exclude_buyers=True, exclude=["c3", "c5"])
    assert not set(got["customer"]) & (buyers | {"c3", "c5"})
    _same_targets(got, maitre.target(log, model, item="i7", k=40, exclude_buyers=True, exclude=["c3", "c5"]))
    # Only some segments: the single-process segmentation, shipped as Spark's labels.
    seg = maitre.segments(log, items, k=3, seed=1)
    labels = spark.createDataFrame(seg.customers)
    got = ms.target(df, model, item="i7", k=30, segments=[0, 2], segmentation=labels)
    assert set(seg.customers.set_index("customer").loc[got["customer"], "segment"]) <= {0, 2}
    _same_targets(got, maitre.target(log, model, item="i7", k=30, segments=[0, 2], segmentation=seg))
    # Only some lifecycle stages and RFM groups, computed in Spark.
    table = maitre.rfm(log, items).set_index("customer")
    for what in ({"stages": ["at_risk", "lapsed"]}, {"rfm_groups": ["champions", "loyal"]},
                 {"stages": ["active"], "rfm_groups": ["loyal", "needs_attention"], "now": T0 + 10**7}):
        want = maitre.target(log, model, item="i7", k=30, items=items, **what)
        assert 0 < len(want) <= 30
        got = ms.target(df, model, item="i7", k=30, items=items, **what)
        _same_targets(got, want)
        if "now" not in what:
            column, allowed = ("stage", what["stages"]) if "stages" in what else ("group", what["rfm_groups"])
            assert set(table.loc[got["customer"], column]) <= set(allowed)


def test_target_bad_input_is_typed(spark, events, targeting):
    log, items, model = targeting
    df = spark.createDataFrame(events)
    with pytest.raises(maitre.InvalidParamError, match="exactly one"):
        ms.target(df, model, item="i7", category="shoes", items=items)
    with pytest.raises(maitre.InvalidParamError, match="`k`"):
        ms.target(df, model, item="i7", k=0)
    with pytest.raises(maitre.UnknownIdError, match="nope"):
        ms.target(df, model, item="nope")
    with pytest.raises(maitre.UnknownIdError, match="socks"):
        ms.target(df, model, category="socks", items=items)
    with pytest.raises(maitre.UnknownIdError, match="ghost"):
        ms.target(df, model, item="i7", exclude=["ghost"])
    with pytest.raises(maitre.InvalidParamError, match="segmentation"):
        ms.target(df, model, item="i7", segments=[1])
    with pytest.raises(maitre.InvalidParamError, match="columns"):
        ms.target(df, model, item="i7", columns={"who": "customer_id"})
    with pytest.raises(maitre.InvalidParamError, match="stages.*dormant"):
        ms.target(df, model, item="i7", stages=["dormant"])
    with pytest.raises(maitre.InvalidParamError, match="rfm_groups"):
        ms.target(df, model, item="i7", rfm_groups=["vip"])
