"""maitre on Apache Spark: fit ALS over a cluster's events and score every
customer, on the engine a data team already runs (``pip install 'maitre[spark]'``).

Importing ``maitre`` never needs pyspark; importing ``maitre.spark`` does.

- ``fit_als(events, als, links=...)``: identity links resolved in Spark
  (connected components by large-star/small-star rounds, the canonical name chosen
  as ``EventLog`` chooses it), kind weights and time decay applied in Spark
  SQL, ids indexed in order of first appearance (as ``EventLog`` interns them),
  then alternating half-sweeps in which each block of rows is solved with
  ``ALS.solve_rows`` (the single-process solver, the same arithmetic per row).
  The events cross into Python once per fit, as (row, column, weight)
  sent to their customer's block, where numpy sums them per (customer, item)
  and splits them by item block; both sides' blocks are packed from those
  arrays (how many entries each row has, each entry's weight and the
  position of its fixed vector, 8 bytes an entry) and cached, with the list
  of which rows each block of the other side needs. A block's solve writes,
  beside its new vectors and its share of the side's Gram matrix, the
  vectors each block of the other side will need (every vector once to each
  block that uses it, as MLlib ships its out-blocks; never a broadcast of
  every factor), and the next half-sweep meets them, its own start vectors
  and its cached entries in a cogroup. Each half-sweep is checkpointed, so
  the plan does not grow with iterations. Returns a ``maitre.AlsModel``: everything
  downstream works.
- ``recommend_all(customers, recommender, k)``: ``mapInPandas`` with the
  recommender's bytes shipped once and the ``Recommender`` loaded once per
  Python worker; a Spark DataFrame (customer_id, rank, item_id, score, reason).

- ``segments(events, items, k)``: every customer segmented by the categories
  of their visits, the profile computed in Spark SQL, the centres fitted
  with ``maitre.KMeans`` on the driver (on a seeded sample, if asked) and
  every customer assigned in the executors; each segment counted in Spark and
  described by the core, as ``maitre.segments`` describes it.
- ``rfm(events, items)``, ``advocates(events, items, n)``: RFM scores and
  groups, lifecycle stages, loyalty and advocates, ``maitre.rfm``'s and
  ``maitre.advocates``' rules in Spark SQL.
- ``target(events, model, item=... | category=..., k)``: the customers most
  likely to engage, each block of customers scored in the executors with the
  core's exact search and the best ``k`` merged, each with why; only some
  segments, stages or RFM groups if asked.
"""

from __future__ import annotations

import json
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

__all__ = ["fit_als", "recommend_all", "segments", "rfm", "advocates", "target", "interactions",
           "LinksNotConvergedError"]


class LinksNotConvergedError(maitre.MaitreError):
    """The identity links' connected components did not settle within
    ``link_rounds`` rounds (components far deeper than people's ids make):
    raise ``link_rounds``."""

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


def _link_pairs(links: DataFrame, alias: str, linked: str, timestamp: str) -> DataFrame:
    """The links as (a, c, lrow): alias and customer ids trimmed, as
    ``EventLog.link`` trims them, and numbered in row order. Raises
    MissingColumnError without the id columns; InvalidParamError for null or
    empty ids, or (when the links carry a ``timestamp`` column) a timestamp
    outside 1970..2100: the links ``EventLog.link`` refuses. Resolution, as
    in the core, never reads the timestamps."""
    fields = {f.name: f.dataType for f in links.schema.fields}
    for name in (alias, linked):
        if name not in fields:
            raise maitre.MissingColumnError(
                f"missing column `{name}` in the links (present: {', '.join(fields)})"
            )
    pairs = links.select(
        F.trim(F.col(alias).cast("string")).alias("a"),
        F.trim(F.col(linked).cast("string")).alias("c"),
        (_seconds(F.col(timestamp), fields[timestamp]) if timestamp in fields else F.lit(0).cast("long")).alias("t"),
    ).withColumn("lrow", F.monotonically_increasing_id())

    def empty(column: str) -> Any:
        return F.sum(F.when(F.col(column).isNull() | (F.col(column) == ""), 1).otherwise(0))

    checks = pairs.agg(
        empty("a").alias("no_alias"), empty("c").alias("no_customer"),
        F.sum(F.when(F.col("t").isNull() | (F.col("t") < _MIN_TIMESTAMP) | (F.col("t") > _MAX_TIMESTAMP), 1)
              .otherwise(0)).alias("bad_time"),
    ).first()
    no_alias, no_customer = checks["no_alias"] or 0, checks["no_customer"] or 0
    if no_alias or no_customer:
        raise maitre.InvalidParamError(
            f"{no_alias} identity links have a null or empty `{alias}` and {no_customer} a null or empty `{linked}`"
        )
    if checks["bad_time"]:
        raise maitre.InvalidParamError(
            f"{checks['bad_time']} identity link timestamps are missing or outside 1970..2100 "
            f"(epoch seconds expected; divide milliseconds by 1000)"
        )
    return pairs.select("a", "c", "lrow")


def _cut(df: DataFrame) -> DataFrame:
    """``df.localCheckpoint()`` rebuilt as a plain DataFrame over the
    checkpointed rows. Checkpointed alone, a loop that joins each round's
    result with itself slowed down twofold a round on a constant 101 rows
    (33 s for the 21st round, constraint propagation off or on): what the
    checkpoint keeps of its origin compounds. Rebuilt, every round costs the
    same."""
    spark = df.sparkSession
    rows = df.localCheckpoint()._jdf
    return DataFrame(spark._jsparkSession.createDataFrame(rows.javaRDD(), rows.schema()), spark)


def _link_names(pairs: DataFrame, rounds: int) -> DataFrame:
    """The canonical name of every id in a link: (id, name).

    Connected components in Spark, never collected to the driver. Each id
    gets a key that orders it as ``Identities::resolve`` ranks canonical
    names: "0" + id when it was on the customer side of some link (a known
    id), "1" + id otherwise; so a component's smallest key is its canonical
    name. The links become undirected edges (hi, lo) between keys (a self
    link is no edge: it only makes its id known), and the large-star and
    small-star steps of Kiveris et al. ("Connected Components in MapReduce
    and Beyond", 2014) alternate until the edges form one star per component
    around its smallest key: large-star links each edge's larger end to the
    smallest key next to its smaller end; small-star links each id's smaller
    neighbours (and itself) to the smallest of them. Both keep every
    component connected, and a chain of n links settles in O(log n) rounds
    (min-label propagation alone takes about n). Each step is checkpointed,
    so the plan does not grow. Raises LinksNotConvergedError if the edges
    are not stars after ``rounds`` rounds."""
    if rounds < 1:
        raise maitre.InvalidParamError(f"invalid parameter `link_rounds`: {rounds} must be at least 1")
    ends = pairs.select(F.col("a").alias("id"), F.lit(1).alias("anon")).unionByName(
        pairs.select(F.col("c").alias("id"), F.lit(0).alias("anon")))
    ids = _cut(ends.groupBy("id").agg(F.concat(F.min("anon").cast("string"), F.col("id")).alias("key")))
    key_a = ids.select(F.col("id").alias("a"), F.col("key").alias("ka"))
    key_c = ids.select(F.col("id").alias("c"), F.col("key").alias("kc"))
    keyed = pairs.join(key_a, "a").join(key_c, "c").where(F.col("ka") != F.col("kc"))
    edges = _cut(keyed.select(F.greatest("ka", "kc").alias("hi"), F.least("ka", "kc").alias("lo")).distinct())

    def large_star(edges: DataFrame) -> DataFrame:
        both = edges.unionByName(edges.select(F.col("lo").alias("hi"), F.col("hi").alias("lo")))
        smallest = both.groupBy("hi").agg(F.min("lo").alias("m")).withColumnRenamed("hi", "lo")
        out = edges.join(smallest, "lo").select("hi", F.least("lo", "m").alias("lo"))
        return _cut(out.distinct())

    def small_star(edges: DataFrame) -> DataFrame:
        smallest = edges.groupBy("hi").agg(F.min("lo").alias("m"))
        joined = edges.join(smallest, "hi")
        out = joined.where(F.col("lo") != F.col("m")).select(F.col("lo").alias("hi"), F.col("m").alias("lo"))
        out = out.unionByName(smallest.select("hi", F.col("m").alias("lo")))
        return _cut(out.distinct())

    for _ in range(rounds):
        edges = small_star(large_star(edges))
        # Stars around their smallest key: no id is both a leaf and a centre,
        # and no leaf has two centres.
        centres = edges.select(F.col("lo").alias("hi")).distinct()
        if edges.join(centres, "hi").count() == 0 and edges.groupBy("hi").count().where("count > 1").count() == 0:
            return ids.join(edges, F.col("key") == F.col("hi"), "left").select(
                "id", F.expr("substring(coalesce(lo, key), 2)").alias("name"))
    raise LinksNotConvergedError(
        f"identity links did not settle in {rounds} rounds of large-star/small-star "
        f"(`link_rounds`): components far deeper than expected; raise link_rounds"
    )


def _prepare(
    events: DataFrame, *, customer: str, item: str, kind: str, timestamp: str, value: str,
    kinds: Optional[Mapping[str, float]], scaled: Optional[Sequence[str]],
    half_life_days: Optional[float], reference_time: Optional[int], links: Optional[DataFrame],
    link_alias: str, link_customer: str, link_timestamp: str, link_rounds: int,
    channel: Optional[str] = None,
) -> "Tuple[DataFrame, DataFrame, DataFrame, Optional[DataFrame], int]":
    """The checked events (columns customer, as links resolve it; item, kind,
    t in epoch seconds, value, row, w: the decayed weight; and with
    ``channel``, a channel column: that column of the events as text, null
    where the events have none) and the customer and item id tables (index,
    id), as ``interactions`` documents them; with links, the canonical
    name of every linked id (id, name); and the reference time: the one
    given, else the last event's."""
    weights, scaled_kinds = _kinds(kinds, scaled)
    if half_life_days is not None and not (math.isfinite(half_life_days) and half_life_days > 0):
        raise maitre.InvalidParamError(f"invalid parameter `half_life_days`: {half_life_days} must be positive")
    fields = {f.name: f.dataType for f in events.schema.fields}
    for name in (customer, item, kind, timestamp):
        if name not in fields:
            raise maitre.MissingColumnError(
                f"missing column `{name}` (present: {', '.join(fields)})"
            )
    pairs = None if links is None else _link_pairs(links, link_alias, link_customer, link_timestamp)
    has_value = value in fields
    df = events.select(
        F.col(customer).cast("string").alias("customer"),
        F.col(item).cast("string").alias("item"),
        F.trim(F.col(kind).cast("string")).alias("kind"),
        _seconds(F.col(timestamp), fields[timestamp]).alias("t"),
        (F.col(value).cast("double") if has_value else F.lit(None).cast("double")).alias("value"),
        *([] if channel is None else [
            (F.col(channel).cast("string") if channel in fields else F.lit(None).cast("string")).alias("channel")]),
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

    def index(first: DataFrame, column: str) -> DataFrame:
        order = Window.orderBy("first")
        return first.select((F.row_number().over(order) - 1).alias("index"), F.col(column).alias("id"))

    def first_rows(column: str) -> DataFrame:
        return df.groupBy(column).agg(F.min("row").alias("first"))

    items = index(first_rows("item"), "item")
    names = None
    if pairs is None:
        customers = index(first_rows("customer"), "customer")
    else:
        names = _link_names(pairs, link_rounds)
        # Where each raw id was first interned: events first (by row), then
        # the links in order, alias before customer (as EventLog.link interns).
        seen = F.struct(F.lit(0).alias("part"), F.col("first").alias("row"), F.lit(0).alias("side"))
        occurrences = first_rows("customer").select(F.col("customer").alias("id"), seen.alias("first"))
        for column, side in (("a", 0), ("c", 1)):
            at = F.struct(F.lit(1).alias("part"), F.col("lrow").alias("row"), F.lit(side).alias("side"))
            occurrences = occurrences.unionByName(pairs.select(F.col(column).alias("id"), at.alias("first")))
        # A person's index: the first raw id of any of their ids.
        people = (occurrences.join(names, "id", "left")
                  .groupBy(F.coalesce("name", "id").alias("customer")).agg(F.min("first").alias("first")))
        customers = index(people, "customer")
        df = (df.join(names.withColumnRenamed("id", "customer"), "customer", "left")
              .withColumn("customer", F.coalesce("name", "customer")).drop("name"))
    return df, customers, items, names, now


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
    checkpoint_ids: bool = False,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
) -> "Tuple[DataFrame, DataFrame, DataFrame]":
    """The weighted, decayed, aggregated customer × item matrix, in Spark.

    Returns (matrix, customers, items): ``matrix`` has columns u, i (dense
    int indices) and w (the summed weight); ``customers`` and ``items`` map
    indices to ids (columns ``index``, ``id``), indexed in order of first
    appearance in ``events`` as ``EventLog`` interns them. With
    ``checkpoint_ids`` the two id tables are computed (and local-checkpointed)
    first and the matrix joins onto them, so the indexing runs once, not
    again for each table a caller materialises.

    ``links`` (optional) is a DataFrame of identity links, one
    ``EventLog.link(alias, customer, timestamp)`` per row, in the columns
    ``link_alias`` and ``link_customer`` (ids are trimmed of spaces, as
    ``link`` trims them; Spark's trim leaves tabs and other whitespace); a ``link_timestamp`` column, if present, is checked as ``link``
    checks it and otherwise unused, as in the core. Linked ids are one
    customer under the core's canonical name (the smallest id that was on the
    customer side of a link, else the smallest id), and customers are then
    indexed as an ``EventLog`` holding ``events`` followed by the links, in
    row order, indexes them: by the first raw id of each person, where the
    ids of events come first (in order of first appearance) and ids seen only
    in links after them (in link order, alias before customer). A person
    whose ids all appear only in links is a customer with no entries, as in
    the core. Components take at most ``link_rounds`` rounds of
    large-star/small-star (a chain of 1,000 links settles in 10).

    Raises MissingColumnError for a missing column (of the events or of the
    links), InvalidParamError for an unknown kind, a timestamp outside
    1970..2100 (milliseconds given as seconds, say), a bad half-life, or a
    link with a null or empty id or such a timestamp, and LinksNotConvergedError if the links
    need more than ``link_rounds`` rounds.
    """
    df, customers, items, _, _ = _prepare(
        events, customer=customer, item=item, kind=kind, timestamp=timestamp, value=value,
        kinds=kinds, scaled=scaled, half_life_days=half_life_days, reference_time=reference_time,
        links=links, link_alias=link_alias, link_customer=link_customer,
        link_timestamp=link_timestamp, link_rounds=link_rounds)
    if checkpoint_ids:
        customers, items = customers.localCheckpoint(), items.localCheckpoint()
    matrix = _cells(df, customers, items).groupBy("u", "i").agg(F.sum("w").cast("float").alias("w"))
    return matrix, customers, items


def _cells(df: DataFrame, customers: DataFrame, items: DataFrame) -> DataFrame:
    """Every checked event's (u, i, w): its customer and item indices and its
    weight, not yet summed per (u, i)."""
    return (df.join(customers.withColumnRenamed("id", "customer").withColumnRenamed("index", "u"), "customer")
            .join(items.withColumnRenamed("id", "item").withColumnRenamed("index", "i"), "item")
            .select("u", "i", "w"))


def _block_keys(spark: SparkSession, blocks: int) -> List[int]:
    """One grouping key per block, chosen so that Spark's hash partitioning
    sends block b to shuffle partition b: keys 0..blocks-1 themselves can
    collide (two blocks in one task, one core idle)."""
    found: Dict[int, int] = {}
    candidates = spark.range(0, 64 * blocks).select(
        F.col("id").cast("int").alias("key"), F.expr(f"pmod(hash(cast(id as int)), {blocks})").alias("part"))
    for row in candidates.collect():
        found.setdefault(int(row["part"]), int(row["key"]))
    return [found[b] for b in range(blocks)]


def _block(row: str, keys: List[int]) -> Any:
    """The block key of a target row (see ``_block_keys``). One type on both
    sides of the cogroup: an int key on one side and a long on the other
    would never meet."""
    return F.element_at(F.array(*[F.lit(k) for k in keys]), (F.col(row) % len(keys)).cast("int") + 1).cast(
        "int").alias("block")


_INT = T.IntegerType()
_BYTES = T.BinaryType()
# One row per block of target rows (the rows r with r % blocks == the
# block's position): its entries, summed per (row, column) and sorted by
# them, as compact as a half-sweep reads them — how many entries each of
# the block's rows has (`counts`, int32), each entry's weight (`w`,
# float32) and the position of its fixed vector among those the block
# receives (`columns`, int32), the fixed vectors arriving in the order
# `fixed` lists (int64: by source block, then by index; checked on every
# arrival) — and which of its rows each block of the other side needs
# (`ship`: row indices, int64, for block 0, then 1, ...; `ship_ptr`:
# blocks + 1 offsets into it). Entries cross to Python every half-sweep:
# 8 bytes each, not 20 (int64 row and column, float32 weight).
_ENTRIES = T.StructType([T.StructField(name, _INT if name == "block" else _BYTES)
                         for name in ("block", "counts", "columns", "w", "fixed", "ship", "ship_ptr")])
# What a half-sweep writes: for its own block (role 1) the new vectors of
# its rows (int64 indices, float32 row-major) and its share of the side's
# Gram matrix (float64, k × k); for each block of the other side (role 0)
# the vectors it needs, addressed to it by `block`.
_OUT = T.StructType([T.StructField("block", _INT), T.StructField("role", _INT), T.StructField("index", _BYTES),
                     T.StructField("vec", _BYTES), T.StructField("gram", _BYTES)])


def _arrow(struct: "T.StructType") -> "pa.Schema":
    """The Arrow schema of one of the structs above (int and binary fields)."""
    return pa.schema([(f.name, pa.int32() if f.dataType == _INT else pa.binary()) for f in struct.fields])


_ENTRIES_ARROW, _OUT_ARROW = _arrow(_ENTRIES), _arrow(_OUT)
_OWN, _SHIPPED = 1, 0


def _release(checkpoint: DataFrame) -> None:
    """Frees the blocks of a local checkpoint that is no longer read.
    ``unpersist`` does not reach them, and Spark's cleaner frees them only
    once the JVM's garbage collector has found them unreferenced: a fit's
    thirty half-sweeps would otherwise keep gigabytes (≈ 4 GB at 10 M
    events) in the session's storage memory after it returns, crowding
    whatever runs next."""
    try:
        checkpoint._jdf.logicalPlan().rdd().unpersist(False)
    except Exception:  # pragma: no cover - no JVM plan (Spark Connect) or other internals: the cleaner's job
        pass


def _table(batches: Iterator["pa.RecordBatch"], schema: "pa.Schema") -> "pa.Table":
    """The batches Spark sent as one table of `schema` (their columns by name:
    the JVM's schema may differ from it in nullability only)."""
    return pa.Table.from_batches([b.select(schema.names).cast(schema) for b in batches], schema)


def _one(table: "pa.Table", name: str) -> Any:
    return table.column(name)[0].as_py()


def _arrays(column: Any, dtype: Any) -> List[np.ndarray]:
    """Each value of a binary Arrow column as a numpy array over its bytes,
    without copying them (``as_py`` would copy every packed block)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = []
    for chunk in chunks:
        wide = pa.types.is_large_binary(chunk.type)
        _, offsets, data = chunk.buffers()
        at = np.frombuffer(offsets, np.int64 if wide else np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        size = np.dtype(dtype).itemsize
        out.extend(np.frombuffer(data, dtype, count=int(b - a) // size, offset=int(a)) for a, b in zip(at[:-1], at[1:]))
    return out


def _binary(parts: Sequence[np.ndarray]) -> "pa.Array":
    """A binary Arrow array holding each array's bytes, copied once (into one
    buffer), not three times (``tobytes``, then ``pa.array`` of the bytes)."""
    sizes = [p.nbytes for p in parts]
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise maitre.MaitreError(
            f"a block's output is {offsets[-1]} bytes, over Arrow's 2 GiB binary limit: "
            f"raise spark.sql.shuffle.partitions (more, smaller blocks)")
    data = np.empty(int(offsets[-1]), np.uint8)
    for part, a, b in zip(parts, offsets[:-1], offsets[1:]):
        data[a:b] = np.ascontiguousarray(part).reshape(-1).view(np.uint8)
    return pa.Array.from_buffers(pa.binary(), len(parts),
                                 [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])


def _packed(block: int, position: int, u: np.ndarray, i: np.ndarray, w: np.ndarray, rows: int, columns: int,
            blocks: int) -> "pa.RecordBatch":
    """One block's entries (one per (row, column): the matrix is summed) as
    an `_ENTRIES` row, sorted by (row, column) — the order of
    ``maitre.ALS.fit`` — with the rows each block of the other side needs.
    The block's rows are ``position, position + blocks, ...`` below `rows`;
    the other side has `columns` rows."""
    # One int64 key per entry (indices are below 2^31): one sort, not two,
    # and none for a customer block, which `_summed` left sorted.
    key = (u << 32) | i
    if len(key) > 1 and not (key[1:] > key[:-1]).all():
        order = np.argsort(key)
        u, i, w = u[order], i[order], w[order]
    local = u // blocks
    counts = np.bincount(local, minlength=len(range(position, rows, blocks))).astype(np.int32)
    # The fixed vectors arrive as one piece per source block (column % blocks),
    # each sorted by index; the solve puts the pieces in source order. Sets
    # of indices are found by marking them (linear), not by sorting.
    used = np.zeros(columns, bool)
    used[i] = True
    need = np.flatnonzero(used)
    fixed = need[np.argsort(need % blocks, kind="stable")]
    place = np.zeros(columns, np.int32)
    place[fixed] = np.arange(len(fixed), dtype=np.int32)
    # Which of this block's rows each block of the other side (column % blocks) needs.
    wanted = np.zeros((len(counts), blocks), bool)
    wanted[local, i % blocks] = True
    ship = [position + blocks * np.flatnonzero(wanted[:, d]) for d in range(blocks)]
    ptr = np.r_[0, np.cumsum([len(s) for s in ship])].astype(np.int64)
    return pa.RecordBatch.from_arrays(
        [pa.array([block], pa.int32()),
         *(_binary([a]) for a in (counts, place[i], w.astype(np.float32), fixed.astype(np.int64),
                                  np.concatenate(ship).astype(np.int64), ptr))],
        schema=_ENTRIES_ARROW)


# The summed entries of a block of one side, or the share of them a block
# of the other side gets (int32 rows and columns, float32 weights).
_SUMS = T.StructType([T.StructField("side", _INT), T.StructField("block", _INT), T.StructField("u", _BYTES),
                      T.StructField("i", _BYTES), T.StructField("w", _BYTES)])
_SUMS_ARROW = _arrow(_SUMS)


def _summed(u: np.ndarray, i: np.ndarray, w: np.ndarray) -> "Tuple[np.ndarray, np.ndarray, np.ndarray]":
    """One entry per (u, i), its weights summed (in float64, then float32, as
    ``interactions`` sums them), sorted by (u, i)."""
    key = (u << 32) | i  # indices are below 2^31: one sort, not two
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    summed = np.add.reduceat(w[order], first) if len(first) else np.zeros(0)
    return u[order][first], i[order][first], summed.astype(np.float32)


def _entries(cells: DataFrame, keys: List[int], customers: int, items: int) -> "Tuple[DataFrame, DataFrame]":
    """The packed entries (`_ENTRIES`) of each block of customers
    (``u % blocks``) and of each block of items (``i % blocks``) of the
    events' cells (u, i, w), each side cached in place: Spark's hash
    partitioning of the block keys gives each block its own partition and
    task, and each sweep moves a handful of large rows between the JVM and
    Python instead of one row per entry.

    The cells cross into Python once, repartitioned by customer block (no
    sort and no aggregation in the JVM, where each row costs about a
    microsecond more than in numpy); each customer block sums its entries and
    splits them by item block, and both sides are packed from those arrays."""
    blocks = len(keys)

    def split(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        got = _table(batches, schema)
        cell, w = got.column("cell").to_numpy(), got.column("w").to_numpy()
        u, i = cell >> 32, cell & 0xFFFFFFFF
        block = u % blocks
        for position in np.unique(block):
            mine = block == position
            bu, bi, bw = _summed(u[mine], i[mine], w[mine])
            out = [(0, keys[position], bu, bi, bw)]
            dst = bi % blocks
            out += [(1, keys[d], bi[dst == d], bu[dst == d], bw[dst == d]) for d in range(blocks) if (dst == d).any()]
            yield pa.RecordBatch.from_arrays(
                [pa.array([o[0] for o in out], pa.int32()), pa.array([o[1] for o in out], pa.int32()),
                 *(_binary([o[c].astype(np.int32 if c < 4 else np.float32) for o in out]) for c in (2, 3, 4))],
                schema=_SUMS_ARROW)

    def pack(rows: int, columns: int) -> Any:
        def run(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
            got = _table(batches, _SUMS_ARROW)
            block = got.column("block").to_numpy()
            u, i, w = (_arrays(got.column(c), t) for c, t in (("u", np.int32), ("i", np.int32), ("w", np.float32)))
            for key in np.unique(block):
                parts = np.flatnonzero(block == key)
                yield _packed(int(key), keys.index(int(key)), *(np.concatenate([a[p] for p in parts]).astype(t)
                                                                for a, t in ((u, np.int64), (i, np.int64), (w, np.float32))),
                              rows, columns, blocks)
        return run

    spark = cells.sparkSession
    # Two columns cross, not four: a column costs the JVM about as much per
    # row as the rest of the crossing (u and i go as one int64, u << 32 | i;
    # the block is u % blocks).
    schema = pa.schema([("cell", pa.int64()), ("w", pa.float64())])
    sums = cells.repartition(blocks, _block("u", keys)).select(
        ((F.col("u").cast("long") * (1 << 32)) + F.col("i").cast("long")).alias("cell"),
        F.col("w").cast("double")).mapInArrow(split, _SUMS)
    # An empty share per block and side: every block gets its row, even one
    # whose rows have no entries (customers known only from links).
    nothing = bytearray()
    placeholders = spark.createDataFrame([(side, key, nothing, nothing, nothing) for side in (0, 1) for key in keys],
                                         _SUMS)
    sums = sums.unionByName(placeholders).localCheckpoint()
    out = []
    for side, rows, columns in ((0, customers, items), (1, items, customers)):
        entries = sums.where(F.col("side") == side).repartition(blocks, "block").mapInArrow(
            pack(rows, columns), _ENTRIES).repartition(blocks, "block").cache()
        entries.count()
        out.append(entries)
    _release(sums)
    return out[0], out[1]


def _unpack_side(side: DataFrame, k: int) -> "Tuple[np.ndarray, np.ndarray]":
    """Every own row of a side (a half-sweep's output), sorted by index:
    (indices, vectors)."""
    rows = side.where(F.col("role") == _OWN).select("index", "vec").collect()
    index = np.concatenate([np.frombuffer(r["index"], np.int64) for r in rows])
    vec = np.concatenate([np.frombuffer(r["vec"], np.float32).reshape(-1, k) for r in rows])
    order = np.argsort(index, kind="stable")
    return index[order], vec[order]


def _side_gram(side: DataFrame, k: int) -> np.ndarray:
    """The Gram matrix of a side: the sum of its blocks' shares."""
    parts = side.where(F.col("role") == _OWN).select("gram").collect()
    return np.sum([np.frombuffer(r["gram"], np.float64) for r in parts], axis=0).reshape(k, k).astype(np.float32)


def _side_rows(block: int, rows: np.ndarray, vec: np.ndarray, ship: np.ndarray, ptr: np.ndarray,
               keys: List[int]) -> "pa.Table":
    """A block's output (`_OUT`): its own rows with their Gram share, and
    for each block of the other side the vectors of the rows it needs."""
    share = vec.astype(np.float64)
    blocks, index, out_vec, out_gram = [block], [rows], [vec], [share.T @ share]
    for d in range(len(keys)):
        need = ship[ptr[d]:ptr[d + 1]]
        if len(need):
            blocks.append(keys[d])
            index.append(need)
            out_vec.append(vec[np.searchsorted(rows, need)])
            out_gram.append(np.zeros(0))
    role = [_OWN] + [_SHIPPED] * (len(blocks) - 1)
    return pa.Table.from_arrays([pa.array(blocks, pa.int32()), pa.array(role, pa.int32()),
                                 _binary(index), _binary(out_vec), _binary(out_gram)], schema=_OUT_ARROW)


def _half_sweep(
    als: "maitre.ALS", entries: DataFrame, target: DataFrame, fixed: DataFrame,
    gram: np.ndarray, other_rows: int, keys: List[int],
) -> DataFrame:
    """Solves every row of side `target` (the previous output of this side)
    against the vectors side `fixed` shipped to it (`fixed`'s Gram matrix
    is `gram`); returns this side's new output (`_OUT`).

    Each block meets its cached entries, its own start vectors and the fixed
    vectors addressed to it in a cogroup, solves its rows in one
    ``solve_rows`` call (each fixed vector passed once), and writes, beside
    its new vectors and its Gram share, the vectors each block of the other
    side will need: the next half-sweep reads them without a join."""
    k = als.params()["factors"]
    blocks = len(keys)
    # A task owns spark.task.cpus cores: the solver's threads must not
    # outnumber them (the result does not depend on the thread count).
    cpus = int(entries.sparkSession.sparkContext.getConf().get("spark.task.cpus", "1"))
    solver = maitre.ALS(**{**als.params(), "threads": cpus})
    vectors = fixed.where(F.col("role") == _SHIPPED).unionByName(target.where(F.col("role") == _OWN)).select(
        "block", "role", "index", "vec")

    def solve(left: "pa.Table", right: "pa.Table") -> "pa.Table":
        role = right.column("role").to_numpy()
        if left.num_rows == 0 or not (role == _OWN).any():  # a block with no rows: nothing to solve
            return pa.Table.from_batches([], _OUT_ARROW)
        indices = _arrays(right.column("index"), np.int64)
        vecs = _arrays(right.column("vec"), np.float32)
        own = [r for r in range(right.num_rows) if role[r] == _OWN]
        # One piece of fixed vectors per source block (its rows are
        # index % blocks), put in source order: the order the entries'
        # `columns` point into, fixed when the entries were packed.
        other = sorted((r for r in range(right.num_rows) if role[r] == _SHIPPED),
                       key=lambda r: int(indices[r][0]) % blocks)
        rows, start = indices[own[0]], vecs[own[0]].reshape(-1, k)
        fixed_index = np.concatenate([indices[r] for r in other]) if other else np.zeros(0, np.int64)
        fixed_vec = np.concatenate([vecs[r] for r in other]) if other else np.zeros(0, np.float32)
        counts, columns, w, expected, ship, ptr = (
            _arrays(left.column(c), t)[0] for c, t in (
                ("counts", np.int32), ("columns", np.int32), ("w", np.float32), ("fixed", np.int64),
                ("ship", np.int64), ("ship_ptr", np.int64)))
        if not np.array_equal(fixed_index, expected) or len(counts) != len(rows):
            raise maitre.MaitreError("internal: a fixed vector did not reach its block")
        indptr = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        out = solver.solve_rows(gram, other_rows, start, indptr, fixed_vec, w, columns=columns)
        return _side_rows(_one(left, "block"), rows, out, ship, ptr, keys)

    return entries.groupBy("block").cogroup(vectors.groupBy("block")).applyInArrow(solve, _OUT)


def _initial_side(als: "maitre.ALS", entries: DataFrame, rows: int, offset: int, keys: List[int],
                  ship: bool) -> DataFrame:
    """The fit's initial vectors for rows offset + index (index < `rows`)
    as a half-sweep's output (`_OUT`), drawn on the executors block by block
    (``index % blocks``): every row's draw depends only on its position
    (``ALS.initial_rows``). With `ship`, the vectors each block of the other
    side needs are written too (the first customer half-sweep reads the
    items' initial vectors)."""
    k = als.params()["factors"]
    blocks = len(keys)

    def draw(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        for batch in batches:
            for r in range(batch.num_rows):
                key = batch.column("block")[r].as_py()
                position = keys.index(key)
                index = np.arange(position, rows, blocks, dtype=np.int64)
                if not len(index):
                    continue
                # Drawn in runs of rows, each run's every blocks-th row kept:
                # one call per run, not one per row.
                run = blocks * 8192
                vec = np.concatenate([als.initial_rows(offset + first, min(run, rows - first))[position::blocks]
                                      for first in range(0, rows, run)])
                targets, ptr = ((_arrays(batch.column(c).slice(r, 1), np.int64)[0] for c in ("ship", "ship_ptr"))
                                if ship else (np.zeros(0, np.int64), np.zeros(blocks + 1, np.int64)))
                yield from _side_rows(key, index, vec, targets, ptr, keys).to_batches()

    return entries.mapInArrow(draw, _OUT)


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
    progress: Any = None,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
) -> "maitre.AlsModel":
    """Fits implicit ALS on a Spark DataFrame of events.

    Parameters:
        events: one event per row (the columns named below; value optional).
        als: the parameters (None: ``maitre.ALS()``, the defaults).
        customer, item, kind, timestamp, value: column names. Timestamps are
            Spark timestamps or epoch seconds.
        kinds, scaled: event kinds and weights, as ``maitre.EventLog``.
        half_life_days: decay of event weights with age (None: no decay).
        progress: called after each sweep with {"iteration", "iterations"}.
        links: identity links, one ``EventLog.link(alias, customer,
            timestamp)`` per row (None: events are taken under the ids they
            carry). Resolved in Spark as ``interactions`` describes: linked
            ids become one customer under the core's canonical name, indexed
            as an ``EventLog`` holding the events and then these links (in
            row order) indexes them.
        link_alias, link_customer, link_timestamp: the links' column names
            (the timestamp column is optional, checked and otherwise unused,
            as in the core).
        link_rounds: at most this many rounds of large-star/small-star
            (``LinksNotConvergedError`` beyond; a chain of 1,000 links
            settles in 10).

    Raises MissingColumnError, InvalidParamError (bad events, links with a
    null or empty id or a bad timestamp, 2^31 customers or items or more) or
    LinksNotConvergedError before any fitting starts.

    Rows are solved in as many blocks as ``spark.sql.shuffle.partitions``:
    set that to about the number of cores (the default 200 is for large
    clusters; in ``local[2]`` 2 blocks made sweeps ~25 % faster than 4: each
    vector is shipped to fewer blocks). Each task solves with
    ``spark.task.cpus`` threads.

    Returns a ``maitre.AlsModel`` with ``customer_ids()`` and ``item_ids()``:
    on the same events, links and seed, the model ``maitre.ALS.fit`` gives
    (customers in the same order, under the same canonical names), up to the
    rounding of sums taken in another order: factors agree to 1e-4 after a
    couple of sweeps; over many sweeps the difference drifts along directions
    that barely change scores (up to 1e-2 after 15 sweeps on MovieLens, with
    NDCG@10 equal to three places). In ``local[2]`` it took 0.28–0.32× the
    time of Spark MLlib's ALS at 10 M events (same runs) and was slower than
    it at 1 M events and below in earlier runs (see BENCHMARKS.md); for data
    that fits one machine, ``maitre.ALS`` is far faster than either.
    """
    als = maitre.ALS() if als is None else als
    spark = events.sparkSession
    # Rows are solved in as many blocks as the session's shuffle partitions
    # (the cogroup's partitioning, so the cached entries are read in place).
    blocks = int(spark.conf.get("spark.sql.shuffle.partitions"))
    df, customers, items, _, _ = _prepare(
        events, customer=customer, item=item, kind=kind, timestamp=timestamp, value=value,
        kinds=kinds, scaled=scaled, half_life_days=half_life_days, reference_time=None,
        links=links, link_alias=link_alias, link_customer=link_customer, link_timestamp=link_timestamp,
        link_rounds=link_rounds,
    )
    customers, items = customers.localCheckpoint(), items.localCheckpoint()
    # Counted once: the Gram's other_rows never change between sweeps.
    n_customers, n_items = customers.count(), items.count()
    if max(n_customers, n_items) >= 2**31:
        raise maitre.InvalidParamError(
            f"{n_customers} customers and {n_items} items: fit_als indexes each side below 2^31")
    iterations = als.params()["iterations"]
    keys = _block_keys(spark, blocks)
    by_user, by_item = _entries(_cells(df, customers, items), keys, n_customers, n_items)
    k = als.params()["factors"]
    users = _initial_side(als, by_user, n_customers, 0, keys, ship=False).localCheckpoint()
    vectors = _initial_side(als, by_item, n_items, n_customers, keys, ship=True).localCheckpoint()
    item_gram = _side_gram(vectors, k)
    for iteration in range(iterations):
        done, users = users, _half_sweep(als, by_user, users, vectors, item_gram, n_items, keys).localCheckpoint()
        _release(done)
        done, vectors = vectors, _half_sweep(als, by_item, vectors, users, _side_gram(users, k), n_customers,
                                             keys).localCheckpoint()
        _release(done)
        item_gram = _side_gram(vectors, k)
        if progress is not None:
            progress({"iteration": iteration + 1, "iterations": iterations})

    def collect(side: DataFrame, ids: DataFrame, rows: int) -> "Tuple[np.ndarray, List[str]]":
        index, vec = _unpack_side(side, k)
        if not np.array_equal(index, np.arange(rows)):
            raise maitre.MaitreError(f"internal: a half-sweep returned {len(index)} of {rows} rows")
        ordered = ids.orderBy("index").select("id")
        names = ordered.toArrow().column("id").to_pylist() if hasattr(ordered, "toArrow") else [
            r["id"] for r in ordered.collect()]
        return vec, names

    user_factors, customer_ids = collect(users, customers, n_customers)
    item_factors, item_ids = collect(vectors, items, n_items)
    for entries in (by_user, by_item):
        entries.unpersist()
    for checkpoint in (users, vectors, customers, items):
        _release(checkpoint)
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


def segments(
    events: DataFrame,
    items: Any,
    k: Optional[int] = None,
    *,
    customer: str = "customer_id",
    item: str = "item_id",
    kind: str = "kind",
    timestamp: str = "timestamp",
    value: str = "value",
    channel: str = "channel",
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
    fit_min_days: int = 1,
    fit_sample: Optional[int] = None,
    seed: int = 0,
    n_init: int = 1,
    threads: Optional[int] = None,
) -> "Tuple[DataFrame, pd.DataFrame]":
    """Segments every customer by the categories of their visits, in Spark:
    ``maitre.segments``' category-share profile, computed in Spark SQL.

    Each customer's profile counts a visit once per category it touched
    (distinct calendar day x category, over the catalogue's products, content
    and offers that have one; services do not count), and holds the square
    roots of the shares. The centres are fitted with ``maitre.KMeans`` on the
    driver, on the profiles of the customers active on at least
    ``fit_min_days`` distinct days (at most ``fit_sample`` of them, a sample
    seeded by ``seed``; None: all), in the order ``EventLog`` indexes
    customers; every customer then joins the nearest centre in the executors
    (the core's ``predict``). With the same data, the same seed and
    ``fit_min_days`` above 1, the segments are ``maitre.segments``' own.

    Parameters:
        events, customer ... link_rounds: as ``interactions`` (identity links
            resolved in Spark, the same checks and typed errors).
        channel: the events' channel column (its context ``channel`` in an
            ``EventLog``), if they have one: the segments' channel shares.
        items: the catalogue, a pandas DataFrame or mapping of columns
            (``id``, ``category``, optionally ``kind``), as
            ``Recommender.build`` takes it.
        k: the number of segments; None chooses it (2 to 10) by silhouette.
        fit_min_days, fit_sample, seed, n_init, threads: the fit, above.

    Returns ``(customers, segments)``: a Spark DataFrame (customer, segment)
    of every customer, and a pandas DataFrame with one row per segment, the
    columns of ``maitre.segments``' (segment, size, value,
    value_per_customer, categories, brands, channels, description), counted
    in Spark and worded by the core; purchases are the ``purchase`` kind.
    With the same segments the summary is ``maitre.segments``' own, the
    values up to the order of a floating-point sum.

    Raises InvalidParamError for a bad parameter or event (as
    ``interactions``), NotEnoughDataError when no catalogue item has a
    category or no customer qualifies for the fit.
    """
    for name, n in (("fit_min_days", fit_min_days), ("fit_sample", fit_sample)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise maitre.InvalidParamError(f"invalid parameter `{name}`: {n!r} must be a positive integer")
    catalogue = maitre._recommend._items(items)
    categories: Dict[str, str] = {}
    for i, c, kd in zip(catalogue["id"], catalogue["category"], catalogue["kind"]):
        if c is not None and (kd is None or kd.strip().lower() != "service"):
            categories[i] = c
    names = sorted(set(categories.values()))
    if not names:
        raise maitre.NotEnoughDataError("not enough data: no product in the catalogue has a category")
    dim = len(names)
    df, customers, _, _, _ = _prepare(
        events, customer=customer, item=item, kind=kind, timestamp=timestamp, value=value,
        kinds=kinds, scaled=scaled, half_life_days=None, reference_time=None, links=links,
        link_alias=link_alias, link_customer=link_customer, link_timestamp=link_timestamp,
        link_rounds=link_rounds, channel=channel)
    spark = events.sparkSession
    column = {n: c for c, n in enumerate(names)}
    lookup = spark.createDataFrame(
        [(i, column[c]) for i, c in categories.items()], "item string, category int")
    days = df.select("customer", F.floor(F.col("t") / 86_400).alias("day"))
    visits = (df.select("customer", "item", F.floor(F.col("t") / 86_400).alias("day"))
              .join(F.broadcast(lookup), "item").select("customer", "day", "category").distinct())
    # Used for the profiles and again for the summary: computed once.
    counts = visits.groupBy("customer", "category").agg(F.count(F.lit(1)).cast("double").alias("n")).localCheckpoint()
    profile = (counts.groupBy("customer")
               .agg(F.map_from_entries(F.collect_list(F.struct("category", "n"))).alias("counts")))
    active = days.groupBy("customer").agg(F.countDistinct("day").alias("days"))
    people = (customers.select(F.col("index"), F.col("id").alias("customer"))
              .join(active, "customer", "left").join(profile, "customer", "left")
              .localCheckpoint())

    def rows(pdf: pd.DataFrame) -> np.ndarray:
        x = np.zeros((len(pdf), dim), dtype=np.float32)
        for r, m in enumerate(pdf["counts"]):
            if m is None:
                continue
            pairs = list(m.items() if hasattr(m, "items") else m)  # a dict, or Arrow's (key, value) list
            total = float(sum(n for _, n in pairs))
            for c, n in pairs:
                x[r, c] = math.sqrt(n / total)
        return x

    fit = people.where(F.coalesce(F.col("days"), F.lit(0)) >= fit_min_days)
    if fit_sample is not None:
        fit = fit.orderBy(F.xxhash64("customer", F.lit(seed)), "index").limit(fit_sample)
    chosen = fit.select("index", "counts").toPandas().sort_values("index")
    if chosen.empty:
        raise maitre.NotEnoughDataError(
            f"not enough data: no customer active on {fit_min_days} or more days to fit the centres")
    model = maitre.KMeans(k, seed=seed, n_init=n_init, threads=threads).fit(rows(chosen))
    centres = spark.sparkContext.broadcast(model.cluster_centers_)

    def assign(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                labels = maitre._maitre.kmeans_predict(centres.value, dim, rows(batch))
                yield pd.DataFrame({"customer": batch["customer"], "segment": labels.astype("int32")})

    labelled = people.select("customer", "counts").mapInPandas(
        assign, "customer string, segment int").localCheckpoint()
    return labelled, _segment_summary(df, labelled, catalogue, len(model.cluster_centers_))


def _segment_summary(df: DataFrame, labelled: DataFrame, catalogue: Mapping[str, list], k: int) -> pd.DataFrame:
    """``maitre.segments``' summary of each segment, counted in Spark and
    worded by the core (``describe_segments``): size; purchase value (price
    x quantity, or the value itself for an item without a price) in total
    and per customer; the top categories and brands of its product events;
    its top channels; a one-sentence description."""
    spark = df.sparkSession
    lookup = spark.createDataFrame(
        [
            (i, product, c if product else None, b if product else None,
             None if p is None else float(np.float32(p)))  # prices are f32 in the core
            for i, kd, c, b, p in zip(catalogue["id"], catalogue["kind"], catalogue["category"],
                                      catalogue["brand"], catalogue["price"])
            for product in [kd is None or kd.strip().lower() == "product"]
        ],
        "item string, product boolean, category string, brand string, price double")
    rows = df.join(labelled, "customer").join(F.broadcast(lookup), "item", "left")
    tallies = [{"id": s, "size": 0, "value": 0.0, "categories": {}, "brands": {}, "channels": {}} for s in range(k)]
    for column, key in (("category", "categories"), ("brand", "brands"), ("channel", "channels")):
        for r in (rows.where(F.col(column).isNotNull()).groupBy("segment", column)
                  .agg(F.count(F.lit(1)).alias("n")).collect()):
            tallies[r["segment"]][key][r[column]] = float(r["n"])
    for r in labelled.groupBy("segment").agg(F.count(F.lit(1)).alias("size")).collect():
        tallies[r["segment"]]["size"] = int(r["size"])
    v = F.col("value").cast("float").cast("double")  # values are f32 in the core
    finite = v.isNotNull() & ~F.isnan(v) & (F.abs(v) != math.inf)
    amount = (F.when(F.col("price").isNotNull(), F.col("price") * F.when(finite & (v > 0), v).otherwise(1.0))
              .when(finite, v).otherwise(0.0))
    for r in rows.where(F.col("kind") == "purchase").groupBy("segment").agg(F.sum(amount).alias("v")).collect():
        tallies[r["segment"]]["value"] = float(r["v"])
    # Every customer has a segment, so everyone's counts are the segments' sum.
    overall: Dict[str, float] = {}
    for t in tallies:
        for name, n in t["categories"].items():
            overall[name] = overall.get(name, 0.0) + n
    described = maitre._maitre.describe_segments(
        json.dumps(tallies), json.dumps(overall), sum(t["size"] for t in tallies))
    return maitre._customers._segment_frame(described)
    return labelled, summary


_COLUMNS = {"customer": "customer_id", "item": "item_id", "kind": "kind", "timestamp": "timestamp", "value": "value"}


# The lifecycle settings `maitre.rfm` uses (core::customers::CustomerSettings).
_NEW_DAYS, _AT_RISK_GAPS, _LAPSED_GAPS, _PRIOR_GAPS = 30.0, 2.0, 5.0, 1.0
_DAY = 86_400.0
_STAGES = ("prospect", "new", "active", "at_risk", "lapsed")
_RFM_GROUPS = ("champions", "loyal", "new", "cant_lose", "at_risk", "hibernating", "needs_attention", "prospect")


def _middle(sorted_values: Any) -> Any:
    """The median of a sorted, non-empty array column, as the core takes it
    (the middle value, or half the sum of the two middle values)."""
    n = F.size(sorted_values)
    half = F.floor(n / 2).cast("int")
    upper = F.element_at(sorted_values, half + 1)
    return F.when(n % 2 == 1, upper).otherwise(
        F.lit(0.5) * (F.element_at(sorted_values, F.greatest(half, F.lit(1))) + upper))


def _quantile(column: str) -> Any:
    """The core's mid-rank quantile of `column` among all rows of its frame:
    (below + equal / 2) / n."""
    below = F.rank().over(Window.orderBy(column)) - 1
    equal = F.count(F.lit(1)).over(Window.partitionBy(column))
    n = F.count(F.lit(1)).over(Window.partitionBy(F.lit(1)))
    return (below.cast("double") + F.lit(0.5) * equal.cast("double")) / n.cast("double")


def _score(column: str) -> Any:
    """The core's quantile score 1-5 of `column` among the rows (buyers):
    1 + floor(5 q)."""
    return F.least(F.lit(1) + F.floor(F.lit(5.0) * _quantile(column)), F.lit(5)).cast("int")


def _rfm_frame(df: DataFrame, customers: DataFrame, items: Any, now: int) -> DataFrame:
    """RFM and lifecycle of every customer (the `customers` id table) from
    `_prepare`'s events: ``maitre.rfm``'s rules and arithmetic (the core's
    `customers::rfm`), its sums in each customer's time order."""
    spark = df.sparkSession
    catalogue = None if items is None else maitre._recommend._items(items)
    prices = spark.createDataFrame(
        [(i, p) for i, p in zip(catalogue["id"], catalogue["price"]) if p is not None] if catalogue else [],
        "item string, price float")
    # The log keeps values and the catalogue prices as float32; the core
    # multiplies and sums them as float64.
    v = F.col("value").cast("float").cast("double")
    price = F.col("price").cast("double")
    has_v = F.col("value").isNotNull() & ~F.isnan("value")
    amount = (F.when(price.isNotNull(), price * F.when(has_v & (v > 0), v).otherwise(1.0))
              .when(has_v, v).otherwise(0.0))
    bought = (df.where(F.col("kind") == "purchase").join(F.broadcast(prices), "item", "left")
              .select("customer", "t", "row", amount.alias("amount")))
    per = bought.groupBy("customer").agg(
        F.array_sort(F.collect_list(F.struct("t", "row", "amount"))).alias("rows"),
        F.array_sort(F.collect_set(F.floor(F.col("t") / _DAY).cast("long"))).alias("days"),
        F.min("t").alias("first"), F.max("t").alias("last"))
    gaps = F.zip_with(F.slice("days", 2, F.size("days")), F.slice("days", 1, F.size("days") - 1),
                      lambda a, b: (a - b).cast("double"))
    per = per.select(
        "customer", "first", "last", F.size("days").alias("frequency"),
        F.aggregate("rows", F.lit(0.0), lambda acc, r: acc + r["amount"]).alias("monetary"),
        F.array_sort(gaps).alias("gaps"))
    per = per.withColumn("own", F.when(F.size("gaps") > 0, _middle(F.col("gaps"))))
    # The population's typical gap: the median of the customers' own, or,
    # with no repeat buyer at all, a month (the core's stated fallback).
    # Spark's exact percentile interpolates the two middle values as
    # 0.5 a + 0.5 b, which is the core's 0.5 (a + b) to the bit; it keeps a
    # count per distinct value, and medians of whole-day gaps are few.
    prior = per.agg(F.expr("percentile(own, 0.5)")).first()[0]
    prior = 30.0 if prior is None else float(prior)
    n_gaps = F.size("gaps").cast("double")
    gap = F.greatest(F.when(F.col("own").isNotNull(),
                            (n_gaps * F.col("own") + F.lit(_PRIOR_GAPS) * F.lit(prior)) / (n_gaps + F.lit(_PRIOR_GAPS)))
                     .otherwise(F.lit(prior)), F.lit(1.0))
    since = F.greatest((F.lit(now) - F.col("last")).cast("double") / F.lit(_DAY), F.lit(0.0))
    age = F.greatest((F.lit(now) - F.col("first")).cast("double") / F.lit(_DAY), F.lit(0.0))
    per = per.select(
        "customer", since.alias("recency_days"), "frequency", "monetary",
        _score("last").alias("r"), _score("frequency").alias("f"), _score("monetary").alias("m"),
        gap.alias("typical_gap_days"), since.alias("since"), age.alias("age"))
    r, f, m = F.col("r"), F.col("f"), F.col("m")
    group = (F.when((r >= 4) & (f >= 4), "champions").when((r >= 3) & (f >= 3), "loyal")
             .when((r >= 4) & (f <= 2), "new").when((r <= 2) & (f >= 4) & (m >= 4), "cant_lose")
             .when((r <= 2) & (f >= 3), "at_risk").when((r <= 2) & (f <= 2), "hibernating")
             .otherwise("needs_attention"))
    stage = (F.when(F.col("since") > F.lit(_LAPSED_GAPS) * F.col("typical_gap_days"), "lapsed")
             .when(F.col("since") > F.lit(_AT_RISK_GAPS) * F.col("typical_gap_days"), "at_risk")
             .when(F.col("age") <= F.lit(_NEW_DAYS), "new").otherwise("active"))
    per = per.select("customer", "recency_days", "frequency", "monetary", "r", "f", "m",
                     group.alias("group"), stage.alias("stage"), "typical_gap_days")
    everyone = customers.select(F.col("id").alias("customer"), F.col("index"))
    out = everyone.join(per, "customer", "left").join(_loyalty_counts(df), "customer", "left")
    out = out.select(
        "customer", "recency_days", F.coalesce("frequency", F.lit(0)).alias("frequency"),
        F.coalesce("monetary", F.lit(0.0)).alias("monetary"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("r", "f", "m")],
        F.coalesce("group", F.lit("prospect")).alias("group"),
        F.coalesce("stage", F.lit("prospect")).alias("stage"),
        F.coalesce("typical_gap_days", F.greatest(F.lit(prior), F.lit(1.0))).alias("typical_gap_days"),
        *[F.coalesce(c, F.lit(0)).alias(c) for c in ("purchases", "rated", "positive_ratings", "returned")],
        F.greatest((F.lit(now) - F.col("first_event")).cast("double") / F.lit(_DAY), F.lit(0.0))
        .alias("tenure_days"),
        "index")
    return _loyalty(out)


# Kinds whose value is a rating, and the rating that counts as positive
# (core::customers::CustomerSettings' defaults, as `maitre.rfm` uses them).
_RATING_KINDS, _POSITIVE_RATING = ("review", "rating"), 4.0


def _loyalty_counts(df: DataFrame) -> DataFrame:
    """Per customer, over all their events: the first event's time, purchases,
    ratings given and positive among them, returns."""
    v = F.col("value").cast("float")
    rated = F.col("kind").isin(list(_RATING_KINDS)) & F.col("value").isNotNull() & ~F.isnan("value")
    count = lambda condition: F.sum(F.when(condition, 1).otherwise(0))  # noqa: E731
    return df.groupBy("customer").agg(
        F.min("t").alias("first_event"), count(F.col("kind") == "purchase").alias("purchases"),
        count(rated).alias("rated"), count(rated & (v >= _POSITIVE_RATING)).alias("positive_ratings"),
        count(F.col("kind") == "return").alias("returned"))


def _loyalty(out: DataFrame) -> DataFrame:
    """The core's loyalty score and advocacy (`customers::rfm`), with the
    parts behind them, from `_rfm_frame`'s per-customer counts; the
    quantiles are over every customer."""
    bought = F.col("purchases") > 0
    repeat = F.when(F.col("frequency") > 1, _quantile("frequency")).otherwise(0.0)
    rating = F.when(F.col("rated") > 0, F.col("positive_ratings") / F.col("rated")).otherwise(0.0)
    returned = F.when(bought, F.least(F.col("returned") / F.col("purchases"), F.lit(1.0))).otherwise(0.0)
    out = out.select("*", repeat.alias("repeat"), _quantile("tenure_days").alias("tenure"),
                     rating.alias("ratings"), returned.alias("returns"))
    keep = F.when(bought, F.lit(1.0) - F.col("returns")).otherwise(0.0)
    score = (F.lit(0.35) * F.col("repeat") + F.lit(0.25) * F.col("tenure") + F.lit(0.2) * F.col("ratings")
             + F.lit(0.2) * keep)
    vocal = F.when(bought, F.least(F.col("positive_ratings") / F.col("purchases"), F.lit(1.0))).otherwise(0.0)
    out = out.withColumn("loyalty", score)
    return out.withColumn("advocacy", F.lit(0.5) * F.col("loyalty") + F.lit(0.5) * vocal)


def rfm(
    events: DataFrame,
    items: Any = None,
    now: Optional[int] = None,
    *,
    columns: Optional[Mapping[str, str]] = None,
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
) -> DataFrame:
    """RFM scores and groups, lifecycle stages and loyalty of every customer,
    computed in Spark: ``maitre.rfm`` over Spark, the same columns.

    The per-customer work (purchase days, value summed in time order, the
    gaps between purchase days and their median) runs as a Spark aggregation;
    the quantile scores rank the buyers with window functions over all of
    them (one task: fine for millions of customers, not for hundreds of
    millions); the population's typical gap is one exact median, brought to
    the driver. The rules are the core's (``maitre::customers``); on the
    same events the values are ``maitre.rfm``'s.

    Parameters:
        events: the events (the columns ``interactions`` takes; purchases are
            kind ``purchase``, their value a quantity).
        items: the catalogue (``id``, ``price``): prices make the monetary value.
        now: epoch seconds the stages and recency are measured at (default:
            the last event).
        columns, kinds ... link_rounds: as ``target``.

    Returns a Spark DataFrame: customer, recency_days (null: never bought),
    frequency, monetary, r, f, m, group, stage, typical_gap_days, loyalty,
    in the order of the customers' first appearance.

    Raises InvalidParamError for a bad parameter and ``interactions``'
    errors for bad events.
    """
    df, customers, now, _ = _rfm_input(events, now, columns, kinds, scaled, links, link_alias,
                                       link_customer, link_timestamp, link_rounds)
    return _rfm_frame(df, customers, items, now).orderBy("index").select(
        "customer", "recency_days", "frequency", "monetary", "r", "f", "m", "group", "stage",
        "typical_gap_days", "loyalty")


def advocates(
    events: DataFrame,
    items: Any = None,
    n: int = 20,
    now: Optional[int] = None,
    *,
    columns: Optional[Mapping[str, str]] = None,
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
) -> pd.DataFrame:
    """The ``n`` strongest advocates, best first, each with why in words:
    ``maitre.advocates`` over Spark (loyalty and advocacy computed as
    ``rfm`` computes them, ranked in Spark, the words made for the ``n``).

    Parameters are ``rfm``'s, and ``n``: how many, at least 1.

    Returns a pandas DataFrame: customer, advocacy, score, repeat, tenure,
    ratings, returns, positive_ratings, occasions, why; as
    ``maitre.advocates`` returns it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise maitre.InvalidParamError(f"invalid parameter `n`: {n!r} must be at least 1")
    df, customers, now, _ = _rfm_input(events, now, columns, kinds, scaled, links, link_alias,
                                       link_customer, link_timestamp, link_rounds)
    top = (_rfm_frame(df, customers, items, now).where(F.col("positive_ratings") > 0)
           .orderBy(F.desc("advocacy"), "customer").limit(int(n)).toPandas())
    why = [f"{r.frequency} purchase occasions (repeat {r.repeat:.2f}), customer for {r.tenure_days:.0f} days "
           f"(tenure {r.tenure:.2f}), {r.positive_ratings} of {r.rated} ratings positive, "
           f"{r.returned} of {r.purchases} purchases returned" for r in top.itertuples()]
    return pd.DataFrame({
        "customer": top["customer"], "advocacy": top["advocacy"], "score": top["loyalty"],
        "repeat": top["repeat"], "tenure": top["tenure"], "ratings": top["ratings"], "returns": top["returns"],
        "positive_ratings": top["positive_ratings"].astype(np.int64), "occasions": top["frequency"].astype(np.int64),
        "why": why,
    })


def _rfm_input(events: DataFrame, now: Optional[int], columns: Optional[Mapping[str, str]],
               kinds: Optional[Mapping[str, float]], scaled: Optional[Sequence[str]],
               links: Optional[DataFrame], link_alias: str, link_customer: str, link_timestamp: str,
               link_rounds: int) -> "Tuple[DataFrame, DataFrame, int, Optional[DataFrame]]":
    """`_prepare`'s events, customer table and linked names, and the time
    stages and RFM are measured at."""
    if now is not None and (isinstance(now, bool) or not isinstance(now, (int, np.integer))
                            or not _MIN_TIMESTAMP <= now <= _MAX_TIMESTAMP):
        raise maitre.InvalidParamError(f"invalid parameter `now`: {now!r} is not epoch seconds in 1970..2100")
    names = _names(columns)
    # No decay here (no half-life), so `reference_time` only names the
    # time; `_prepare` returns it, or the last event's from its checks.
    df, customers, _, linked, now = _prepare(
        events, customer=names["customer"], item=names["item"], kind=names["kind"],
        timestamp=names["timestamp"], value=names["value"], kinds=kinds, scaled=scaled,
        half_life_days=None, reference_time=now, links=links, link_alias=link_alias,
        link_customer=link_customer, link_timestamp=link_timestamp, link_rounds=link_rounds)
    return df, customers, int(now), linked


def _names(columns: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The events' column names by role: `columns` over `_COLUMNS`."""
    unknown_roles = set(columns or {}) - set(_COLUMNS)
    if unknown_roles:
        raise maitre.InvalidParamError(
            f"invalid parameter `columns`: unknown roles {sorted(unknown_roles)} (known: {list(_COLUMNS)})")
    return {**_COLUMNS, **(columns or {})}


def target(
    events: DataFrame,
    model: "maitre.AlsModel",
    *,
    item: Optional[str] = None,
    category: Optional[str] = None,
    k: int = 100,
    items: Any = None,
    segments: Sequence[int] = (),
    segmentation: Any = None,
    stages: Sequence[str] = (),
    rfm_groups: Sequence[str] = (),
    exclude_buyers: bool = False,
    exclude: Sequence[str] = (),
    now: Optional[int] = None,
    columns: Optional[Mapping[str, str]] = None,
    kinds: Optional[Mapping[str, float]] = None,
    scaled: Optional[Sequence[str]] = None,
    links: Optional[DataFrame] = None,
    link_alias: str = "alias",
    link_customer: str = "customer",
    link_timestamp: str = "timestamp",
    link_rounds: int = 64,
) -> pd.DataFrame:
    """The ``k`` customers most likely to engage with an item or a category,
    best first, each with why: ``maitre.target`` over Spark.

    The target's vector (the item's, or the mean of the category's products')
    is made on the driver; each block of admitted customers is scored in the
    executors with the core's exact search (``exact_top_k``) against the
    model's customer vectors, shipped once as a broadcast (as
    ``recommend_all`` ships the recommender), and the blocks' best ``k`` are
    merged (higher score first, then the model's lower row). The reasons, the
    items of each chosen customer's history closest to the target, come from
    their events in Spark. On the same events and model the result is
    ``maitre.target``'s, scores and reasons included.

    Parameters:
        events: the events the model was fitted on.
        model: ``maitre.spark.fit_als(events, ...)`` or ``maitre.ALS().fit(log)``
            on the same events (its customer and item ids are needed).
        item / category: exactly one of them; a category needs ``items``.
        k: how many customers, at least 1.
        items: the catalogue (``id``, ``kind``, ``category``), as
            ``maitre.target`` takes it: categories, and which items are
            products (items it does not list are).
        segments, segmentation: only customers whose segment in
            ``segmentation`` (what ``maitre.spark.segments`` returns, or its
            customers DataFrame: customer, segment) is one of ``segments``.
        stages, rfm_groups: only customers in these lifecycle stages
            (``new``, ``active``, ``at_risk``, ``lapsed``, ``prospect``) and
            RFM groups (``champions``, ``loyal``, ...), as ``rfm`` computes
            them in Spark (prices from ``items``).
        exclude_buyers: leave out who already bought (kind ``purchase``)
            the item or one of the category's products.
        exclude: leave out these customers (any of their ids, with ``links``).
        now: epoch seconds stages and RFM are measured at (default: the
            last event).
        columns: the events' column names, by role (customer, item, kind,
            timestamp, value); the defaults are ``interactions``'.
        kinds ... link_rounds: as ``interactions``.

    Returns a pandas DataFrame: customer, score, reason (a dict: kind and
    the items behind it), as ``maitre.target`` returns.

    Raises InvalidParamError for a bad parameter, a model without ids, or
    ``segments`` without ``segmentation``; UnknownIdError for an unknown item,
    category or excluded customer; and ``interactions``' errors for bad
    events.
    """
    if (item is None) == (category is None):
        raise maitre.InvalidParamError("invalid parameter `item`: give exactly one of item= and category=")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise maitre.InvalidParamError(f"invalid parameter `k`: {k!r} must be at least 1")
    chosen = [maitre._recommend._integer("segments", s) for s in segments]
    labels = segmentation[0] if isinstance(segmentation, tuple) else segmentation
    if chosen and not isinstance(labels, DataFrame):
        raise maitre.InvalidParamError(
            "invalid parameter `segments`: give `segmentation`, what maitre.spark.segments returned")
    for name, given, known in (("stages", stages, _STAGES), ("rfm_groups", rfm_groups, _RFM_GROUPS)):
        wrong = [g for g in given if g not in known]
        if wrong:
            raise maitre.InvalidParamError(
                f"invalid parameter `{name}`: unknown {wrong[0]!r} (known: {', '.join(known)})")
    customer_ids, item_ids = model.customer_ids(), model.item_ids()
    if customer_ids is None or item_ids is None:
        raise maitre.InvalidParamError(
            "invalid parameter `model`: it has no customer and item ids (fit it with maitre.spark.fit_als "
            "or maitre.ALS().fit(log))")
    users, vectors = model.user_factors, model.item_factors
    row_of = {i: r for r, i in enumerate(item_ids)}
    catalogue = None if items is None else maitre._recommend._items(items)
    product = {i: kd is None or kd.strip().lower() == "product"
               for i, kd in zip(catalogue["id"], catalogue["kind"])} if catalogue else {}
    if item is not None:
        if item.strip() not in row_of:
            raise maitre.UnknownIdError(f"unknown item {json.dumps(item)}")
        covered = [row_of[item.strip()]]
    else:
        if catalogue is None:
            raise maitre.InvalidParamError("invalid parameter `items`: a category needs the catalogue")
        covered = sorted(row_of[i] for i, c in zip(catalogue["id"], catalogue["category"])
                         if c == category and product[i] and i in row_of)
        if not covered:
            raise maitre.UnknownIdError(f"unknown category {json.dumps(category)}")
    # The core's arithmetic: each vector divided, then added, in row order.
    query = np.zeros(users.shape[1], dtype=np.float32)
    for r in covered:
        query += vectors[r] / np.float32(len(covered))

    df, everyone, now, linked = _rfm_input(events, now, columns, kinds, scaled, links, link_alias,
                                           link_customer, link_timestamp, link_rounds)
    spark = events.sparkSession
    people = spark.createDataFrame(
        pd.DataFrame({"row": np.arange(len(customer_ids), dtype=np.int32), "customer": customer_ids}))
    if chosen:
        people = people.join(labels.where(F.col("segment").isin(chosen)).select("customer"), "customer", "left_semi")
    if stages or rfm_groups:
        kept = _rfm_frame(df, everyone, items, now)
        if stages:
            kept = kept.where(F.col("stage").isin(list(stages)))
        if rfm_groups:
            kept = kept.where(F.col("group").isin(list(rfm_groups)))
        people = people.join(kept.select("customer"), "customer", "left_semi")
    if exclude:
        wanted = spark.createDataFrame([(str(c).strip(),) for c in exclude], "id string")
        if linked is not None:
            wanted = (wanted.join(linked, "id", "left")
                      .select(F.coalesce("name", "id").alias("id"), F.col("id").alias("given")))
        else:
            wanted = wanted.select("id", F.col("id").alias("given"))
        found = wanted.join(people.select(F.col("customer").alias("id")), "id", "left_semi")
        missing = sorted(set(r["given"] for r in wanted.collect()) - set(r["given"] for r in found.collect()))
        if missing:
            raise maitre.UnknownIdError(f"unknown customer {json.dumps(missing[0])}")
        people = people.join(wanted.select(F.col("id").alias("customer")), "customer", "left_anti")
    if exclude_buyers:
        targets = spark.createDataFrame([(item_ids[r],) for r in covered], "item string")
        buyers = df.where(F.col("kind") == "purchase").join(F.broadcast(targets), "item", "left_semi")
        people = people.join(buyers.select("customer"), "customer", "left_anti")
    shipped = spark.sparkContext.broadcast((users, query))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        block_users, q = shipped.value
        for batch in batches:
            if len(batch):
                batch = batch.sort_values("row")
                rows = batch["row"].to_numpy()
                best, scores = maitre._maitre.exact_top_k(block_users[rows], q, k)
                yield pd.DataFrame({"customer": batch["customer"].to_numpy()[best],
                                    "row": rows[best].astype(np.int32), "score": scores})

    top = (people.select("customer", "row").mapInPandas(score, "customer string, row int, score float")
           .orderBy(F.desc("score"), "row").limit(k).collect())
    chosen_customers = spark.createDataFrame([(r["customer"],) for r in top], "customer string")
    histories = {r["customer"]: r["items"] for r in df.join(chosen_customers, "customer", "left_semi")
                 .groupBy("customer").agg(F.collect_set("item").alias("items")).collect()}
    reasons = []
    for r in top:
        # Their history's products closest to the target, strongest first.
        seen = sorted(row_of[i] for i in histories.get(r["customer"], []) if i in row_of and product.get(i, True))
        near: List[str] = []
        if seen:
            best, scores = maitre._maitre.exact_top_k(vectors[seen], query, len(seen))
            near = [item_ids[seen[b]] for b, sc in zip(best, scores) if sc > 0][:3]
        reasons.append({"reason": "because", "items": near} if near else {"reason": "taste"})
    return pd.DataFrame({
        "customer": [r["customer"] for r in top],
        "score": np.array([r["score"] for r in top], dtype=np.float32),
        "reason": reasons,
    })
