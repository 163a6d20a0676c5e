import json

import numpy as np
import pandas as pd
import pytest

import maitre
from conftest import COLUMNS, FIRST, LAST, ROWS


def check_ten(log):
    s = log.summary()
    assert len(log) == 10 and s["events"] == 10
    assert s["raw_ids"] == 4 and s["customers"] == 4
    assert s["items"] == 4
    assert s["links"] == 0 and s["linked_ids"] == 0
    assert s["first_timestamp"] == FIRST and s["last_timestamp"] == LAST
    assert s["kinds"] == {"view": 4, "cart": 1, "purchase": 2, "return": 1, "rating": 2}
    assert s["context"] == {
        "channel": {"web": 6, "app": 3, "store": 1},
        "device": {"desktop": 3, "mobile": 5},
    }
    assert repr(log) == "EventLog(events=10, customers=4, items=4)"


def test_from_pandas_with_object_values(log):
    assert isinstance(log, maitre.EventLog)
    check_ten(log)


def test_from_pandas_float_values_and_epoch_seconds(value_frame):
    df = value_frame.copy()
    epoch = pd.Timestamp(0, tz="UTC")
    df["timestamp"] = (df["timestamp"] - epoch) // pd.Timedelta(seconds=1)  # int seconds
    assert df["timestamp"].dtype == "int64"
    log = maitre.EventLog.from_pandas(df)
    s = log.summary()
    assert s["events"] == 5
    assert s["kinds"] == {"purchase": 2, "return": 1, "rating": 2}
    assert s["first_timestamp"] == FIRST + 300


def test_from_pandas_text_timestamps_and_naive_datetimes(frame):
    text = frame.copy()
    text["timestamp"] = [r[3] for r in ROWS]
    naive = frame.copy()
    naive["timestamp"] = naive["timestamp"].dt.tz_localize(None)  # naive = UTC
    for df in (text, naive):
        df["value"] = pd.Series([r[4] for r in ROWS], dtype=object)
        check_ten(maitre.EventLog.from_pandas(df))


def test_from_pandas_renamed_columns_and_explicit_context(frame):
    df = frame.rename(columns={"customer_id": "user", "item_id": "sku", "timestamp": "at"})
    df = df.drop(columns=["value"])
    log = maitre.EventLog.from_pandas(
        df, customer="user", item="sku", timestamp="at", context=["channel"]
    )
    s = log.summary()
    assert s["events"] == 10 and s["customers"] == 4
    assert set(s["context"]) == {"channel"}  # device was not named


def test_numeric_ids_become_text():
    df = pd.DataFrame(
        {"customer_id": [1, 2, 2], "item_id": [10, 10, 11], "kind": "view", "timestamp": [1, 2, 3]}
    )
    log = maitre.EventLog.from_pandas(df)
    assert log.summary()["customers"] == 2 and log.summary()["items"] == 2


def test_extend_dict_of_lists_appends_and_reports(log):
    report = log.extend(
        {
            "customer_id": ["c4", "c1"],
            "item_id": ["sku-9", "sku-1"],
            "kind": ["view", "share"],
            "timestamp": np.array([FIRST + 10.0, FIRST + 20.0]),
            "locale": ["fr-FR", None],
        }
    )
    assert report == {"accepted": 2, "skipped": 0, "skipped_by_field": {}, "first_skipped": []}
    s = log.summary()
    assert s["events"] == 12 and s["customers"] == 5 and s["items"] == 5
    assert s["context"]["locale"] == {"fr-FR": 1}


def write_csv(path, rows, columns=COLUMNS):
    lines = [",".join(columns)]
    for r in rows:
        lines.append(",".join("" if v is None else str(v) for v in r))
    path.write_text("\n".join(lines) + "\n")


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            obj = dict(zip(COLUMNS[:4], r[:4]))
            if r[4] is not None:
                obj["value"] = r[4]
            obj["context"] = {k: v for k, v in zip(COLUMNS[5:], r[5:]) if v is not None}
            f.write(json.dumps(obj) + "\n")


def test_csv_round_trip(tmp_path, log):
    path = tmp_path / "events.csv"
    write_csv(path, ROWS)
    from_csv = maitre.EventLog.from_csv(path)
    assert isinstance(from_csv, maitre.EventLog)
    check_ten(from_csv)
    assert from_csv.summary() == log.summary()


def test_jsonl_round_trip(tmp_path, log):
    path = tmp_path / "events.jsonl"
    write_jsonl(path, ROWS)
    from_jsonl = maitre.EventLog.from_jsonl(str(path))
    check_ten(from_jsonl)
    assert from_jsonl.summary() == log.summary()


def test_read_csv_appends_and_returns_report(tmp_path, log):
    path = tmp_path / "more.csv"
    write_csv(path, [("c9", "sku-7", "click", FIRST - 60, None, "email", "mobile")])
    report = log.read_csv(path)
    assert report["accepted"] == 1 and report["skipped"] == 0
    assert log.summary()["first_timestamp"] == FIRST - 60
    assert len(log) == 11


def test_identity_link_merges_customers(log):
    before = log.summary()
    assert before["customers"] == 4
    log.link("anon-9", "c2", FIRST + 86400)
    after = log.summary()
    assert after["customers"] == 3
    assert after["raw_ids"] == 4
    assert after["links"] == 1 and after["linked_ids"] == 1
    assert after["events"] == before["events"]
    # A link to an id never seen adds the id but no customer beyond the merged set.
    log.link("device-x", "c3", FIRST)
    s = log.summary()
    assert s["raw_ids"] == 5 and s["customers"] == 3 and s["linked_ids"] == 2


def test_empty_log():
    log = maitre.EventLog()
    assert len(log) == 0
    s = log.summary()
    assert s["events"] == 0 and s["first_timestamp"] is None and s["kinds"] == {}
    assert repr(log) == "EventLog(events=0, customers=0, items=0)"


def test_synthetic_storefront_is_deterministic():
    a = maitre.synthetic_storefront(seed=5, size="tiny")
    b = maitre.synthetic_storefront(seed=5, size="tiny")
    c = maitre.synthetic_storefront(seed=6, size="tiny")
    assert isinstance(a, maitre.EventLog)
    assert a.summary() == b.summary()
    assert a.summary() != c.summary()
    assert a.summary()["customers"] == 300
    assert maitre.synthetic_storefront(seed=1, size=40).summary()["customers"] == 40


def test_synthetic_storefront_bad_size():
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.synthetic_storefront(size="gigantic")
    assert info.value.name == "size" and "gigantic" in str(info.value)
