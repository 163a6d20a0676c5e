"""Customer intelligence as pandas frames: segments, RFM and lifecycle, the
single customer view. The native calls return plain lists and dicts; the
frames are built here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple

from . import _maitre
from ._recommend import _items

if TYPE_CHECKING:  # pragma: no cover
    import pandas


class Segmentation(NamedTuple):
    """What ``maitre.segments`` returns."""

    customers: "pandas.DataFrame"
    """One row per customer: customer, segment."""
    segments: "pandas.DataFrame"
    """One row per segment: segment, size, value, value_per_customer,
    categories, brands, channels (lists of (name, share)), description."""
    silhouettes: List[Tuple[int, float]]
    """(k, mean silhouette) for every k tried when k was chosen; else empty."""


def segments(
    log: _maitre.EventLog,
    items: Any = None,
    k: Optional[int] = None,
    fit_min_days: int = 1,
    seed: int = 0,
    threads: Optional[int] = None,
) -> Segmentation:
    """Segments the customers with k-means++ and describes each segment in words.

    Each customer is profiled by the categories of their visits (one count per
    distinct day and category, square roots of the shares). The centres are
    fitted on the customers active on at least ``fit_min_days`` days, then
    every customer joins the nearest. Same seed and data, same segments,
    whatever the thread count.

    Parameters:
        log: the EventLog (it is not changed).
        items: the catalogue, a DataFrame or mapping of columns as
            ``Recommender.build`` takes (``id``, ``category``, ``brand``, ``price``, ...).
        k: the number of segments; None chooses it (2 to 10) by the highest
            mean silhouette on a seeded sample of 2,000 customers.
        fit_min_days: customers active on fewer days do not shape the centres.
        seed: the k-means++ seed.
        threads: worker threads (the result does not depend on them).

    Raises InvalidParamError for k = 0 or k above the customers,
    NotEnoughDataError for an empty log.

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> items = maitre.synthetic_catalog(seed=1, size="tiny")
        >>> seg = maitre.segments(log, items, k=4)
        >>> list(seg.customers.columns), len(seg.segments)
        (['customer', 'segment'], 4)
    """
    import pandas as pd

    out = _maitre.segments(
        log,
        items=None if items is None else _items(items),
        k=k,
        fit_min_days=fit_min_days,
        seed=seed,
        threads=threads,
    )
    customers = pd.DataFrame({"customer": out["customers"], "segment": out["labels"]})
    rows = [
        {
            "segment": s["id"],
            "size": s["size"],
            "value": s["value"],
            "value_per_customer": s["value_per_customer"],
            "categories": [(x["name"], x["share"]) for x in s["categories"]],
            "brands": [(x["name"], x["share"]) for x in s["brands"]],
            "channels": [(x["name"], x["share"]) for x in s["channels"]],
            "description": s["description"],
        }
        for s in out["segments"]
    ]
    return Segmentation(
        customers, pd.DataFrame(rows), [(int(k), float(s)) for k, s in out["silhouettes"]]
    )


def rfm(log: _maitre.EventLog, items: Any = None, now: Optional[int] = None) -> "pandas.DataFrame":
    """RFM scores and groups, lifecycle stages and loyalty, one row per customer.

    Columns: customer, recency_days (NaN: never bought), frequency (purchase
    days), monetary (price x quantity), r, f, m (quantile scores 1-5, 0 when
    never bought), group (champions, loyal, new, cant_lose, at_risk,
    hibernating, needs_attention, prospect), stage (new, active, at_risk,
    lapsed, prospect: learnt from each customer's own purchase rhythm),
    typical_gap_days, loyalty (0-1). The rules are in the Rust docs of
    ``maitre::customers``.

    Parameters:
        log: the EventLog (it is not changed).
        items: the catalogue (prices make the monetary value).
        now: epoch seconds the stages are measured at (default: the last event).

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> table = maitre.rfm(log, maitre.synthetic_catalog(seed=1, size="tiny"))
        >>> sorted(set(table["stage"])) <= ["active", "at_risk", "lapsed", "new", "prospect"]
        True
    """
    import pandas as pd

    out = _maitre.rfm(log, items=None if items is None else _items(items), now=now)
    frame = pd.DataFrame(out["rfm"])
    life = pd.DataFrame(out["lifecycle"])
    frame["recency_days"] = frame["recency_days"].astype(float)
    frame["stage"] = life["stage"]
    frame["typical_gap_days"] = life["typical_gap_days"]
    frame["loyalty"] = [x["score"] for x in out["loyalty"]]
    return frame


def customer_view(
    log: _maitre.EventLog,
    customer: str,
    items: Any = None,
    recent: int = 50,
    now: Optional[int] = None,
) -> Dict[str, Any]:
    """Everything about one customer, in one dict (JSON-ready).

    Keys: customer (canonical id), identities (every linked id), first_seen,
    last_seen, events, channels and devices (event counts), timeline (the
    ``recent`` latest events across every id, channel and device, newest
    first), categories, brands, items (top affinities with shares), segment,
    rfm, lifecycle, loyalty, open_moments_of_truth (returns and complaints
    no service action has answered yet).

    Parameters:
        log: the EventLog.
        customer: any of the customer's ids (account, device, anonymous id).
        items: the catalogue.
        recent: timeline length, 1 to 10,000.
        now: epoch seconds stages are measured at (default: the last event).

    Raises UnknownIdError for a customer the log does not know.

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> view = maitre.customer_view(log, "c0000001", recent=5)
        >>> view["customer"], len(view["timeline"]) <= 5
        ('c0000001', True)
    """
    return _maitre.customer_view(
        log, customer, items=None if items is None else _items(items), recent=recent, now=now
    )
