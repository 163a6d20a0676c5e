"""Customer intelligence as pandas frames: segments, RFM and lifecycle, the
single customer view, targeting and advocates. The native calls return plain
lists and dicts; the frames are built here."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _maitre
from ._offers import _context
from ._recommend import _integer, _items

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


class KMeans:
    """k-means++ on the rows of a matrix, with scikit-learn's names: maitre's
    core (seeded, the same result on any thread count; 2.0-3.0x scikit-learn's
    speed on 1 M x 64, BENCHMARKS.md), the GIL released.

    Parameters:
        n_clusters: the number of segments; None chooses it (2 to 10) by the
            highest mean silhouette on a seeded sample of 2,000 rows.
        seed: the k-means++ seed.
        n_init: initialisations (seeds seed, seed + 1, ...); the lowest
            inertia is kept.
        threads: worker threads (the result does not depend on them).

    After ``fit``: ``cluster_centers_`` (k x dim, float32), ``labels_``,
    ``inertia_``, ``n_iter_``, ``converged_`` and ``silhouettes_`` ((k, mean
    silhouette) for every k tried when n_clusters was None). Pickles.

    Raises InvalidParamError for a bad parameter, a matrix that is not 2-D or
    holds a non-finite value, or more clusters than rows;
    NotEnoughDataError for no rows.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0, 0], [0, 1], [9, 9], [9, 8]], dtype=np.float32)
        >>> km = maitre.KMeans(2, seed=1).fit(x)
        >>> km.labels_[0] == km.labels_[1] != km.labels_[2], km.predict([[8.5, 9]])[0] == km.labels_[2]
        (True, True)
    """

    def __init__(self, n_clusters: Optional[int] = None, *, seed: int = 0, n_init: int = 1,
                 threads: Optional[int] = None) -> None:
        self.n_clusters, self.seed, self.n_init, self.threads = n_clusters, seed, n_init, threads

    def fit(self, X: Any) -> "KMeans":
        """Fits the centres on the rows of ``X`` (n x dim); returns self."""
        x = _matrix(X)
        centres, labels, inertia, iterations, converged, silhouettes = _maitre.kmeans_fit(
            x, x.shape[1], k=self.n_clusters, seed=self.seed, n_init=self.n_init,
            threads=self.threads)
        self.cluster_centers_ = centres
        self.labels_ = labels.astype(np.int32)
        self.inertia_ = float(inertia)
        self.n_iter_ = int(iterations)
        self.converged_ = bool(converged)
        self.silhouettes_ = [(int(k), float(v)) for k, v in silhouettes]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The nearest centre of each row of ``X`` (ties: the lower segment)."""
        centres = getattr(self, "cluster_centers_", None)
        if centres is None:
            raise _maitre.InvalidParamError("invalid parameter `KMeans`: not fitted: call fit first")
        x = _matrix(X)
        return _maitre.kmeans_predict(centres, centres.shape[1], x).astype(np.int32)

    def fit_predict(self, X: Any) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_


def _matrix(X: Any) -> np.ndarray:
    try:
        x = np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise _maitre.InvalidParamError(f"invalid parameter `X`: not a matrix of numbers ({e})") from None
    if x.ndim != 2:
        raise _maitre.InvalidParamError(f"invalid parameter `X`: {x.ndim}-D, expected rows x columns")
    return x


def segments(
    log: _maitre.EventLog,
    items: Any = None,
    k: Optional[int] = None,
    fit_min_days: int = 1,
    seed: int = 0,
    threads: Optional[int] = None,
    model: Optional[_maitre.AlsModel] = None,
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
        model: an ALS model fitted on this log (``maitre.ALS().fit(log)``):
            segments its customer vectors instead of category shares.

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
        representation="category_shares" if model is None else "vectors",
        fit_min_days=fit_min_days,
        seed=seed,
        threads=threads,
        model=model,
    )
    customers = pd.DataFrame({"customer": out["customers"], "segment": out["labels"]})
    return Segmentation(
        customers, _segment_frame(out["segments"]), [(int(k), float(s)) for k, s in out["silhouettes"]]
    )


def _segment_frame(described: Sequence[Mapping[str, Any]]) -> "pandas.DataFrame":
    """The core's described segments as one row each (``Segmentation.segments``)."""
    import pandas as pd

    def shares(s: Mapping[str, Any], key: str) -> List[Tuple[str, float]]:
        return [(x["name"], x["share"]) for x in s[key]]

    return pd.DataFrame(
        [
            {
                "segment": s["id"],
                "size": s["size"],
                "value": s["value"],
                "value_per_customer": s["value_per_customer"],
                "categories": shares(s, "categories"),
                "brands": shares(s, "brands"),
                "channels": shares(s, "channels"),
                "description": s["description"],
            }
            for s in described
        ],
        columns=["segment", "size", "value", "value_per_customer", "categories", "brands", "channels", "description"],
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

    return pd.DataFrame(_maitre.rfm(log, items=None if items is None else _items(items), now=now))


def customer_view(
    log: _maitre.EventLog,
    customer: str,
    items: Any = None,
    recent: int = 50,
    now: Optional[int] = None,
    model: Optional[_maitre.AlsModel] = None,
    offers: Any = None,
    context: Any = None,
    attributes: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """Everything about one customer, in one dict (JSON-ready).

    Keys: customer (canonical id), identities (every linked id), first_seen,
    last_seen, events, channels and devices (event counts), timeline (the
    ``recent`` latest events across every id, channel and device, newest
    first), categories, brands, items (top affinities with shares), segment,
    rfm, lifecycle, loyalty, open_moments_of_truth (returns and complaints
    no service action has answered yet), offers (shown, accepted, declined,
    ignored, pending and the latest showings, from ``offers``' decision log)
    and next_best_action (offer, kind, why, estimate, value, fired: what
    ``offers`` would put first now — computed, not shown or recorded).
    offers and next_best_action are None without ``offers``.

    Parameters:
        log: the EventLog.
        customer: any of the customer's ids (account, device, anonymous id).
        items: the catalogue.
        recent: timeline length, 1 to 10,000.
        now: epoch seconds stages are measured at (default: the last event).
        model: an ALS model fitted on this log: the customer's vector is the
            next best action's default context.
        offers: a ``maitre.NextBestOffer``: adds offers and next_best_action.
        context: the engine's context vector (default: the customer's vector
            from ``model``; none for an engine of dim 0).
        attributes: the customer's attributes for eligibility rules.

    Raises UnknownIdError for a customer the log does not know,
    InvalidParamError for a model fitted on another log or a missing context.

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> view = maitre.customer_view(log, "c0000001", recent=5)
        >>> view["customer"], len(view["timeline"]) <= 5
        ('c0000001', True)
    """
    return _maitre.customer_view(
        log,
        customer,
        items=None if items is None else _items(items),
        recent=recent,
        now=now,
        model=model,
        offers=None if offers is None else offers._native,
        context=None if context is None else _context(context),
        attributes=None if attributes is None else {str(k): str(v) for k, v in attributes.items()},
    )


def target(
    log: _maitre.EventLog,
    model: _maitre.AlsModel,
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
) -> "pandas.DataFrame":
    """The ``k`` customers most likely to engage with an item (or an offer
    in the catalogue) or a category, best first, each with why.

    Scores are inner products of the customers' ALS vectors with the
    target's (a category: the mean of its products' vectors); the reason is
    the items of the customer's history closest to the target.

    Parameters:
        log: the EventLog the model was fitted on.
        model: ``maitre.ALS().fit(log)``.
        item / category: exactly one of them.
        k: how many customers, at least 1.
        items: the catalogue (needed for a category).
        segments, stages, rfm_groups: only customers in these (empty: all);
            stages are "new", "active", "at_risk", "lapsed", "prospect".
        segmentation: what ``segments`` refers to: ``maitre.segments(log, ...)``
            of this log (or its ``customers`` frame: customer, segment).
            Customers it does not list (new since) are left out.
        exclude_buyers: leave out who already bought the item (the category).
        exclude: leave out these customers (any of their ids).
        now: epoch seconds stages are measured at.

    Returns a DataFrame: customer, score, reason (a dict: kind and the items
    behind it).

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> model = maitre.ALS(factors=8, iterations=3).fit(log)
        >>> top = maitre.target(log, model, item="sku-000003", k=5)
        >>> list(top.columns), len(top)
        (['customer', 'score', 'reason'], 5)
    """
    import pandas as pd

    chosen = [_integer("segments", s, hi=2**32 - 1) for s in segments]
    given: List[Any] = []
    if chosen:
        if segmentation is None:
            raise _maitre.InvalidParamError(
                "invalid parameter `segments`: give `segmentation`, what maitre.segments(log, ...) returned"
            )
        labels = getattr(segmentation, "customers", segmentation)
        if not hasattr(labels, "columns") or not {"customer", "segment"} <= set(labels.columns):
            raise _maitre.InvalidParamError(
                "invalid parameter `segmentation`: expected maitre.segments' result or a frame of customer, segment"
            )
        segment = np.asarray(labels["segment"])
        if segment.dtype.kind not in "iu" or (len(segment) and (segment.min() < 0 or segment.max() >= 2**32)):
            raise _maitre.InvalidParamError(
                "invalid parameter `segmentation`: its segment column must hold segment numbers (integers)"
            )
        given = [[str(c), g] for c, g in zip(labels["customer"], segment.tolist())]
    customer_filter = json.dumps(
        {
            "segments": chosen,
            "labels": given,
            "stages": [str(s) for s in stages],
            "rfm_groups": [str(g) for g in rfm_groups],
            "exclude_buyers": bool(exclude_buyers),
            "exclude": [str(c) for c in exclude],
        }
    )
    rows = _maitre.target(
        log,
        model,
        item=item,
        category=category,
        k=k,
        items=None if items is None else _items(items),
        customer_filter=customer_filter,
        now=now,
    )
    return pd.DataFrame(
        {
            "customer": [r["customer"] for r in rows],
            "score": np.array([r["score"] for r in rows], dtype=np.float32),
            "reason": [{key: v for key, v in r.items() if key not in ("customer", "score")} for r in rows],
        }
    )


def advocates(log: _maitre.EventLog, items: Any = None, n: int = 20, now: Optional[int] = None) -> "pandas.DataFrame":
    """The ``n`` strongest advocates, best first, each with why in words:
    loyal customers (repeat purchases, tenure, positive ratings, few
    returns: ``score``) who also rate what they buy positively
    (``advocacy``, what they are ranked by).

    Returns a DataFrame: customer, advocacy, score, repeat, tenure, ratings,
    returns, positive_ratings, occasions, why.

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> top = maitre.advocates(log, maitre.synthetic_catalog(seed=1, size="tiny"), n=3)
        >>> len(top), list(top.columns)[:2]
        (3, ['customer', 'advocacy'])
    """
    import pandas as pd

    rows = _maitre.advocates(log, items=None if items is None else _items(items), n=n, now=now)
    return pd.DataFrame(
        rows,
        columns=[
            "customer", "advocacy", "score", "repeat", "tenure", "ratings", "returns", "positive_ratings", "occasions", "why"
        ],
    )
