"""maitre on Spark against Spark MLlib's implicit ALS, in one local[2] session.

Run through spark_vs_mllib.sh, which builds `examples/peer.rs`, uses the CI venv
(pyspark, pyarrow, maitre) and sets PYSPARK_PYTHON. Three fitters:

* ``mllib``: ``pyspark.ml.recommendation.ALS(implicitPrefs=True)``;
* ``maitre.spark``: ``maitre.spark.fit_als`` (row solves in the executors);
* ``maitre``: single-process ``maitre.ALS.fit`` (2 threads).

MovieLens 100K (ratings >= 4 are the positives; leave-last-out and temporal
splits written by ``peer split``, maitre's own split code): every library fits
the same binary train pairs, with the same rank and iterations. Each library's
regularization x alpha grid (9 settings each, each in its own meaning) is tuned
on the validation files; the best is refitted on train for a few seeds and
scored on test by ``peer score`` (the same evaluation code for every library:
factors exported as raw f32 in maitre's index order). maitre's grid is tuned
with the single-process model: ``maitre.spark`` gives the same model (checked at
every refit: factors to 1e-4 relative, NDCG@10 equal), so tuning it twice would
only spend time.

The synthetic storefront (``peer events``: the raw events of
``synthetic_storefront``, customer ids resolved through the identity links)
written as Parquet and read by Spark: fit wall time of MLlib (on the matrix
``maitre.spark.interactions`` builds, the same weights) and ``maitre.spark``
(from the raw events), and single-process maitre (``EventLog.from_parquet`` +
``ALS.fit``), same rank and iterations; the spark model is checked against the
single-process one.

With ``--quality-split`` the storefront's fitters train instead on the events
maitre's evaluation trains on (``peer storefront-split``: ``training_log`` of a
temporal or leave-last-out split of the purchases) with each library's setting
tuned on a validation pair carved from those training events
(STOREFRONT_GRID, or ``--LIB-grid``; at ``--tune-size`` / ``--LIB-tune-size``,
or taken from an earlier run with ``--tuning-from``), and each model is scored
on the held-out purchases by ``peer score`` (full catalogue, each customer's
training purchases excluded, every tested customer). With
``--recommend-all``, a ``Recommender`` built from the ``fit_als`` model serves
every customer through ``maitre.spark.recommend_all`` (written as Parquet) and
through ``recommend_batch`` in this process; the lists are compared.

Fit wall time always includes bringing the factors to the driver (MLlib's
``userFactors``/``itemFactors`` to pandas, ``fit_als``'s own collect), so both
Spark fitters end at the same place.

    python spark_vs_mllib.py run --peer BIN --data DIR --work DIR --out JSON
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SPLITS = ["leave-last-out", "temporal"]
FACTORS = 64
ITERATIONS = 15
SEED = 0
# Each library's grid, each in its own meaning. maitre: confidence 1 + alpha*w,
# regularization lambda*I (the grid of als_vs_implicit). MLlib: confidence
# 1 + alpha*|r| too, but regParam is scaled by each row's count of entries
# (ALS-WR): a user with ~40 positives gets 40*regParam, so its grid sits ~1.5
# decades lower to cover the same effective range.
GRID = {
    "maitre": {"regularization": [0.01, 0.1, 1.0], "alpha": [1.0, 5.0, 20.0]},
    "mllib": {"regularization": [0.003, 0.03, 0.3], "alpha": [1.0, 5.0, 20.0]},
}
# The storefront's grids: its weighted, decayed matrix wants far more
# regularization than MovieLens's binary one. Placed a decade around each
# library's optimum on the *small* storefront's validation pair (maitre's
# peaked at 30 on {1..300}, MLlib's at 0.3 on {0.003..3}; low alpha for both);
# never looked at a test set.
STOREFRONT_GRID = {
    "maitre": {"regularization": [30.0, 100.0, 300.0, 1000.0], "alpha": [0.25, 1.0, 4.0]},
    "mllib": {"regularization": [0.1, 0.3, 1.0], "alpha": [0.25, 1.0, 4.0]},
}
# How maitre scales λ per row (``--maitre-scale`` / ``--maitre-exponent``):
# maitre.ALS's regularization_scale and regularization_exponent, the same in
# every maitre fit of a run. The defaults are maitre's defaults (plain λ);
# "observed" with exponent 1 is ALS-WR, the regularisation MLlib uses.
MAITRE_REG = {"regularization_scale": "all_pairs", "regularization_exponent": 0.0}
T0 = 1_714_564_800  # MovieLens pairs carry no time here: one fixed timestamp.


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def peer(binary, *args):
    out = subprocess.run([binary, *[str(a) for a in args]], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def session(partitions, memory):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("spark_vs_mllib")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def blas_in_use(spark):
    """Which BLAS MLlib's native path loaded (netlib: native or Java fallback)."""
    try:
        jvm = spark.sparkContext._jvm
        return str(jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getName())
    except Exception as e:  # pragma: no cover - depends on the Spark build
        return f"unknown ({e.__class__.__name__})"


# ---------------------------------------------------------------- fitters


def mllib_fit(matrix, n_users, n_items, reg, alpha, seed, blocks, factors=FACTORS):
    """MLlib on a cached DataFrame (u, i, w); returns (users, items, seconds)."""
    from pyspark.ml.recommendation import ALS

    als = ALS(rank=factors, maxIter=ITERATIONS, regParam=reg, alpha=alpha, implicitPrefs=True,
              seed=seed, userCol="u", itemCol="i", ratingCol="w", numUserBlocks=blocks,
              numItemBlocks=blocks, coldStartStrategy="drop")
    started = time.perf_counter()
    model = als.fit(matrix)
    uf = model.userFactors.toPandas()
    itf = model.itemFactors.toPandas()
    seconds = time.perf_counter() - started

    def table(frame, rows):
        out = np.zeros((rows, factors), np.float32)
        if len(frame):
            out[frame["id"].to_numpy()] = np.stack(frame["features"].to_numpy())
        return out

    return table(uf, n_users), table(itf, n_items), seconds


def maitre_table(model, n_users, n_items):
    """A maitre model's factors in maitre's index order (ids are the indices)."""
    users = np.zeros((n_users, model.user_factors.shape[1]), np.float32)
    items = np.zeros((n_items, model.item_factors.shape[1]), np.float32)
    users[np.array([int(c) for c in model.customer_ids()])] = model.user_factors
    items[np.array([int(i) for i in model.item_ids()])] = model.item_factors
    return users, items


def same_model(a, b):
    """Largest factor difference relative to the largest factor, users and items."""
    assert a.customer_ids() == b.customer_ids() and a.item_ids() == b.item_ids()
    return max(
        float(np.abs(x - y).max() / np.abs(y).max())
        for x, y in ((a.user_factors, b.user_factors), (a.item_factors, b.item_factors))
    )


def same_scores(a, b, users=2000):
    """Largest score difference (u . v) relative to the largest score, over the
    first `users` customers and every item: blind to the near-free rotations of
    the factors that rounding can start over many sweeps."""
    sa = a.user_factors[:users].astype(np.float64) @ a.item_factors.T.astype(np.float64)
    sb = b.user_factors[:users].astype(np.float64) @ b.item_factors.T.astype(np.float64)
    return float(np.abs(sa - sb).max() / np.abs(sb).max())


# ---------------------------------------------------------------- MovieLens


class SplitFiles:
    def __init__(self, directory):
        self.dir = directory
        self.meta_path = os.path.join(directory, "meta.json")
        with open(self.meta_path) as f:
            self.meta = json.load(f)

    def path(self, name):
        return os.path.join(self.dir, f"{name}.tsv")

    def pairs(self, name):
        return np.loadtxt(self.path(name), dtype=np.int64, delimiter="\t", ndmin=2)


class Fitters:
    """The three fitters on one split file, with the Spark inputs cached once."""

    def __init__(self, spark, files, name, blocks):
        self.files, self.name, self.blocks = files, name, blocks
        pairs = files.pairs(name)
        self.n_users, self.n_items = files.meta["n_users"], files.meta["n_items"]
        self.events = pd.DataFrame({
            "customer_id": pairs[:, 0].astype(str),
            "item_id": pairs[:, 1].astype(str),
            "kind": "positive",
            "timestamp": np.full(len(pairs), T0, np.int64),
        })
        self.matrix = spark.createDataFrame(pd.DataFrame({
            "u": pairs[:, 0].astype(np.int32), "i": pairs[:, 1].astype(np.int32),
            "w": np.ones(len(pairs), np.float32),
        })).cache()
        self.spark_events = spark.createDataFrame(self.events).cache()
        self.matrix.count(), self.spark_events.count()

    def als(self, reg, alpha, seed):
        import maitre

        return maitre.ALS(factors=FACTORS, iterations=ITERATIONS, regularization=reg, alpha=alpha,
                          seed=seed, threads=2, **MAITRE_REG)

    def maitre(self, reg, alpha, seed):
        import maitre

        log_ = maitre.EventLog.from_pandas(self.events, kinds={"positive": 1.0})
        started = time.perf_counter()
        model = self.als(reg, alpha, seed).fit(log_)
        return model, time.perf_counter() - started

    def maitre_spark(self, reg, alpha, seed):
        import maitre.spark as ms

        started = time.perf_counter()
        model = ms.fit_als(self.spark_events, self.als(reg, alpha, seed), kinds={"positive": 1.0})
        return model, time.perf_counter() - started

    def mllib(self, reg, alpha, seed):
        return mllib_fit(self.matrix, self.n_users, self.n_items, reg, alpha, seed, self.blocks)

    def close(self):
        self.matrix.unpersist()
        self.spark_events.unpersist()


def score(binary, files, train, test, users, items, work, tag):
    u, i = os.path.join(work, f"{tag}_users.f32"), os.path.join(work, f"{tag}_items.f32")
    np.ascontiguousarray(users, "<f4").tofile(u)
    np.ascontiguousarray(items, "<f4").tofile(i)
    return peer(binary, "score", "--train", files.path(train), "--test", files.path(test),
                "--meta", files.meta_path, "--users", u, "--items", i, "--factors", users.shape[1])


def movielens_split(spark, binary, data, work, split, seeds, blocks):
    directory = os.path.join(work, split)
    peer(binary, "split", "--data", data, "--split", split, "--out", directory)
    files = SplitFiles(directory)
    log(f"[{split}] {files.meta}")

    valid = Fitters(spark, files, "valid_train", blocks)
    grid = {"maitre": [], "mllib": []}
    for lib in ("maitre", "mllib"):
        for reg in GRID[lib]["regularization"]:
            for alpha in GRID[lib]["alpha"]:
                if lib == "maitre":
                    model, seconds = valid.maitre(reg, alpha, SEED)
                    users, items = maitre_table(model, valid.n_users, valid.n_items)
                else:
                    users, items, seconds = valid.mllib(reg, alpha, SEED)
                r = score(binary, files, "valid_train", "valid_test", users, items, directory, lib)
                grid[lib].append({"regularization": reg, "alpha": alpha,
                                  "valid_ndcg@10": r["metrics"]["ndcg@10"], "fit_seconds": seconds})
                log(f"[{split}] {lib:<6} reg={reg:<6} alpha={alpha:<5} valid ndcg@10 "
                    f"{r['metrics']['ndcg@10']:.4f} ({seconds:.1f}s)")
    valid.close()
    # Ties keep the first grid point.
    best = {lib: max(grid[lib], key=lambda g: g["valid_ndcg@10"]) for lib in grid}

    train = Fitters(spark, files, "train", blocks)
    runs = {"maitre": [], "maitre.spark": [], "mllib": []}
    for seed in seeds:
        b = best["maitre"]
        single, t_single = train.maitre(b["regularization"], b["alpha"], seed)
        spread, t_spread = train.maitre_spark(b["regularization"], b["alpha"], seed)
        diff = same_model(spread, single)
        score_diff = same_scores(spread, single)
        for lib, model, seconds in (("maitre", single, t_single), ("maitre.spark", spread, t_spread)):
            users, items = maitre_table(model, train.n_users, train.n_items)
            r = score(binary, files, "train", "test", users, items, directory, "maitre")
            runs[lib].append({"seed": seed, "fit_seconds": seconds, "metrics": r["metrics"],
                              **({"max_rel_diff_vs_single": diff, "max_rel_score_diff_vs_single": score_diff}
                                 if lib == "maitre.spark" else {})})
        b = best["mllib"]
        users, items, seconds = train.mllib(b["regularization"], b["alpha"], seed)
        r = score(binary, files, "train", "test", users, items, directory, "mllib")
        runs["mllib"].append({"seed": seed, "fit_seconds": seconds, "metrics": r["metrics"]})
        log(f"[{split}] seed {seed}: ndcg@10 " + ", ".join(
            f"{lib} {runs[lib][-1]['metrics']['ndcg@10']:.4f} ({runs[lib][-1]['fit_seconds']:.1f}s)"
            for lib in runs) + f"; spark vs single max rel diff {diff:.2e}")
    train.close()

    def summary(lib):
        ndcg = [r["metrics"]["ndcg@10"] for r in runs[lib]]
        secs = [r["fit_seconds"] for r in runs[lib]]
        return {"runs": runs[lib], "test_ndcg@10_mean": statistics.mean(ndcg),
                "test_ndcg@10_sd": statistics.stdev(ndcg) if len(ndcg) > 1 else 0.0,
                "fit_seconds_median": statistics.median(secs)}

    return {"meta": files.meta, "grid": grid,
            "best": {lib: {k: best[lib][k] for k in ("regularization", "alpha", "valid_ndcg@10")}
                     for lib in best},
            **{lib: summary(lib) for lib in runs}}


# ---------------------------------------------------------------- storefront


def events_parquet(directory, meta):
    """Event columns written by `peer events` / `peer storefront-split` -> one
    Parquet file (dictionary-encoded ids and kinds) in `directory`."""
    def raw(name, dtype):
        return np.fromfile(os.path.join(directory, name), dtype=dtype)

    value = raw("value.f32", "<f4")
    table = pa.table({
        "customer_id": pa.DictionaryArray.from_arrays(
            pa.array(raw("customer.u32", "<u4").astype(np.int32)), pa.array(meta["customers"])),
        "item_id": pa.DictionaryArray.from_arrays(
            pa.array(raw("item.u32", "<u4").astype(np.int32)), pa.array(meta["items"])),
        "kind": pa.DictionaryArray.from_arrays(
            pa.array(raw("kind.u8", "u1").astype(np.int32)), pa.array([k["name"] for k in meta["kinds"]])),
        "timestamp": pa.array(raw("timestamp.i64", "<i8")),
        "value": pa.array(value.astype(np.float64), mask=np.isnan(value)),
    })
    path = os.path.join(directory, "events.parquet")
    pq.write_table(table, path, row_group_size=1 << 20)
    return path


def kinds_of(meta):
    return {k["name"]: k["weight"] for k in meta["kinds"]}, [k["name"] for k in meta["kinds"] if k["scaled"]]


def storefront_parquet(binary, work, size, seed):
    """`peer events` -> one Parquet file (dictionary-encoded ids and kinds)."""
    directory = os.path.join(work, f"storefront-{size}")
    info = peer(binary, "events", "--size", size, "--seed", seed, "--out", directory)
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    path = events_parquet(directory, meta)
    kinds, scaled = kinds_of(meta)
    info.update(customers=len(meta["customers"]), items=len(meta["items"]))
    return path, kinds, scaled, info


# ---------------------------------------------------------------- storefront quality


class StorefrontSplit:
    """`peer storefront-split`: maitre's evaluation split of the storefront's
    purchases (``training_log``: every event kind trains, minus the held-out
    pairs and each tested customer's events from their first held-out purchase
    on), with a validation pair carved from the training log the same way.
    Factor tables are scored by `peer score` in the full log's index space
    (``meta.json``'s customers and items); each fitter's rows are placed there
    by id, rows it never saw stay zero."""

    def __init__(self, binary, work, size, seed, split):
        self.dir = os.path.join(work, f"storefront-{size}-{split}")
        self.info = peer(binary, "storefront-split", "--size", size, "--seed", seed, "--split", split,
                         "--out", self.dir)
        self.files = SplitFiles(self.dir)
        meta = self.files.meta
        self.kinds, self.scaled = kinds_of(meta)
        self.customer_index = {c: n for n, c in enumerate(meta["customers"])}
        self.item_index = {c: n for n, c in enumerate(meta["items"])}
        self.n_users, self.n_items = meta["n_users"], meta["n_items"]

    def parquet(self, which):
        """The events of `which` (train or valid_train) as Parquet."""
        return events_parquet(os.path.join(self.dir, f"events-{which}"), self.files.meta)

    def place(self, vectors, ids, index, rows):
        out = np.zeros((rows, vectors.shape[1]), np.float32)
        out[np.fromiter((index[i] for i in ids), np.int64, len(ids))] = vectors
        return out

    def tables(self, users, customer_ids, items, item_ids):
        return (self.place(users, customer_ids, self.customer_index, self.n_users),
                self.place(items, item_ids, self.item_index, self.n_items))

    def model_tables(self, model):
        return self.tables(model.user_factors, model.customer_ids(), model.item_factors, model.item_ids())

    def score(self, binary, train, test, users, items, tag):
        started = time.perf_counter()
        r = score(binary, self.files, train, test, users, items, self.dir, tag)
        r["score_seconds"] = time.perf_counter() - started
        return r


def id_list(frame):
    """An (index, id) Spark table of `maitre.spark.interactions` as a list of ids by index."""
    table = frame.orderBy("index").toPandas()
    assert (table["index"].to_numpy() == np.arange(len(table))).all()
    return table["id"].tolist()


def spark_matrix(spark, path, kinds, scaled, half_life):
    """MLlib's input: the matrix maitre builds (same kinds, weights, decay) from
    the Parquet events, cached and materialised, with the ids of its rows."""
    events = spark.read.parquet(path)
    matrix, customers, items = ms_interactions(events, kinds=kinds, scaled=scaled, half_life_days=half_life)
    matrix = matrix.select(F_int("u"), F_int("i"), "w").cache()
    customer_ids, item_ids = id_list(customers), id_list(items)
    nnz = matrix.count()
    return matrix, customer_ids, item_ids, nnz


def ms_interactions(*args, **kwargs):
    import maitre.spark as ms

    return ms.interactions(*args, **kwargs)


def storefront_tune(spark, binary, work, lib, size, seed, split, blocks, half_life, factors, grid_of=None):
    """`lib`'s regularization x alpha grid (`grid_of`, default STOREFRONT_GRID[lib]) on the validation
    pair of the `size` storefront: fitted on the validation training events,
    scored on the validation purchases. maitre's grid is tuned single-process
    (``fit_als`` gives the same model)."""
    import maitre

    grid_of = grid_of or STOREFRONT_GRID[lib]
    sp = StorefrontSplit(binary, work, size, seed, split)
    log(f"[tune {lib} {size}] {sp.info}")
    path = sp.parquet("valid_train")
    grid = []
    if lib == "maitre":
        event_log = maitre.EventLog.from_parquet(path, kinds=sp.kinds, scaled=sp.scaled)

        def fit(reg, alpha):
            als = maitre.ALS(factors=factors, iterations=ITERATIONS, regularization=reg, alpha=alpha,
                             seed=SEED, threads=2, **MAITRE_REG)
            started = time.perf_counter()
            model = als.fit(event_log, half_life_days=half_life)
            return sp.model_tables(model), time.perf_counter() - started
    else:
        matrix, customer_ids, item_ids, _ = spark_matrix(spark, path, sp.kinds, sp.scaled, half_life)

        def fit(reg, alpha):
            users, items, seconds = mllib_fit(matrix, len(customer_ids), len(item_ids), reg, alpha, SEED,
                                              blocks, factors)
            return sp.tables(users, customer_ids, items, item_ids), seconds

    for reg in grid_of["regularization"]:
        for alpha in grid_of["alpha"]:
            tables, seconds = fit(reg, alpha)
            r = sp.score(binary, "valid_train", "valid_test", *tables, lib)
            grid.append({"regularization": reg, "alpha": alpha, "valid_ndcg@10": r["metrics"]["ndcg@10"],
                         "valid_recall@20": r["metrics"]["recall@20"], "fit_seconds": seconds})
            log(f"[tune {lib} {size}] reg={reg:<6} alpha={alpha:<5} valid ndcg@10 "
                f"{r['metrics']['ndcg@10']:.4f} ({seconds:.1f}s)")
    if lib != "maitre":
        matrix.unpersist()
    # Ties keep the first grid point.
    best = max(grid, key=lambda g: g["valid_ndcg@10"])
    return {"size": size, "split": sp.info, "grid": grid_of, "results": grid,
            **({"maitre_regularization": dict(MAITRE_REG)} if lib == "maitre" else {}),
            "best": {k: best[k] for k in ("regularization", "alpha", "valid_ndcg@10")}}


def parse_grid(text):
    """"R1,R2,...:A1,A2,..." -> a grid (None stays None)."""
    if not text:
        return None
    regs, alphas = text.split(":")
    return {"regularization": [float(x) for x in regs.split(",")], "alpha": [float(x) for x in alphas.split(",")]}


def tuning_of(path):
    """Per-library tuning results of an earlier results file (either layout)."""
    with open(path) as f:
        t = json.load(f)["storefront_tuning"]
    if "best" in t and "maitre" in t["best"]:  # one size for both libraries, grids side by side
        t = {lib: {"size": t["size"], "split": t["split"], "grid": t["grids"][lib], "results": t["grid"][lib],
                   "best": t["best"][lib]} for lib in ("maitre", "mllib")}
    return {lib: {**t[lib], "from": path} for lib in ("maitre", "mllib")}


def compare_lists(ids, batch_ids, batch_scores, frame):
    """recommend_all's rows (customer_id, rank, item_id, score) against
    recommend_batch's (n, k) arrays for the customers `ids`, in that order."""
    n, width = batch_ids.shape
    pos = pd.Index(ids).get_indexer(frame["customer_id"])
    rank = frame["rank"].to_numpy().astype(np.int64) - 1
    unknown = int((pos < 0).sum())
    ok = (pos >= 0) & (rank >= 0) & (rank < width)
    items = np.full((n, width), None, object)
    scores = np.full((n, width), np.nan, np.float32)
    items[pos[ok], rank[ok]] = frame["item_id"].to_numpy(object)[ok]
    scores[pos[ok], rank[ok]] = frame["score"].to_numpy(np.float32)[ok]
    rows = np.bincount(pos[pos >= 0], minlength=n)
    expected = (batch_ids != None).sum(axis=1)  # noqa: E711 (elementwise on an object array)
    same = (items == batch_ids).all(axis=1) & (rows == expected)
    both = ~np.isnan(scores) & ~np.isnan(batch_scores)
    diff = np.abs(scores.astype(np.float64) - batch_scores.astype(np.float64))
    differing = np.flatnonzero(~same)
    return {
        "customers": n,
        "rows": int(len(frame)),
        "rows_expected": int(expected.sum()),
        "rows_for_unknown_customers": unknown,
        "customers_missing": int((rows == 0).sum()),
        "identical_lists": int(same.sum()),
        "identical_fraction": float(same.mean()) if n else float("nan"),
        "max_abs_score_diff": float(diff[both].max()) if both.any() else float("nan"),
        "differences": [{"customer": ids[d], "recommend_all": [x for x in items[d] if x is not None],
                         "recommend_batch": [x for x in batch_ids[d] if x is not None]}
                        for d in differing[:20]],
    }


def recommend_all_check(spark, rec, customer_ids, work, k=10, partitions=2):
    """``maitre.spark.recommend_all`` over every customer, written as Parquet
    and read back, against ``recommend_batch`` in this process."""
    import maitre.spark as ms

    out = {"customers": len(customer_ids), "k": k}
    customers = spark.createDataFrame(pd.DataFrame({"customer_id": customer_ids})).repartition(partitions)
    customers = customers.cache()
    customers.count()
    path = os.path.join(work, "recommend_all.parquet")
    started = time.perf_counter()
    ms.recommend_all(customers, rec, k=k).write.mode("overwrite").parquet(path)
    out["recommend_all_write_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    frame = pq.read_table(path).to_pandas()
    out["read_back_seconds"] = time.perf_counter() - started
    customers.unpersist()
    started = time.perf_counter()
    batch_ids, batch_scores = rec.recommend_batch(customer_ids, k=k)
    out["recommend_batch_seconds"] = time.perf_counter() - started
    out.update(compare_lists(customer_ids, batch_ids, batch_scores, frame))
    out["parquet"] = path
    return out


def storefront(spark, binary, work, size, seed, blocks, half_life, factors, quality=None, recommend=False):
    """Fit times of the three fitters on the storefront's events. With
    `quality` ({"split", "maitre": (reg, alpha), "mllib": (reg, alpha)}) they
    fit the training events of that split with those settings instead, and
    each model is scored on the held-out purchases by `peer score`. With
    `recommend`, ``recommend_all`` over every customer is checked against
    ``recommend_batch`` (a Recommender built from the ``fit_als`` model)."""
    import maitre
    import maitre.spark as ms

    if quality is None:
        path, kinds, scaled, info = storefront_parquet(binary, work, size, seed)
        # The speed setting of als_vs_implicit; the work of a sweep does not depend on it.
        maitre_setting, mllib_setting = (0.1, 5.0), (0.01, 5.0)
        sp = None
    else:
        sp = StorefrontSplit(binary, work, size, seed, quality["split"])
        path, kinds, scaled = sp.parquet("train"), sp.kinds, sp.scaled
        info = {"dataset": sp.info["dataset"], "events": sp.info["train_events"],
                "all_events": sp.info["events"], "customers": sp.info["n_users"], "items": sp.info["n_items"],
                "generate_seconds": sp.info["generate_seconds"],
                "trained_on": f"the training events of the {quality['split']} split (maitre's training_log)"}
        maitre_setting, mllib_setting = tuple(quality["maitre"]), tuple(quality["mllib"])
    log(f"[storefront] {info}")
    als = maitre.ALS(factors=factors, iterations=ITERATIONS, regularization=maitre_setting[0],
                     alpha=maitre_setting[1], seed=SEED, threads=2, **MAITRE_REG)
    out = {"events": info, "parquet": path, "factors": factors, "iterations": ITERATIONS,
           "half_life_days": half_life,
           "settings": {"maitre": {**dict(zip(("regularization", "alpha"), maitre_setting)), **MAITRE_REG},
                        "mllib": dict(zip(("regularization", "alpha"), mllib_setting))}}
    if sp is not None:
        out["quality"] = {"split": sp.info, "scores": {}}
        scores = out["quality"]["scores"]

    started = time.perf_counter()
    event_log = maitre.EventLog.from_parquet(path, kinds=kinds, scaled=scaled)
    out["maitre_from_parquet_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    single = als.fit(event_log, half_life_days=half_life)
    out["maitre_fit_seconds"] = time.perf_counter() - started
    if not recommend:
        del event_log
    log(f"[storefront] maitre: from_parquet {out['maitre_from_parquet_seconds']:.1f}s "
        f"fit {out['maitre_fit_seconds']:.1f}s")
    if sp is not None:
        scores["maitre"] = sp.score(binary, "train", "test", *sp.model_tables(single), "maitre")
        log(f"[storefront] maitre test {scores['maitre']['metrics']['ndcg@10']:.4f}")

    events = spark.read.parquet(path).cache()
    out["spark_events"] = events.count()

    started = time.perf_counter()
    sweeps = []  # when each sweep ended: the setup and per-sweep costs of the scaling note
    spread = ms.fit_als(events, als, kinds=kinds, scaled=scaled, half_life_days=half_life,
                        progress=lambda _: sweeps.append(time.perf_counter()))
    out["maitre_spark_fit_seconds"] = time.perf_counter() - started
    per_sweep = float(np.median(np.diff(sweeps))) if len(sweeps) > 1 else float("nan")
    out["maitre_spark_sweep_seconds"] = per_sweep
    out["maitre_spark_setup_seconds"] = sweeps[0] - started - per_sweep if sweeps else float("nan")
    out["maitre_spark_collect_seconds"] = started + out["maitre_spark_fit_seconds"] - sweeps[-1] if sweeps else float("nan")
    out["maitre_spark_max_rel_diff_vs_single"] = same_model(spread, single)
    out["maitre_spark_max_rel_score_diff_vs_single"] = same_scores(spread, single)
    log(f"[storefront] maitre.spark fit {out['maitre_spark_fit_seconds']:.1f}s, "
        f"max rel diff vs single {out['maitre_spark_max_rel_diff_vs_single']:.2e}")
    if sp is not None:
        scores["maitre.spark"] = sp.score(binary, "train", "test", *sp.model_tables(spread), "maitre")
        log(f"[storefront] maitre.spark test {scores['maitre.spark']['metrics']['ndcg@10']:.4f}")
    del single
    if not recommend:
        del spread

    # MLlib gets the matrix maitre builds (same kinds, weights, decay), materialised
    # before its clock starts; the time to build it is reported on its own.
    started = time.perf_counter()
    matrix, customers, items = ms.interactions(events, kinds=kinds, scaled=scaled,
                                               half_life_days=half_life)
    matrix = matrix.select(F_int("u"), F_int("i"), "w").cache()
    n_users, n_items = customers.count(), items.count()
    out["matrix_nnz"] = matrix.count()
    out["interactions_seconds"] = time.perf_counter() - started
    # What a sweep moves: each fixed vector once to each block of target rows
    # that needs it (fit_als's blocks = the session's shuffle partitions).
    from pyspark.sql import functions as F

    shuffle_blocks = int(spark.conf.get("spark.sql.shuffle.partitions"))
    out["shuffle_blocks"] = shuffle_blocks
    out["shipped_item_vectors_per_user_half_sweep"] = matrix.select(
        "i", (F.col("u") % shuffle_blocks).alias("b")).distinct().count()
    out["shipped_user_vectors_per_item_half_sweep"] = matrix.select(
        "u", (F.col("i") % shuffle_blocks).alias("b")).distinct().count()
    users, item_vectors, seconds = mllib_fit(matrix, n_users, n_items, mllib_setting[0], mllib_setting[1],
                                             SEED, blocks, factors)
    out["mllib_fit_seconds"] = seconds
    out["matrix_shape"] = [n_users, n_items]
    log(f"[storefront] interactions {out['interactions_seconds']:.1f}s, mllib fit {seconds:.1f}s")
    if sp is not None:
        scores["mllib"] = sp.score(binary, "train", "test", *sp.tables(users, id_list(customers), item_vectors,
                                                                       id_list(items)), "mllib")
        log(f"[storefront] mllib test {scores['mllib']['metrics']['ndcg@10']:.4f}")
    del users, item_vectors
    matrix.unpersist()
    events.unpersist()
    out["ratio_maitre_spark_over_mllib"] = out["maitre_spark_fit_seconds"] / seconds
    out["ratio_maitre_spark_over_mllib_plus_interactions"] = (
        out["maitre_spark_fit_seconds"] / (seconds + out["interactions_seconds"]))

    if recommend:
        # The Recommender a data team would ship: the fit_als model, the log it
        # was fitted on (from_parquet of the same file, so the same customer
        # order: checked above by same_model) and the storefront's catalogue.
        catalog = maitre.synthetic_catalog(seed=seed, size=size)
        started = time.perf_counter()
        rec = maitre.Recommender.build(event_log, spread, items=catalog)
        build_seconds = time.perf_counter() - started
        del event_log
        customer_ids = spread.customer_ids()
        del spread
        log(f"[storefront] Recommender.build {build_seconds:.1f}s: {rec.summary()}; "
            f"recommend_all over {len(customer_ids):,} customers")
        out["recommend_all"] = {"build_seconds": build_seconds, "recommender": rec.summary(),
                                "artifact_bytes": len(rec.to_bytes())}
        try:
            out["recommend_all"].update(recommend_all_check(spark, rec, customer_ids, os.path.dirname(path),
                                                            partitions=blocks))
        except Exception as e:  # keep what the fits measured
            out["recommend_all"]["error"] = f"{e.__class__.__name__}: {e}"[:2000]
            log(f"[storefront] recommend_all failed: {out['recommend_all']['error']}")
            return out
        r = out["recommend_all"]
        log(f"[storefront] recommend_all {r['recommend_all_write_seconds']:.1f}s, recommend_batch "
            f"{r['recommend_batch_seconds']:.1f}s: {r['identical_lists']:,}/{r['customers']:,} lists identical, "
            f"max |score diff| {r['max_abs_score_diff']:.2e}")
    return out


def F_int(name):
    from pyspark.sql import functions as F

    return F.col(name).cast("int").alias(name)


# ---------------------------------------------------------------- report


def table(results):
    lines = ["| split | library | best regularization | best alpha | valid NDCG@10 "
             f"| test NDCG@10, mean ± sd over seeds {results['settings']['seeds']} "
             "| fit wall s (median) | max rel factor diff vs single |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for split in results["movielens"]:
        s = results["movielens"][split]
        for lib, tuned in (("mllib", "mllib"), ("maitre.spark", "maitre"), ("maitre", "maitre")):
            b, r = s["best"][tuned], s[lib]
            diff = (f"{max(x['max_rel_diff_vs_single'] for x in r['runs']):.1e}"
                    if lib == "maitre.spark" else "–")
            lines.append(
                f"| {split} | {lib} | {b['regularization']:g} | {b['alpha']:g} "
                f"| {b['valid_ndcg@10']:.4f} | {r['test_ndcg@10_mean']:.4f} ± {r['test_ndcg@10_sd']:.4f} "
                f"| {r['fit_seconds_median']:.1f} | {diff} |")
    st = results.get("storefront")
    if st:
        lines += ["", f"Storefront {st['events']['dataset']}: {st['events']['events']:,} events, "
                  f"{st['matrix_shape'][0]:,} × {st['matrix_shape'][1]:,}, {st['matrix_nnz']:,} entries; "
                  f"{st['factors']} factors, {st['iterations']} iterations, local[2]:", "",
                  "| fitter | fit wall s | × MLlib |", "| --- | ---: | ---: |",
                  f"| MLlib ALS (matrix ready) | {st['mllib_fit_seconds']:.1f} | 1.00 |",
                  f"| maitre.spark.interactions (the matrix MLlib gets) | {st['interactions_seconds']:.1f} | – |",
                  f"| maitre.spark.fit_als (from raw events) | {st['maitre_spark_fit_seconds']:.1f} "
                  f"| {st['ratio_maitre_spark_over_mllib']:.2f} |",
                  f"| maitre.ALS single process (+ from_parquet {st['maitre_from_parquet_seconds']:.1f} s) "
                  f"| {st['maitre_fit_seconds']:.1f} | {st['maitre_fit_seconds'] / st['mllib_fit_seconds']:.2f} |",
                  "", f"maitre.spark vs single-process factors: max relative difference "
                  f"{st['maitre_spark_max_rel_diff_vs_single']:.1e}."]
        tuning = results.get("storefront_tuning")
        if tuning:
            lines += ["", "Each library's grid tuned on a validation pair carved from training:", "",
                      "| library | tuned on | grid (regularization × alpha) | chosen regularization | alpha "
                      "| valid NDCG@10 |", "| --- | --- | --- | ---: | ---: | ---: |"]
            for lib in ("maitre", "mllib"):
                if lib not in tuning:
                    continue
                t, b = tuning[lib], tuning[lib]["best"]
                grid = (f"{{{', '.join(f'{x:g}' for x in t['grid']['regularization'])}}} × "
                        f"{{{', '.join(f'{x:g}' for x in t['grid']['alpha'])}}}")
                lines.append(f"| {lib} | {t['size']} ({t['split']['valid_test_users']:,} validation customers) "
                             f"| {grid} | {b['regularization']:g} | {b['alpha']:g} | {b['valid_ndcg@10']:.4f} |")
        q = st.get("quality")
        if q:
            sp = q["split"]
            lines += ["", f"Held out: {sp['split']} split of the purchases ({sp['test']:,} test purchases of "
                      f"{sp['test_users']:,} customers, every tested customer scored); the fitters train on "
                      f"{sp['train_events']:,} of {sp['events']:,} events:", "",
                      "| fitter | regularization | alpha | test NDCG@10 | test Recall@20 | fit wall s |",
                      "| --- | ---: | ---: | ---: | ---: | ---: |"]
            for lib, setting, secs in (("mllib", "mllib", st["mllib_fit_seconds"]),
                                       ("maitre.spark", "maitre", st["maitre_spark_fit_seconds"]),
                                       ("maitre", "maitre", st["maitre_fit_seconds"])):
                m, p = q["scores"][lib]["metrics"], st["settings"][setting]
                reg = f"{p['regularization']:g}"
                if p.get("regularization_exponent"):  # λ·(count)^ν: name the count and ν
                    reg += f" ({p['regularization_scale']}, ν {p['regularization_exponent']:g})"
                lines.append(f"| {lib} | {reg} | {p['alpha']:g} | {m['ndcg@10']:.4f} "
                             f"| {m['recall@20']:.4f} | {secs:.1f} |")
        ra = st.get("recommend_all")
        if ra and "error" in ra:
            lines += ["", f"recommend_all failed: {ra['error'][:300]}"]
        elif ra:
            lines += ["", f"recommend_all (k={ra['k']}) over {ra['customers']:,} customers, written as Parquet: "
                      f"{ra['recommend_all_write_seconds']:.1f} s; recommend_batch in one process: "
                      f"{ra['recommend_batch_seconds']:.1f} s; identical lists (items, in order): "
                      f"{ra['identical_lists']:,} of {ra['customers']:,}; max |score difference| "
                      f"{ra['max_abs_score_diff']:.1e}."]
    return "\n".join(lines)


def run(args):
    started = time.perf_counter()
    os.makedirs(args.work, exist_ok=True)
    import maitre
    import pyspark

    MAITRE_REG.update(regularization_scale=args.maitre_scale, regularization_exponent=args.maitre_exponent)
    spark = session(args.shuffle_partitions, args.driver_memory)
    blocks = args.blocks or spark.sparkContext.defaultParallelism
    seeds = list(range(args.seeds))
    results = {
        "what": "maitre.spark.fit_als and maitre.ALS vs pyspark.ml.recommendation.ALS(implicitPrefs=True)",
        "versions": {"pyspark": pyspark.__version__, "maitre": maitre.__version__,
                     "python": sys.version.split()[0], "java": subprocess.run(
                         ["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]},
        "environment": {"cpus": os.cpu_count(), "master": "local[2]", "loadavg_at_start": os.getloadavg(),
                        "mllib_blas": blas_in_use(spark)},
        "settings": {"factors": FACTORS, "iterations": ITERATIONS, "grid": GRID, "seeds": seeds,
                     "blocks_and_partitions": blocks, "shuffle_partitions": args.shuffle_partitions,
                     "selection": "best validation NDCG@10 (maitre's grid tuned single-process)",
                     "maitre_regularization": dict(MAITRE_REG)},
        "movielens": {},
    }
    log(f"[env] {results['environment']}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def save():
        # After every part, so a run cut short still leaves what it measured.
        results["benchmark_seconds"] = time.perf_counter() - started
        results["environment"]["loadavg_at_end"] = os.getloadavg()
        results["table"] = table(results)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")

    splits = [] if args.skip_movielens else args.splits.split(",")
    for split in splits:
        results["movielens"][split] = movielens_split(spark, args.peer, args.data, args.work,
                                                      split, seeds, blocks)
        save()
    quality = None
    if args.storefront_size != "none" and args.quality_split != "none":
        quality = {"split": args.quality_split}
        given = {"maitre": args.maitre_setting, "mllib": args.mllib_setting}
        earlier = tuning_of(args.tuning_from) if args.tuning_from else {}
        tuning = results["storefront_tuning"] = {}
        for lib in ("maitre", "mllib"):
            own_size = getattr(args, f"{lib}_tune_size")
            if given[lib]:
                quality[lib] = [float(x) for x in given[lib].split(",")]
                continue
            if own_size is None and lib in earlier:
                # The grid of an earlier run (its validation pair, its choice): tuning
                # MLlib costs a fit per grid point, so a large run can reuse a medium one's.
                tuning[lib] = earlier[lib]
            else:
                tuning[lib] = storefront_tune(spark, args.peer, args.work, lib,
                                              own_size or args.tune_size or args.storefront_size,
                                              args.storefront_seed, args.quality_split, blocks,
                                              args.half_life_days, args.storefront_factors,
                                              parse_grid(getattr(args, f"{lib}_grid")))
                save()
            quality[lib] = [tuning[lib]["best"]["regularization"], tuning[lib]["best"]["alpha"]]
    if args.storefront_size != "none":
        results["storefront"] = storefront(spark, args.peer, args.work, args.storefront_size,
                                           args.storefront_seed, blocks, args.half_life_days,
                                           args.storefront_factors, quality, args.recommend_all)
    spark.stop()
    save()
    print(results["table"])
    print(f"\nresults: {args.out} ({results['benchmark_seconds']:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--peer", required=True, help="the built examples/peer binary")
    r.add_argument("--data", required=True, help="MovieLens 100K atomic files")
    r.add_argument("--work", required=True, help="scratch directory")
    r.add_argument("--out", required=True, help="results JSON")
    r.add_argument("--seeds", type=int, default=3, help="test refits per library (seeds 0..n-1)")
    r.add_argument("--blocks", type=int, default=0,
                   help="MLlib's user/item blocks (0: default parallelism)")
    # fit_als solves in as many blocks as the shuffle partitions: 2, as many as
    # MLlib's blocks in local[2] (4 made each sweep ~25 % slower: more vectors
    # shipped twice, more tasks).
    r.add_argument("--shuffle-partitions", type=int, default=2)
    r.add_argument("--driver-memory", default="6g")
    r.add_argument("--storefront-size", default="medium",
                   help="synthetic_storefront size (tiny/small/medium/large or a customer count; none to skip)")
    r.add_argument("--storefront-seed", type=int, default=42)
    r.add_argument("--storefront-factors", type=int, default=FACTORS)
    r.add_argument("--half-life-days", type=float, default=60.0)
    r.add_argument("--skip-movielens", action="store_true")
    r.add_argument("--splits", default=",".join(SPLITS), help="comma-separated MovieLens splits")
    r.add_argument("--quality-split", default="none", choices=["none", "temporal", "leave-last-out"],
                   help="storefront: fit on the training events of this split of the purchases and score "
                        "NDCG@10 on the held-out ones (none: fit times on every event, as before)")
    r.add_argument("--tune-size", default=None,
                   help="storefront size whose validation pair tunes each library's grid (default: "
                        "--storefront-size)")
    r.add_argument("--maitre-tune-size", default=None, help="maitre's own tuning size (default --tune-size)")
    r.add_argument("--mllib-tune-size", default=None, help="MLlib's own tuning size (default --tune-size)")
    r.add_argument("--maitre-grid", default=None, metavar="REGS:ALPHAS",
                   help="maitre's storefront grid, e.g. 30,100:0.25,1 (default STOREFRONT_GRID)")
    r.add_argument("--mllib-grid", default=None, metavar="REGS:ALPHAS",
                   help="MLlib's storefront grid, e.g. 0.3,1:1,4 (default STOREFRONT_GRID)")
    r.add_argument("--tuning-from", default=None, metavar="JSON",
                   help="take each library's storefront tuning (grid and choice) from an earlier results "
                        "file, unless its own --LIB-tune-size is given")
    r.add_argument("--maitre-setting", default=None, metavar="REG,ALPHA",
                   help="maitre's regularization,alpha for the quality run (skips its tuning)")
    r.add_argument("--mllib-setting", default=None, metavar="REG,ALPHA",
                   help="MLlib's regParam,alpha for the quality run (skips its tuning)")
    r.add_argument("--maitre-scale", default="all_pairs", choices=["all_pairs", "observed"],
                   help="maitre.ALS's regularization_scale in every maitre fit (observed with "
                        "--maitre-exponent 1: ALS-WR, MLlib's regularisation)")
    r.add_argument("--maitre-exponent", type=float, default=0.0,
                   help="maitre.ALS's regularization_exponent in every maitre fit")
    r.add_argument("--recommend-all", action="store_true",
                   help="storefront: build a Recommender from the fit_als model and check "
                        "maitre.spark.recommend_all over every customer against recommend_batch")
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
