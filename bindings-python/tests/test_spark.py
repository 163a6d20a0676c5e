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
