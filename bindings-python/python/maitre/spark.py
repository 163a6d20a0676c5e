"""maitre on Apache Spark: fit ALS over a cluster's events and score every
customer, on the engine a data team already runs (``pip install 'maitre[spark]'``).

Importing ``maitre`` never needs pyspark; importing ``maitre.spark`` does.

- ``fit_als(events, als)``: kind weights and time decay applied in Spark SQL,
  ids indexed in order of first appearance (as ``EventLog`` interns them),
  then alternating half-sweeps in which every partition solves its rows with
  ``ALS.solve_rows`` (the single-process solver, the same numbers). The fixed
  side reaches the executors by a join on the interactions, never by a
  broadcast of every factor; its Gram matrix by an aggregate of per-partition
  sums. Each sweep is checkpointed, so the plan does not grow with
  iterations. Returns a ``maitre.AlsModel``: everything downstream works.
- ``recommend_all(customers, recommender, k)``: ``mapInPandas`` with the
  recommender's bytes shipped once and the ``Recommender`` loaded once per
  Python worker; a Spark DataFrame (customer_id, rank, item_id, score, reason).

Not yet: identity links (events are taken under the ids they carry), and
segments or targeting over Spark.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

try:
    from pyspark.sql import DataFrame, SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as e:  # pragma: no cover - exercised only without pyspark
    raise ImportError("maitre.spark needs pyspark: pip install 'maitre[spark]'") from e

import maitre

__all__ = ["fit_als", "recommend_all", "interactions"]

# Epoch seconds accepted everywhere in maitre (events::check_timestamp).
_MIN_TIMESTAMP, _MAX_TIMESTAMP = 0, 4_102_444_800


def _kinds(kinds: Optional[Mapping[str, float]], scaled: Optional[Sequence[str]]) -> "Tuple[Dict[str, float], List[str]]":
    # The core validates the registry (empty, non-finite, unknown scaled kinds).
    log = maitre.EventLog(kinds, scaled=None if scaled is None else list(scaled))
    return log.kinds(), log.scaled_kinds()


def _seconds(column: Any, dtype: Any) -> Any:
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_timestamp(column)
    if isinstance(dtype, T.DateType):
        return F.unix_timestamp(F.to_timestamp(column))
    return column.cast("long")


def interactions(
    events: DataFrame,
    *,
    customer: str = "customer_id",
    item: str = "item_id",
    kind: str = "kind",
    timestamp: str = "timestamp",
    value: str = "value",
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    half_life_days: Optional[float] = None,
    reference_time: Optional[int] = None,
) -> "Tuple[DataFrame, DataFrame, DataFrame]":
    """The weighted, decayed, aggregated customer × item matrix, in Spark.

    Returns (matrix, customers, items): ``matrix`` has columns u, i (dense
    int indices) and w (the summed weight); ``customers`` and ``items`` map
    indices to ids (columns ``index``, ``id``), indexed in order of first
    appearance in ``events`` as ``EventLog`` interns them.

    Raises InvalidParamError for an unknown kind, a timestamp outside
    1970..2100 (milliseconds given as seconds, say), or a bad half-life.
    """
    weights, scaled_kinds = _kinds(kinds, scaled)
    if half_life_days is not None and not (math.isfinite(half_life_days) and half_life_days > 0):
        raise maitre.InvalidParamError(f"invalid parameter `half_life_days`: {half_life_days} must be positive")
    fields = {f.name: f.dataType for f in events.schema.fields}
    for name in (customer, item, kind, timestamp):
        if name not in fields:
            raise maitre.MissingColumnError(
                f"missing column `{name}` (present: {', '.join(fields)})"
            )
    has_value = value in fields
    df = events.select(
        F.col(customer).cast("string").alias("customer"),
        F.col(item).cast("string").alias("item"),
        F.trim(F.col(kind).cast("string")).alias("kind"),
        _seconds(F.col(timestamp), fields[timestamp]).alias("t"),
        (F.col(value).cast("double") if has_value else F.lit(None).cast("double")).alias("value"),
    ).withColumn("row", F.monotonically_increasing_id())
    checks = df.agg(
        F.sum(F.when(F.col("customer").isNull() | (F.trim("customer") == ""), 1).otherwise(0)).alias("no_customer"),
        F.sum(F.when(F.col("item").isNull() | (F.trim("item") == ""), 1).otherwise(0)).alias("no_item"),
        F.sum(F.when(F.col("t").isNull() | (F.col("t") < _MIN_TIMESTAMP) | (F.col("t") > _MAX_TIMESTAMP), 1)
              .otherwise(0)).alias("bad_time"),
        F.sum(F.when(~F.col("kind").isin(list(weights)), 1).otherwise(0)).alias("bad_kind"),
        F.max("t").alias("last"),
    ).first()
    if checks["no_customer"] or checks["no_item"]:
        raise maitre.InvalidParamError(
            f"{checks['no_customer']} events have no customer id and {checks['no_item']} no item id"
        )
    if checks["bad_time"]:
        raise maitre.InvalidParamError(
            f"{checks['bad_time']} timestamps are missing or outside 1970..2100 "
            f"(epoch seconds expected; divide milliseconds by 1000)"
        )
    if checks["bad_kind"]:
        unknown = [r[0] for r in df.where(~F.col("kind").isin(list(weights))).select("kind").distinct().limit(5).collect()]
        raise maitre.InvalidParamError(f"unknown event kinds {unknown} (known: {list(weights)})")
    now = reference_time if reference_time is not None else checks["last"]
    if now is None:
        raise maitre.NotEnoughDataError("not enough data: no events")
    rate = 0.0 if half_life_days is None else math.log(2) / (half_life_days * 86_400.0)
    weight = None  # a CASE over the registry: kind -> weight
    for name, w in weights.items():
        when = (F if weight is None else weight).when
        weight = when(F.col("kind") == name, F.lit(float(w)))
    scale = F.when(F.col("kind").isin(scaled_kinds) & F.col("value").isNotNull() & ~F.isnan("value"), F.col("value")).otherwise(1.0)
    age = F.greatest(F.lit(now) - F.col("t"), F.lit(0)).cast("double")
    df = df.withColumn("w", weight * scale * F.exp(-F.lit(rate) * age))

    def index(column: str) -> DataFrame:
        first = df.groupBy(column).agg(F.min("row").alias("first"))
        order = Window.orderBy("first")
        return first.select((F.row_number().over(order) - 1).alias("index"), F.col(column).alias("id"))

    customers, items = index("customer"), index("item")
    matrix = (
        df.join(customers.withColumnRenamed("id", "customer").withColumnRenamed("index", "u"), "customer")
        .join(items.withColumnRenamed("id", "item").withColumnRenamed("index", "i"), "item")
        .groupBy("u", "i")
        .agg(F.sum("w").cast("float").alias("w"))
    )
    return matrix, customers, items


_VECTOR = T.ArrayType(T.FloatType())


def _gram(vectors: DataFrame, k: int) -> np.ndarray:
    """Σ v vᵀ over a (index, vec) DataFrame: per-partition sums, then one sum."""
    schema = T.StructType([T.StructField("gram", T.ArrayType(T.DoubleType()))])

    def partial(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        total = np.zeros((k, k))
        for batch in batches:
            if len(batch):
                v = np.stack(batch["vec"].to_numpy()).astype(np.float64)
                total += v.T @ v
        yield pd.DataFrame({"gram": [total.ravel()]})

    parts = vectors.select("vec").mapInPandas(partial, schema).collect()
    return np.sum([np.asarray(r["gram"]) for r in parts], axis=0).reshape(k, k).astype(np.float32)


def _half_sweep(
    als: "maitre.ALS", matrix: DataFrame, target: DataFrame, fixed: DataFrame,
    row: str, col: str, partitions: int,
) -> DataFrame:
    """Solves every row of `target` (index, vec) against `fixed`: entries
    (row, col, w) joined with the fixed side's vectors, rows hash-partitioned,
    each partition solved in one ``solve_rows`` call."""
    k = als.params()["factors"]
    gram = _gram(fixed, k)
    other_rows = fixed.count()
    entries = matrix.join(fixed.select(F.col("index").alias(col), F.col("vec").alias("nvec")), col)
    rows = (
        target.select(F.col("index").alias(row), F.col("vec").alias("start"))
        .join(entries, row, "left")
        .repartition(partitions, row)
        .sortWithinPartitions(row, col)
    )
    schema = T.StructType([T.StructField("index", T.LongType()), T.StructField("vec", _VECTOR)])

    def solve(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [b for b in batches if len(b)]
        if not frames:
            return
        part = pd.concat(frames, ignore_index=True)
        ids = part[row].to_numpy()
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        present = part[col].notna().to_numpy()
        counts = np.add.reduceat(present.astype(np.int64), starts)
        indptr = np.r_[0, np.cumsum(counts)]
        start = np.stack(part["start"].to_numpy()[starts]).astype(np.float32)
        if present.any():
            neighbours = np.stack(part["nvec"].to_numpy()[present]).astype(np.float32)
        else:
            neighbours = np.zeros((0, k), np.float32)
        weights = part["w"].to_numpy()[present].astype(np.float32)
        solved = als.solve_rows(gram, other_rows, start, indptr, neighbours, weights)
        yield pd.DataFrame({"index": ids[starts].astype(np.int64), "vec": list(solved)})

    return rows.mapInPandas(solve, schema)


def _initial(spark: SparkSession, als: "maitre.ALS", ids: DataFrame, offset: int, partitions: int) -> DataFrame:
    """The fit's initial vectors for rows offset + index, drawn on the executors."""
    schema = T.StructType([T.StructField("index", T.LongType()), T.StructField("vec", _VECTOR)])

    def draw(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            idx = batch["index"].to_numpy().astype(np.int64)
            vecs = [als.initial_rows(offset + int(i), 1)[0] for i in idx]
            yield pd.DataFrame({"index": idx, "vec": vecs})

    return ids.select("index").repartition(partitions).mapInPandas(draw, schema)


def fit_als(
    events: DataFrame,
    als: Optional["maitre.ALS"] = None,
    *,
    customer: str = "customer_id",
    item: str = "item_id",
    kind: str = "kind",
    timestamp: str = "timestamp",
    value: str = "value",
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    half_life_days: Optional[float] = None,
    partitions: Optional[int] = None,
    progress: Any = None,
) -> "maitre.AlsModel":
    """Fits implicit ALS on a Spark DataFrame of events.

    Parameters:
        events: one event per row (the columns named below; value optional).
        als: the parameters (None: ``maitre.ALS()``, the defaults).
        customer, item, kind, timestamp, value: column names. Timestamps are
            Spark timestamps or epoch seconds.
        kinds, scaled: event kinds and weights, as ``maitre.EventLog``.
        half_life_days: decay of event weights with age (None: no decay).
        partitions: how many partitions each half-sweep solves in (None: the
            session's default parallelism).
        progress: called after each sweep with {"iteration", "iterations"}.

    Returns a ``maitre.AlsModel`` with ``customer_ids()`` and ``item_ids()``:
    on the same events and seed, the model ``maitre.ALS.fit`` gives (the same
    solver; sums in a different order move factors by float rounding only).
    """
    als = maitre.ALS() if als is None else als
    spark = events.sparkSession
    partitions = partitions or spark.sparkContext.defaultParallelism
    matrix, customers, items = interactions(
        events, customer=customer, item=item, kind=kind, timestamp=timestamp, value=value,
        kinds=kinds, scaled=scaled, half_life_days=half_life_days,
    )
    matrix = matrix.localCheckpoint()
    customers, items = customers.localCheckpoint(), items.localCheckpoint()
    n_customers = customers.count()
    users = _initial(spark, als, customers, 0, partitions).localCheckpoint()
    vectors = _initial(spark, als, items, n_customers, partitions).localCheckpoint()
    iterations = als.params()["iterations"]
    by_item = matrix.select(F.col("i").alias("u"), F.col("u").alias("i"), "w")
    for iteration in range(iterations):
        users = _half_sweep(als, matrix, users, vectors, "u", "i", partitions).localCheckpoint()
        vectors = _half_sweep(als, by_item, vectors, users, "u", "i", partitions).localCheckpoint()
        if progress is not None:
            progress({"iteration": iteration + 1, "iterations": iterations})

    def collect(vecs: DataFrame, ids: DataFrame) -> "Tuple[np.ndarray, List[str]]":
        rows = vecs.join(ids, "index").orderBy("index").toPandas()
        return np.stack(rows["vec"].to_numpy()).astype(np.float32), rows["id"].tolist()

    user_factors, customer_ids = collect(users, customers)
    item_factors, item_ids = collect(vectors, items)
    return maitre.AlsModel.from_factors(user_factors, item_factors, als, customer_ids, item_ids)


def recommend_all(
    customers: DataFrame,
    recommender: "maitre.Recommender",
    k: int = 10,
    *,
    customer: str = "customer_id",
    **rules: Any,
) -> DataFrame:
    """Top-k for every customer in ``customers`` (a DataFrame with a
    ``customer`` column), as a Spark DataFrame (customer_id, rank, item_id,
    score, reason: the reason code, as recommend_batch gives it). The recommender's bytes are shipped once (a broadcast)
    and loaded once per Python worker; ``rules`` are ``recommend_batch``'s
    keyword arguments (filters, diversity, ...). Unknown customers get the
    recommender's fallback (popular items)."""
    data = customers.sparkSession.sparkContext.broadcast(recommender.to_bytes())
    schema = T.StructType([
        T.StructField("customer_id", T.StringType()),
        T.StructField("rank", T.IntegerType()),
        T.StructField("item_id", T.StringType()),
        T.StructField("score", T.FloatType()),
        T.StructField("reason", T.StringType()),
    ])
    cache: Dict[str, Any] = {}

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        rec = cache.get("rec")
        if rec is None:
            rec = cache["rec"] = maitre.Recommender.from_bytes(data.value)
        for batch in batches:
            ids = batch[customer].astype(str).tolist()
            if not ids:
                continue
            out = rec.recommend_batch(ids, k=k, as_frame=True, **rules)
            out = out.rename(columns={"customer": "customer_id", "item": "item_id"})
            out["rank"] = out["rank"].astype("int32")
            out["score"] = out["score"].astype("float32")
            out["reason"] = out["reason"].astype(object) if len(out["reason"]) else None
            yield out[["customer_id", "rank", "item_id", "score", "reason"]]

    return customers.select(F.col(customer).cast("string").alias(customer)).mapInPandas(score, schema)
