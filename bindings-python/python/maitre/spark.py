"""maitre on Apache Spark: fit ALS over a cluster's events and score every
customer, on the engine a data team already runs (``pip install 'maitre[spark]'``).

Importing ``maitre`` never needs pyspark; importing ``maitre.spark`` does.

- ``fit_als(events, als)``: kind weights and time decay applied in Spark SQL,
  ids indexed in order of first appearance (as ``EventLog`` interns them),
  then alternating half-sweeps in which every partition solves its rows with
  ``ALS.solve_rows`` (the single-process solver, the same arithmetic per row). The fixed
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
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as e:  # pragma: no cover - exercised only without pyspark
    raise ImportError("maitre.spark needs pyspark and pyarrow: pip install 'maitre[spark]'") from e

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
_VECTORS = T.StructType([T.StructField("index", T.LongType()), T.StructField("vec", _VECTOR)])
# Entries gathered before one ``solve_rows`` call: large enough that the call
# and the Arrow conversions are amortised, small enough that a partition never
# holds more than this many neighbour vectors at once.
_SOLVE_ENTRIES = 1 << 16


def _matrix(column: Any, k: int) -> np.ndarray:
    """A list<float> Arrow column of k-vectors as one (n, k) array, without a
    Python object per row (``flatten`` honours slices and offsets)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, k)


def _vectors(index: np.ndarray, vectors: np.ndarray) -> "pa.RecordBatch":
    n, k = vectors.shape
    offsets = pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32))
    values = pa.ListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(vectors, np.float32).ravel()))
    return pa.RecordBatch.from_arrays([pa.array(index.astype(np.int64)), values], ["index", "vec"])


def _gram(vectors: DataFrame, k: int) -> np.ndarray:
    """Σ v vᵀ over a (index, vec) DataFrame: per-partition sums, then one sum."""
    schema = T.StructType([T.StructField("gram", T.ArrayType(T.DoubleType()))])

    def partial(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        total = np.zeros((k, k))
        for batch in batches:
            if batch.num_rows:
                v = _matrix(batch.column(0), k).astype(np.float64)
                total += v.T @ v
        yield pa.RecordBatch.from_pylist([{"gram": total.ravel().tolist()}])

    parts = vectors.select("vec").mapInArrow(partial, schema).collect()
    return np.sum([np.asarray(r["gram"]) for r in parts], axis=0).reshape(k, k).astype(np.float32)


def _half_sweep(
    als: "maitre.ALS", matrix: DataFrame, target: DataFrame, fixed: DataFrame,
    other_rows: int, partitions: int,
) -> DataFrame:
    """Solves every row of `target` (index, vec) against `fixed`.

    The entries (u, i, w) of `matrix` meet the fixed side's vectors in a join;
    each target row's start vector joins them once, as a pseudo-entry with
    i = -1 (not once per entry: that would ship k floats more per entry).
    Hash-partitioned by row and sorted, so a row's start comes first and its
    entries follow; each partition streams its rows into ``solve_rows`` in
    blocks of about ``_SOLVE_ENTRIES`` entries."""
    k = als.params()["factors"]
    gram = _gram(fixed, k)
    entries = matrix.join(fixed.select(F.col("index").alias("i"), "vec"), "i").select(
        F.col("u").cast("long"), F.col("i").cast("long"), F.col("w").cast("float"), "vec")
    starts = target.select(F.col("index").cast("long").alias("u"), F.lit(-1).cast("long").alias("i"),
                           F.lit(None).cast("float").alias("w"), "vec")
    rows = entries.unionByName(starts).repartition(partitions, "u").sortWithinPartitions("u", "i")

    def solve_block(table: "pa.Table") -> "pa.RecordBatch":
        u = table.column("u").to_numpy()
        i = table.column("i").to_numpy()
        vec = _matrix(table.column("vec"), k)
        first = i < 0
        heads = np.flatnonzero(first)
        counts = np.diff(np.r_[heads, len(u)]) - 1
        indptr = np.r_[0, np.cumsum(counts)]
        weights = table.column("w").to_numpy(zero_copy_only=False)[~first].astype(np.float32)
        solved = als.solve_rows(gram, other_rows, vec[first], indptr, vec[~first], weights)
        return _vectors(u[first], solved)

    def solve(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        pending: List["pa.RecordBatch"] = []
        size = 0
        for batch in batches:
            if not batch.num_rows:
                continue
            pending.append(batch)
            size += batch.num_rows
            if size < _SOLVE_ENTRIES:
                continue
            table = pa.Table.from_batches(pending)
            # The last row may go on in the next batch: keep it for later.
            last = int(np.flatnonzero(table.column("i").to_numpy() < 0)[-1])
            if last > 0:
                yield solve_block(table.slice(0, last))
            rest = table.slice(last)
            pending, size = rest.to_batches(), rest.num_rows
        if size:
            yield solve_block(pa.Table.from_batches(pending))

    return rows.mapInArrow(solve, _VECTORS)


def _initial(spark: SparkSession, als: "maitre.ALS", rows: int, offset: int, partitions: int) -> DataFrame:
    """The fit's initial vectors for rows offset + index, drawn on the
    executors: each partition holds a contiguous range, drawn in one call."""

    def draw(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        for batch in batches:
            idx = batch.column(0).to_numpy()
            if not len(idx):
                continue
            # spark.range keeps a partition's indices contiguous and ascending;
            # split into runs anyway, so any order would still be right.
            breaks = np.flatnonzero(np.diff(idx) != 1) + 1
            for run in np.split(idx, breaks):
                yield _vectors(run, als.initial_rows(offset + int(run[0]), len(run)))

    return spark.range(0, rows, numPartitions=max(1, min(partitions, rows))).select(
        F.col("id").alias("index")).mapInArrow(draw, _VECTORS)


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
    on the same events and seed, the model ``maitre.ALS.fit`` gives, up to the
    rounding of sums taken in another order: factors agree to 1e-4 after a
    couple of sweeps; over many sweeps the difference drifts along directions
    that barely change scores (up to 1e-2 after 15 sweeps on MovieLens, with
    NDCG@10 equal to three places). In ``local[2]`` it is slower than Spark
    MLlib's ALS today (see BENCHMARKS.md); for data that fits one machine,
    ``maitre.ALS`` is far faster than either.
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
    # Counted once: the Gram's other_rows never change between sweeps.
    n_customers, n_items = customers.count(), items.count()
    users = _initial(spark, als, n_customers, 0, partitions).localCheckpoint()
    vectors = _initial(spark, als, n_items, n_customers, partitions).localCheckpoint()
    iterations = als.params()["iterations"]
    by_item = matrix.select(F.col("i").alias("u"), F.col("u").alias("i"), "w")
    for iteration in range(iterations):
        users = _half_sweep(als, matrix, users, vectors, n_items, partitions).localCheckpoint()
        vectors = _half_sweep(als, by_item, vectors, users, n_customers, partitions).localCheckpoint()
        if progress is not None:
            progress({"iteration": iteration + 1, "iterations": iterations})

    def collect(vecs: DataFrame, ids: DataFrame) -> "Tuple[np.ndarray, List[str]]":
        rows = vecs.join(ids, "index").orderBy("index")
        k = als.params()["factors"]
        if hasattr(rows, "toArrow"):  # Spark >= 4: no Python object per row
            table = rows.toArrow()
            return _matrix(table.column("vec"), k), table.column("id").to_pylist()
        frame = rows.toPandas()
        return np.stack(frame["vec"].to_numpy()).astype(np.float32).reshape(-1, k), frame["id"].tolist()

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
