import pandas as pd
import pytest

import maitre

# Ten events: three customers, four items, four kinds, two context keys.
ROWS = [
    # customer, item, kind, timestamp (RFC 3339), value, channel, device
    ("c1", "sku-1", "view", "2024-05-01T12:00:00Z", None, "web", "desktop"),
    ("c1", "sku-1", "cart", "2024-05-01T12:01:00Z", None, "web", "desktop"),
    ("c1", "sku-1", "purchase", "2024-05-01T12:05:00Z", 2.0, "web", "desktop"),
    ("c2", "sku-2", "view", "2024-05-02T08:00:00Z", None, "app", "mobile"),
    ("c2", "sku-3", "view", "2024-05-02T08:01:00Z", None, "app", "mobile"),
    ("c2", "sku-3", "purchase", "2024-05-02T08:03:00Z", 1.0, "app", None),
    ("c2", "sku-3", "return", "2024-05-09T10:00:00Z", 1.0, "store", None),
    ("c3", "sku-4", "rating", "2024-05-03T20:00:00Z", 4.5, "web", "mobile"),
    ("c3", "sku-1", "rating", "2024-05-03T20:02:00Z", 3.0, "web", "mobile"),
    ("anon-9", "sku-2", "view", "2024-05-04T07:00:00Z", None, "web", "mobile"),
]
COLUMNS = ["customer_id", "item_id", "kind", "timestamp", "value", "channel", "device"]
FIRST = 1714564800  # 2024-05-01T12:00:00Z
LAST = 1715248800  # 2024-05-09T10:00:00Z


@pytest.fixture
def frame():
    """The ten events as a DataFrame with a datetime64 timestamp column."""
    df = pd.DataFrame(ROWS, columns=COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df["value"] = df["value"].astype("float64")  # NaN where there is no value
    return df


@pytest.fixture
def value_frame(frame):
    """The events with values, so the value column is a plain float column."""
    return frame[frame["value"].notna()].reset_index(drop=True)


@pytest.fixture
def log(frame):
    """A log holding the ten events (values as an object column with None)."""
    df = frame.copy()
    df["value"] = pd.Series([r[4] for r in ROWS], dtype=object)
    return maitre.EventLog.from_pandas(df)


def state(log):
    """Everything observable about a log: unchanged state means equal states."""
    return len(log), log.summary(), repr(log)
