"""Arrow and Parquet in: the same log as from pandas, without a Python object
per row; bad rows named by their position in the whole input; nothing kept
from a rejected batch."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import maitre

T0 = 1_714_564_800


def table(n=150_000, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({
        "customer_id": pa.array([f"c{i}" for i in rng.integers(0, 4000, n)]),
        "item_id": pa.array(rng.integers(0, 900, n)),  # integer ids: "17" etc.
        "kind": pa.array(rng.choice(["view", "purchase", "rating"], n)).dictionary_encode(),
        "timestamp": pa.array((T0 + rng.integers(0, 10**6, n)) * 1000, pa.timestamp("ms", tz="UTC")),
        "value": pa.array(np.where(rng.random(n) < 0.5, 4.0, 2.0)),
        "channel": pa.array(rng.choice(["web", "app", None], n)).dictionary_encode(),
    })


def test_from_arrow_equals_from_pandas():
    t = table()
    a = maitre.EventLog.from_arrow(t)
    b = maitre.EventLog.from_pandas(t.to_pandas())
    assert len(a) == t.num_rows
    assert a.to_bytes() == b.to_bytes()
    # Several record batches, and a RecordBatch alone, give the same log.
    batches = pa.Table.from_batches(t.to_batches(max_chunksize=40_000))
    assert maitre.EventLog.from_arrow(batches).to_bytes() == a.to_bytes()
    first = t.slice(0, 1000).to_batches()[0]
    assert len(maitre.EventLog.from_arrow(first)) == 1000


def test_timestamps_in_any_unit_are_whole_seconds():
    for unit, scale in [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)]:
        t = pa.table({"customer_id": ["c"], "item_id": ["i"], "kind": ["view"],
                      "timestamp": pa.array([(T0 + 59) * scale + scale - 1], pa.timestamp(unit))})
        assert maitre.EventLog.from_arrow(t).summary()["first_timestamp"] == T0 + 59, unit
    # Milliseconds in a plain integer column are caught, not taken for seconds.
    t = pa.table({"customer_id": ["c"], "item_id": ["i"], "kind": ["view"], "timestamp": [T0 * 1000]})
    with pytest.raises(maitre.BadRecordError) as err:
        maitre.EventLog.from_arrow(t)
    assert err.value.problem == "timestamp_out_of_range"


def test_a_bad_row_is_named_across_batches_and_nothing_is_kept():
    t = table()
    customers = t.column("customer_id").to_pylist()
    customers[100_001] = None
    bad = t.set_column(0, "customer_id", pa.array(customers))
    log = maitre.EventLog()
    with pytest.raises(maitre.BadRecordError) as err:
        log.extend_arrow(pa.Table.from_batches(bad.to_batches(max_chunksize=30_000)))
    assert (err.value.row, err.value.field, err.value.problem) == (100_001, "customer_id", "empty")
    assert len(log) == 0 and log.summary()["customers"] == 0
    report = log.extend_arrow(bad, skip_bad_rows=True)
    assert (report["accepted"], report["skipped"]) == (t.num_rows - 1, 1)


def test_missing_column_and_wrong_input():
    with pytest.raises(maitre.MissingColumnError):
        maitre.EventLog.from_arrow(table(10).drop_columns(["kind"]))
    with pytest.raises(TypeError):
        maitre.EventLog.from_arrow([1, 2, 3])


def test_from_parquet_file_and_dataset(tmp_path):
    t = table(60_000, seed=1)
    pq.write_table(t, tmp_path / "one.parquet", row_group_size=20_000)
    whole = maitre.EventLog.from_arrow(t)
    assert maitre.EventLog.from_parquet(tmp_path / "one.parquet").to_bytes() == whole.to_bytes()
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(t.slice(0, 25_000), folder / "part-0.parquet")
    pq.write_table(t.slice(25_000), folder / "part-1.parquet")
    assert len(maitre.EventLog.from_parquet(folder)) == t.num_rows
    with pytest.raises(FileNotFoundError) as err:
        maitre.EventLog.from_parquet(tmp_path / "missing.parquet")
    assert isinstance(err.value, maitre.MaitreError)


def test_kinds_and_context_selection():
    t = table(1000)
    log = maitre.EventLog.from_arrow(t, context=[], kinds={"view": 1, "purchase": 5, "rating": 1},
                                     scaled=["rating"])
    assert log.summary()["context"] == {}
    assert log.scaled_kinds() == ["rating"]


def test_every_arrow_text_type_gives_the_same_log():
    """Text crosses as Arrow's buffers whatever its type (string,
    large_string, string_view, integers, dictionaries), padded ids trim
    as they do from pandas, and a sliced batch reads from its own offset."""
    t = table(5000, seed=2)
    customers = [f" {c} " if i % 7 == 0 else c for i, c in enumerate(t.column("customer_id").to_pylist())]
    t = t.set_column(0, "customer_id", pa.array(customers))
    expected = maitre.EventLog.from_pandas(t.to_pandas()).to_bytes()
    types = [pa.string(), pa.large_string()] + ([pa.string_view()] if hasattr(pa, "string_view") else [])
    for text in types:
        cast = t.set_column(0, "customer_id", t.column("customer_id").cast(text))
        assert maitre.EventLog.from_arrow(cast).to_bytes() == expected, text
    coded = t.set_column(0, "customer_id", t.column("customer_id").dictionary_encode())
    assert maitre.EventLog.from_arrow(coded).to_bytes() == expected
    tail = maitre.EventLog.from_arrow(t.slice(1234).to_batches()[0])
    assert tail.to_bytes() == maitre.EventLog.from_pandas(t.slice(1234).to_pandas()).to_bytes()


def test_integer_ids_read_as_their_decimal_text():
    """Integer id columns of every width cross as numbers and are written
    as text by the binding: the log equals the one from the same ids cast
    to text in Arrow, negatives, nulls (bad rows) and dictionaries included."""
    values = [7, -3, None, 120, 0, 7, 99, None]
    n = len(values)
    base = {"customer_id": pa.array([f"c{i % 3}" for i in range(n)]), "kind": pa.array(["view"] * n),
            "timestamp": pa.array([T0 + i for i in range(n)], pa.int64())}

    def log_of(items):
        log = maitre.EventLog()
        report = log.extend_arrow(pa.table({**base, "item_id": items}), skip_bad_rows=True)
        return log.to_bytes(), report["accepted"], report["skipped_by_field"]

    for t in [pa.int8(), pa.int16(), pa.int32(), pa.int64()]:
        items = pa.array(values, t)
        assert log_of(items) == log_of(items.cast(pa.string())), t
        assert log_of(items.dictionary_encode()) == log_of(items.cast(pa.string())), t
    for t in [pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]:
        items = pa.array([None if v is None else abs(v) for v in values], t)
        assert log_of(items) == log_of(items.cast(pa.string())), t
    big = pa.array([2**63 + 5, 1, 2**64 - 1, None, 5, 6, 7, 8], pa.uint64())
    assert log_of(big) == log_of(big.cast(pa.string()))
    big = pa.array([2**63 - 1, -(2**63), 1, None, 5, 6, 7, 8], pa.int64())
    assert log_of(big) == log_of(big.cast(pa.string()))
    assert log_of(big)[1:] == (7, {"item_id": 1})


@pytest.mark.parametrize("offsets, data, nulls, problem", [
    ([0, 2, 9], b"ab", None, "malformed"),          # past the end of the bytes
    ([0, 2, 1], b"abc", None, "malformed"),         # backwards
    ([0, 2, 4], b"ab\xff\xfe", None, "malformed"),  # not UTF-8
])
@pytest.mark.parametrize("read_only", [False, True])
def test_hostile_text_buffers_are_bad_rows(offsets, data, nulls, problem, read_only):
    """The private door Arrow text takes checks every offset and byte: a
    caller handing it made-up buffers gets a typed error naming row 1,
    whether they are copied or (read-only) read where they lie."""
    log = maitre.EventLog()
    offsets, data = np.array(offsets, np.int64), np.frombuffer(data, np.uint8).copy()
    offsets.flags.writeable = data.flags.writeable = not read_only
    columns = {"customer_id": ["a", "b"], "item_id": (offsets, data, nulls),
               "kind": ["view", "view"], "timestamp": np.array([T0, T0], np.float64)}
    with pytest.raises(maitre.BadRecordError) as err:
        log._extend_chunks(iter([columns]), 2)
    assert (err.value.row, err.value.field, err.value.problem) == (1, "item_id", problem)
    assert len(log) == 0
    columns["item_id"] = (np.array([0, 1, 2], np.int64), np.frombuffer(b"ab", np.uint8), np.array([False]))
    with pytest.raises(maitre.MaitreError):
        log._extend_chunks(iter([columns]), 2)
    columns["item_id"] = ("int64", np.array([1, 2], np.int64), np.array([False]))  # integer ids' door
    with pytest.raises(maitre.MaitreError):
        log._extend_chunks(iter([columns]), 2)


def test_read_only_arrays_are_read_in_place_and_any_other_layout_is_copied():
    """Read-only, contiguous, aligned arrays (Arrow's buffers) are read
    where they lie, the rest copied: every layout gives the same log, the
    chunk's arrays can be dropped as soon as the call returns, and a
    writeable array changed after the call does not change the log."""
    n = 40

    def columns(layout):
        offsets = np.arange(n + 1, dtype=np.int64) * 2
        data = np.frombuffer("".join(f"c{i % 7}" for i in range(n)).encode(), np.uint8).copy()
        codes = np.arange(n, dtype=np.int64) % 3
        seconds = T0 + np.arange(n, dtype=np.float64)
        values = np.where(np.arange(n) % 2 == 0, np.nan, 4.0)
        arrays = [offsets, data, codes, seconds, values]
        if layout == "read-only":
            for a in arrays:
                a.flags.writeable = False
        elif layout == "strided":
            arrays = [np.repeat(a, 2)[::2] for a in arrays]
        elif layout == "misaligned":  # read-only, but 8-byte values one byte off
            arrays = [np.frombuffer(b"\0" + a.tobytes(), a.dtype, count=len(a), offset=1) for a in arrays]
        offsets, data, codes, seconds, values = arrays
        return {"customer_id": (offsets, data, None), "item_id": (codes, ["a", "b", "c"]),
                "kind": (np.zeros(n, np.int64), ["rating"] if layout == "no" else ["view"]),
                "timestamp": seconds, "value": values}, arrays

    logs = {}
    for layout in ["writeable", "read-only", "strided", "misaligned"]:
        cols, arrays = columns(layout)
        log = maitre.EventLog()
        log._extend_chunks(iter([cols]), n)
        if layout == "writeable":
            for a in arrays:
                a[:] = 0
        del cols, arrays
        logs[layout] = log.to_bytes()
    assert len(set(logs.values())) == 1
    assert maitre.EventLog.from_bytes(logs["read-only"]).summary()["customers"] == 7
    # NaN is "no value" for a kind that ignores the value, a bad row for a
    # rating (the float column read in place, as the copied one was).
    cols, _ = columns("no")
    with pytest.raises(maitre.BadRecordError) as err:
        maitre.EventLog()._extend_chunks(iter([cols]), n)
    assert (err.value.row, err.value.field) == (0, "value")


def test_chunks_ingest_while_the_next_converts_and_a_failure_keeps_nothing():
    """The core ingests one chunk while the caller's thread converts the
    next: many chunks give the log one call gives; an iterator that raises
    after some chunks, or a bad row in a late chunk, leaves the log as it
    was (its earlier events kept) and raises that error."""
    def chunk(start, kind="view"):
        ids = [f"c{(start + i) % 37}" for i in range(50)]
        return {"customer_id": ids, "item_id": [f"i{i % 11}" for i in range(50)], "kind": [kind] * 50,
                "timestamp": np.full(50, T0 + start, np.float64)}

    whole = maitre.EventLog()
    whole._extend_chunks(iter([chunk(0)]), 50)
    log = maitre.EventLog()
    log._extend_chunks(iter([chunk(s) for s in range(0, 1000, 50)]), 1000)
    one = maitre.EventLog()
    merged = {k: sum((chunk(s)[k] for s in range(0, 1000, 50)), []) for k in ("customer_id", "item_id", "kind")}
    merged["timestamp"] = np.concatenate([chunk(s)["timestamp"] for s in range(0, 1000, 50)])
    one._extend_chunks(iter([merged]), 1000)
    assert log.to_bytes() == one.to_bytes() and len(log) == 1000

    def failing():
        for s in range(0, 500, 50):
            yield chunk(s)
        raise RuntimeError("the source went away")

    before = whole.to_bytes()
    with pytest.raises(RuntimeError, match="went away"):
        whole._extend_chunks(failing(), 500)
    assert whole.to_bytes() == before
    late = [chunk(s) for s in range(0, 500, 50)] + [chunk(500, kind="teleport")] + [chunk(550)]
    with pytest.raises(maitre.BadRecordError) as err:
        whole._extend_chunks(iter(late), 600)
    assert (err.value.row, err.value.field) == (500, "kind")
    assert whole.to_bytes() == before


def test_plain_kind_and_context_columns_cross_as_codes_or_buffers():
    """Kind and context columns in plain text are dictionary-encoded in
    Arrow on the way in (few distinct values) or left as buffers (many): the
    log is the one pandas gives either way, and a bad kind is still named by
    its row in the whole input."""
    t = table(90_000, seed=3)
    rng = np.random.default_rng(3)
    plain = t.set_column(2, "kind", t.column("kind").cast(pa.string()))
    plain = plain.set_column(5, "channel", t.column("channel").cast(pa.large_string()))
    plain = plain.append_column("page", pa.array([f"/p/{i}" for i in rng.integers(0, 50_000, t.num_rows)]))
    expected = maitre.EventLog.from_pandas(plain.to_pandas()).to_bytes()
    assert maitre.EventLog.from_arrow(plain).to_bytes() == expected
    kinds = plain.column("kind").to_pylist()
    kinds[70_001] = "teleport"
    bad = plain.set_column(2, "kind", pa.array(kinds))
    log = maitre.EventLog()
    with pytest.raises(maitre.BadRecordError) as err:
        log.extend_arrow(pa.Table.from_batches(bad.to_batches(max_chunksize=30_000)))
    assert (err.value.row, err.value.field) == (70_001, "kind")
    assert len(log) == 0


def test_parquet_reads_small_dictionaries_as_codes(tmp_path):
    """from_parquet asks Parquet for the codes of kind and context columns
    it stores with a small dictionary (a channel), not of columns with a
    large one (a page path); the log is the same as from the table."""
    from maitre import _frames

    t = table(60_000, seed=4)
    rng = np.random.default_rng(4)
    t = t.set_column(2, "kind", t.column("kind").cast(pa.string()))
    t = t.set_column(5, "channel", t.column("channel").cast(pa.string()))
    t = t.append_column("page", pa.array([f"/page/{i:06d}" for i in rng.integers(0, 50_000, t.num_rows)]))
    path = tmp_path / "events.parquet"
    pq.write_table(t, path)
    dataset = _frames.parquet_coded(_frames.parquet_dataset(path), path, ["kind", "channel", "page"])
    types = {name: dataset.schema.field(name).type for name in ("customer_id", "kind", "channel", "page")}
    assert pa.types.is_dictionary(types["kind"]) and pa.types.is_dictionary(types["channel"])
    assert not pa.types.is_dictionary(types["page"]) and not pa.types.is_dictionary(types["customer_id"])
    assert maitre.EventLog.from_parquet(path).to_bytes() == maitre.EventLog.from_arrow(t).to_bytes()
