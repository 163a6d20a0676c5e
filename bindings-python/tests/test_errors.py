"""Bad input through every door: the right exception, naming row and field, and
the log exactly as it was before the call (nothing half-ingested)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import maitre
from conftest import FIRST, state

GOOD = {
    "customer_id": ["c7", "c8", "c9"],
    "item_id": ["i1", "i2", "i3"],
    "kind": ["view", "purchase", "rating"],
    "timestamp": [FIRST, FIRST + 1, FIRST + 2],
    "value": [0.5, 1.0, 4.0],
}


def batch(**changes):
    """GOOD with some columns replaced (a column set to None is dropped)."""
    data = {k: list(v) for k, v in GOOD.items()}
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    return data


def rejected(log, data, exc, **kwargs):
    """Extends `log` with `data` as a dict and as a DataFrame; both must raise
    `exc` and leave the log unchanged. Returns the DataFrame door's exception."""
    before = state(log)
    for door in (data, pd.DataFrame(data)):
        with pytest.raises(exc) as info:
            log.extend(door, **kwargs)
        assert state(log) == before
    return info.value


def assert_bad(err, row, field, problem, detail=None):
    assert isinstance(err, maitre.BadRecordError)
    assert isinstance(err, maitre.MaitreError) and isinstance(err, ValueError)
    assert (err.row, err.line, err.field, err.problem) == (row, None, field, problem)
    if detail is not None:
        assert err.detail == detail
    assert str(err).startswith(f"row {row}: field `{field}`")


def test_good_batch_is_accepted(log):
    assert log.extend(batch())["accepted"] == 3


def test_missing_column(log):
    err = rejected(log, batch(item_id=None), maitre.MissingColumnError)
    assert err.column == "item_id"
    assert "item_id" in str(err) and "customer_id" in err.present


def test_missing_column_named_by_schema(log):
    data = batch()
    data["user"] = data.pop("customer_id")
    err = rejected(log, data, maitre.MissingColumnError, customer="customer")
    assert err.column == "customer" and "user" in err.present


def test_empty_and_missing_ids(log):
    assert_bad(rejected(log, batch(item_id=["i1", "", "i3"]), maitre.BadRecordError),
               1, "item_id", "empty")
    assert_bad(rejected(log, batch(customer_id=["c1", "c2", None]), maitre.BadRecordError),
               2, "customer_id", "empty")
    assert_bad(rejected(log, batch(customer_id=["  ", "c2", "c3"]), maitre.BadRecordError),
               0, "customer_id", "empty")


def test_unknown_kind(log):
    err = rejected(log, batch(kind=["view", "teleport", "view"]), maitre.BadRecordError)
    assert_bad(err, 1, "kind", "unknown_kind", "teleport")
    assert "teleport" in str(err)


def test_nan_and_inf_values(log):
    for bad in (math.nan, math.inf, -math.inf):
        data = batch(value=np.array([1.0, 2.0, bad]))
        assert_bad(rejected(log, data, maitre.BadRecordError), 2, "value", "not_finite")
    # a float column's NaN is "no value" for a purchase (its weight ignores the
    # value) but a bad row for a rating (its weight is the value)
    data = batch(value=pd.Series([1.0, np.nan, np.nan], dtype="float64"))
    assert_bad(rejected(log, data, maitre.BadRecordError), 2, "value", "not_finite")


def test_bad_timestamps(log):
    for bad, problem in [("yesterday", "bad_timestamp"), ("", "empty"), (None, "empty")]:
        data = batch(timestamp=["2024-05-01T12:00:00Z", bad, "1714564802"])
        assert_bad(rejected(log, data, maitre.BadRecordError), 1, "timestamp", problem)
    data = batch(timestamp=np.array([FIRST, math.nan, FIRST], dtype="float64"))
    assert_bad(rejected(log, data, maitre.BadRecordError), 1, "timestamp", "bad_timestamp")
    data = batch(timestamp=np.array([FIRST, FIRST, math.inf]))
    assert_bad(rejected(log, data, maitre.BadRecordError), 2, "timestamp", "bad_timestamp")


def test_timestamps_in_the_wrong_unit(log):
    ms = FIRST * 1000
    data = batch(timestamp=np.array([FIRST, ms, FIRST], dtype="int64"))
    err = rejected(log, data, maitre.BadRecordError)
    assert_bad(err, 1, "timestamp", "timestamp_out_of_range", str(ms))
    assert "milliseconds" in str(err)
    # A datetime64[ns] column is converted to seconds and accepted, in any unit.
    for unit in ("ns", "us", "ms", "s"):
        df = pd.DataFrame(batch())
        stamps = pd.to_datetime([FIRST, FIRST + 1, FIRST + 2], unit="s", utc=True)
        df["timestamp"] = stamps.astype(f"datetime64[{unit}, UTC]")
        fresh = maitre.EventLog()
        assert fresh.extend(df)["accepted"] == 3
        assert fresh.summary()["last_timestamp"] == FIRST + 2
    with pytest.raises(maitre.BadRecordError) as info:
        log.link("anon", "c1", ms)
    assert info.value.problem == "timestamp_out_of_range"


def test_nat_timestamp(log):
    df = pd.DataFrame(batch())
    df["timestamp"] = pd.to_datetime(["2024-05-01", None, "2024-05-02"])
    before = state(log)
    with pytest.raises(maitre.BadRecordError) as info:
        log.extend(df)
    assert_bad(info.value, 1, "timestamp", "bad_timestamp")
    assert state(log) == before


def test_wrong_dtypes(log):
    # text that is not a number in the value column
    err = rejected(log, batch(value=[1.0, "abc", None]), maitre.BadRecordError)
    assert_bad(err, 1, "value", "not_a_number", "abc")
    # booleans are neither values nor timestamps
    err = rejected(log, batch(value=[True, False, True]), maitre.BadRecordError)
    assert_bad(err, 0, "value", "not_a_number")
    err = rejected(log, batch(timestamp=[True, False, True]), maitre.BadRecordError)
    assert_bad(err, 0, "timestamp", "bad_timestamp")
    # a date column where numbers belong
    df = pd.DataFrame(batch())
    df["value"] = pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-03"])
    before = state(log)
    with pytest.raises(maitre.BadRecordError) as info:
        log.extend(df)
    assert_bad(info.value, 0, "value", "not_a_number")
    assert state(log) == before
    # not a table at all
    with pytest.raises(TypeError):
        log.extend([("c1", "i1", "view", FIRST)])
    assert state(log) == before


def test_text_numbers_are_values(log):
    report = log.extend(batch(value=["1.5", " 2 ", ""]))
    assert report["accepted"] == 3


def test_first_bad_row_is_reported(log):
    data = batch(customer_id=["c1", "", "c3"], value=[1.0, 2.0, "x"])
    assert_bad(rejected(log, data, maitre.BadRecordError), 1, "customer_id", "empty")


def test_mismatched_lengths(log):
    before = state(log)
    with pytest.raises(maitre.LengthMismatchError) as info:
        log.extend(batch(item_id=["i1", "i2"]))
    err = info.value
    assert (err.name, err.expected, err.got) == ("item_id", 3, 2)
    assert "item_id" in str(err)
    with pytest.raises(maitre.LengthMismatchError) as info:
        log.extend(batch(channel=["web"]))
    assert info.value.name == "channel"
    assert state(log) == before


def test_skip_bad_rows_reports_counts(log):
    before = len(log)
    data = batch(
        customer_id=["c7", "", "c9", "c10", "c11"],
        item_id=["i1", "i2", "i3", "i4", "i5"],
        kind=["view", "view", "teleport", "view", "view"],
        timestamp=[FIRST] * 5,
        value=[None, None, None, "abc", 2.0],
    )
    report = log.extend(pd.DataFrame(data), skip_bad_rows=True)
    assert report["accepted"] == 2 and report["skipped"] == 3
    assert report["skipped_by_field"] == {"customer_id": 1, "kind": 1, "value": 1}
    first = report["first_skipped"]
    assert [b["location"] for b in first] == [
        {"at": "index", "n": 1},
        {"at": "index", "n": 2},
        {"at": "index", "n": 3},
    ]
    assert [b["field"] for b in first] == ["customer_id", "kind", "value"]
    assert first[1]["problem"] == {"problem": "unknown_kind", "detail": "teleport"}
    assert first[2]["problem"] == {"problem": "not_a_number", "detail": "abc"}
    assert len(log) == before + 2


def test_from_pandas_skip_warns():
    df = pd.DataFrame(batch(kind=["view", "teleport", "view"]))
    with pytest.warns(UserWarning, match="skipped 1 bad rows"):
        log = maitre.EventLog.from_pandas(df, skip_bad_rows=True)
    assert len(log) == 2


CSV_HEADER = "customer_id,item_id,kind,timestamp,value,channel\n"


@pytest.mark.parametrize(
    "line, field, problem",
    [
        ("c2,,view,1714564801,,web", "item_id", "empty"),
        ("c2,i2,teleport,1714564801,,web", "kind", "unknown_kind"),
        ("c2,i2,rating,1714564801,NaN,web", "value", "not_finite"),
        ("c2,i2,rating,1714564801,inf,web", "value", "not_finite"),
        ("c2,i2,rating,1714564801,abc,web", "value", "not_a_number"),
        ("c2,i2,view,last tuesday,,web", "timestamp", "bad_timestamp"),
        # A short row names the first column it lacks; a long one its first extra field.
        ("c2,i2,view,1714564801", "value", "missing"),
        ("c2,i2", "kind", "missing"),
        ("c2,i2,view,1714564801,,web,extra", "column 7", "malformed"),
    ],
)
def test_csv_bad_line(tmp_path, log, line, field, problem):
    path = tmp_path / "bad.csv"
    path.write_text(CSV_HEADER + "c1,i1,view,1714564800,,web\n" + line + "\nc3,i3,view,1714564802,,app\n")
    before = state(log)
    with pytest.raises(maitre.BadRecordError) as info:
        log.read_csv(path)
    err = info.value
    assert (err.line, err.row, err.field, err.problem) == (3, None, field, problem)
    assert str(err).startswith(f"line 3: field `{field}`")
    assert state(log) == before
    with pytest.raises(maitre.BadRecordError):
        maitre.EventLog.from_csv(path)
    report = log.read_csv(path, skip_bad_rows=True)
    assert (report["accepted"], report["skipped"]) == (2, 1)
    assert report["skipped_by_field"] == {field: 1}
    assert report["first_skipped"][0]["location"] == {"at": "line", "n": 3}
    with pytest.warns(UserWarning, match="skipped 1 bad rows"):
        assert len(maitre.EventLog.from_csv(path, skip_bad_rows=True)) == 2


def test_csv_missing_column(tmp_path, log):
    path = tmp_path / "no-kind.csv"
    path.write_text("customer_id,item_id,timestamp\nc1,i1,1714564800\n")
    before = state(log)
    with pytest.raises(maitre.MissingColumnError) as info:
        log.read_csv(path)
    assert info.value.column == "kind"
    assert info.value.present == ["customer_id", "item_id", "timestamp"]
    assert state(log) == before


@pytest.mark.parametrize(
    "obj, field, problem",
    [
        ({"item_id": "i2", "kind": "view", "timestamp": 1714564801}, "customer_id", "missing"),
        ({"customer_id": "c2", "item_id": "i2", "kind": "view", "timestamp": "soon"},
         "timestamp", "bad_timestamp"),
        ({"customer_id": "c2", "item_id": "i2", "kind": "nap", "timestamp": 1714564801},
         "kind", "unknown_kind"),
        ({"customer_id": "c2", "item_id": "i2", "kind": "rating", "timestamp": 1714564801,
          "value": "abc"}, "value", "not_a_number"),
        ({"customer_id": "c2", "item_id": "i2", "kind": "rating", "timestamp": 1714564801,
          "value": "NaN"}, "value", "not_finite"),
        ({"customer_id": "c2", "item_id": "", "kind": "view", "timestamp": 1714564801},
         "item_id", "empty"),
        ("not json", "record", "malformed"),
    ],
)
def test_jsonl_bad_line(tmp_path, log, obj, field, problem):
    path = tmp_path / "bad.jsonl"
    good = {"customer_id": "c1", "item_id": "i1", "kind": "view", "timestamp": 1714564800}
    bad = obj if isinstance(obj, str) else json.dumps(obj)
    path.write_text(json.dumps(good) + "\n" + bad + "\n" + json.dumps(good) + "\n")
    before = state(log)
    with pytest.raises(maitre.BadRecordError) as info:
        log.read_jsonl(path)
    err = info.value
    assert (err.line, err.field, err.problem) == (2, field, problem)
    assert state(log) == before
    with pytest.raises(maitre.BadRecordError):
        maitre.EventLog.from_jsonl(path)
    report = log.read_jsonl(path, skip_bad_rows=True)
    assert (report["accepted"], report["skipped"]) == (2, 1)


def test_missing_files(tmp_path, log):
    before = state(log)
    missing = tmp_path / "nope.csv"
    for call in (
        lambda: maitre.EventLog.from_csv(missing),
        lambda: maitre.EventLog.from_jsonl(missing),
        lambda: log.read_csv(missing),
        lambda: log.read_jsonl(str(missing)),
        lambda: maitre.load_movielens(tmp_path / "no-such-dir"),
    ):
        with pytest.raises(maitre.MaitreFileNotFoundError) as info:
            call()
        err = info.value
        assert isinstance(err, FileNotFoundError) and isinstance(err, OSError)
        assert isinstance(err, maitre.MaitreError)
        assert err.errno == 2
        assert "nope" in str(err) or "no-such-dir" in str(err)
    assert state(log) == before


def test_link_errors(log):
    before = state(log)
    with pytest.raises(maitre.BadRecordError) as info:
        log.link("", "c1", FIRST)
    assert info.value.field == "alias" and info.value.problem == "empty"
    with pytest.raises(maitre.BadRecordError) as info:
        log.link("anon-9", " ", FIRST)
    assert info.value.field == "customer_id"
    assert state(log) == before


def test_exception_hierarchy():
    assert issubclass(maitre.UnknownIdError, KeyError)
    assert issubclass(maitre.MaitreFileNotFoundError, FileNotFoundError)
    assert issubclass(maitre.MaitreIOError, OSError)
    for name in [
        "BadRecordError", "MissingColumnError", "InvalidParamError", "UnknownIdError",
        "LengthMismatchError", "NotEnoughDataError", "CancelledError", "ArtifactError",
        "MaitreFileNotFoundError", "MaitreIOError",
    ]:
        cls = getattr(maitre, name)
        assert issubclass(cls, maitre.MaitreError) and issubclass(cls, ValueError)
        assert cls.__module__ == "maitre" and cls.__doc__
    # KeyError's quoting does not apply: str() is the core's message
    assert str(maitre.UnknownIdError('unknown item "x"')) == 'unknown item "x"'
