"""ALS and Recommender: keyword arguments, DataFrames and pickling around the native classes.

Conversions only. Requests become the core's ``Request`` as JSON (parsed
strictly by the native module, so a misspelt option is an InvalidParamError);
item tables become a dict of plain lists. Values are validated by the core,
which names the row and the field; the few checks here are the ones a plain
list cannot carry (a price that is not a number, an in_stock that is not a
boolean), raised as the same BadRecordError.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _frames
from . import _maitre

if TYPE_CHECKING:  # pragma: no cover
    import pandas

PathLike = Union[str, "os.PathLike[str]"]

ITEM_COLUMNS = ("id", "kind", "category", "brand", "price_band", "price", "tags", "in_stock")


def _bad(row: int, field: str, problem: str, detail: Optional[str] = None) -> _maitre.BadRecordError:
    """A BadRecordError shaped like the core's (row, field, problem, detail)."""
    what = {
        "not_a_number": f"{detail!r} is not a number",
        "not_finite": f"{detail} is not a finite number",
        "malformed": f"is malformed: {detail}",
    }.get(problem, problem)
    err = _maitre.BadRecordError(f"row {row}: field `{field}` {what}")
    err.row, err.line, err.field, err.problem, err.detail = row, None, field, problem, detail
    return err


class ALS(_maitre.ALS):
    __doc__ = _maitre.ALS.__doc__

    def fit(
        self,
        log: _maitre.EventLog,
        half_life_days: Optional[float] = None,
        progress: Union[None, bool, Callable[[Dict[str, Any]], Any]] = None,
    ) -> _maitre.AlsModel:
        """Builds the customer × item matrix of `log` and fits customer and item factors.

        Parameters:
            log: the EventLog.
            half_life_days: decay of event weights with age (None: no decay).
            progress: None; True for a tqdm bar (one printed line per sweep
                without tqdm); or a callable receiving a dict (iteration,
                iterations, seconds) after each sweep, which may return False
                to stop the fit.

        Returns an AlsModel. The GIL is released while fitting.

        Raises NotEnoughDataError for a log without interactions, CancelledError
        when the callback returned False, and whatever the callback raised.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> model = maitre.ALS(factors=8, iterations=3).fit(log, progress=lambda p: p["iteration"] < 2)
            Traceback (most recent call last):
            ...
            maitre.CancelledError: cancelled by the progress callback
        """
        if progress is True:
            progress = _ProgressBar(self.params()["iterations"])
            try:
                return super().fit(log, half_life_days, progress)
            finally:
                progress.close()
        if progress is False:
            progress = None
        return super().fit(log, half_life_days, progress)


class _ProgressBar:
    """tqdm if importable, else a line per sweep on stderr."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, desc="ALS", unit="sweep")

    def __call__(self, info: Dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.update(1)
        else:
            print(
                f"ALS sweep {info['iteration']}/{info['iterations']} ({info['seconds']:.2f} s)",
                file=sys.stderr,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _items(data: Any) -> Dict[str, list]:
    """A DataFrame (or mapping of columns) of items -> the native columns."""
    if isinstance(data, Mapping):
        keys = {str(k): k for k in data.keys()}
    elif hasattr(data, "columns"):
        keys = {str(k): k for k in data.columns}
    else:
        raise TypeError(f"items: expected a pandas DataFrame or a mapping of columns, got {type(data).__name__}")
    if "id" not in keys:
        raise _maitre.MissingColumnError(f"missing column `id` (columns present: {', '.join(keys)})")
    ids = _frames.ids(data[keys["id"]], "id")
    n = len(ids)
    out: Dict[str, list] = {"id": ids}
    for name in ("kind", "category", "brand", "price_band"):
        out[name] = _frames.texts(data[keys[name]]) if name in keys else [None] * n
    out["price"] = _prices(data[keys["price"]]) if "price" in keys else [None] * n
    out["tags"] = _tags(data[keys["tags"]]) if "tags" in keys else [[] for _ in range(n)]
    out["in_stock"] = _stock(data[keys["in_stock"]]) if "in_stock" in keys else [True] * n
    for name, col in out.items():
        if len(col) != n:
            raise _maitre.LengthMismatchError(f"length mismatch for `{name}`: expected {n}, got {len(col)}")
    return out


def _values(col: Any) -> list:
    return col.tolist() if hasattr(col, "tolist") else list(col)


def _prices(col: Any) -> List[Optional[float]]:
    """Floats; None/NaN -> no price. Text or other objects are a bad record."""
    out: List[Optional[float]] = []
    for row, v in enumerate(_values(col)):
        if _frames._is_na(v) or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
        else:
            raise _bad(row, "price", "not_a_number", str(v))
    return out


def _tags(col: Any) -> List[List[str]]:
    """Lists of str, or "|"-separated text; None/NaN -> no tags."""
    out: List[List[str]] = []
    for row, v in enumerate(_values(col)):
        if v is None or _frames._is_na(v) or (isinstance(v, float) and math.isnan(v)):
            out.append([])
        elif isinstance(v, str):
            out.append([t.strip() for t in v.split("|") if t.strip()])
        elif isinstance(v, (list, tuple, np.ndarray)):
            out.append([str(t) for t in v])
        else:
            raise _bad(row, "tags", "malformed", f"expected a list of str or 'a|b' text, got {v!r}")
    return out


def _stock(col: Any) -> List[bool]:
    """Booleans (or 0/1); None/NaN -> in stock. Anything else is a bad record."""
    out: List[bool] = []
    for row, v in enumerate(_values(col)):
        if v is None or _frames._is_na(v) or (isinstance(v, float) and math.isnan(v)):
            out.append(True)
        elif isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, float)) and v in (0, 1)):
            out.append(bool(v))
        else:
            raise _bad(row, "in_stock", "malformed", f"expected a boolean, got {v!r}")
    return out


def _invalid(name: str, reason: str) -> _maitre.InvalidParamError:
    """An InvalidParamError shaped like the core's (name, reason)."""
    err = _maitre.InvalidParamError(f"invalid parameter `{name}`: {reason}")
    err.name, err.reason = name, reason
    return err


def _integer(name: str, v: Any, lo: int = 0, hi: int = 2**64 - 1) -> int:
    """A Python or numpy integer (never a bool, a float or text) within what the
    core's type holds; anything else is an InvalidParamError naming `name`.
    Whether the value makes sense is for the core to say."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise _invalid(name, f"{v!r} ({type(v).__name__}) is not an integer")
    v = int(v)
    if not lo <= v <= hi:
        raise _invalid(name, f"{v} is outside {lo}..={hi}")
    return v


def _timestamp(name: str, v: Any) -> int:
    return _integer(name, v, -(2**63), 2**63 - 1)


def _session(session: Any) -> List[Dict[str, Any]]:
    """(item, kind) or (item, kind, timestamp) pairs, or a DataFrame with item,
    kind and optionally timestamp (epoch seconds) columns."""
    if session is None:
        return []
    if hasattr(session, "columns"):
        items = _frames.ids(session["item"], "item")
        kinds = _frames.ids(session["kind"], "kind")
        times = _values(session["timestamp"]) if "timestamp" in session.columns else [None] * len(items)
        rows: Sequence[Any] = list(zip(items, kinds, times))
    else:
        rows = list(session)
    out = []
    for at, row in enumerate(rows):
        if isinstance(row, str) or not hasattr(row, "__len__") or len(row) not in (2, 3):
            raise _invalid(f"session[{at}]", f"expected (item, kind) or (item, kind, timestamp), got {row!r}")
        event: Dict[str, Any] = {"item": str(row[0]), "kind": str(row[1])}
        if len(row) == 3 and row[2] is not None and not _frames._missing(row[2]):
            event["timestamp"] = _timestamp(f"session[{at}].timestamp", row[2])
        out.append(event)
    return out


def _request(
    customer: Optional[str] = None,
    session: Any = None,
    context: Optional[Mapping[str, str]] = None,
    k: int = 10,
    kinds: Optional[Sequence[str]] = None,
    filters: Optional[Mapping[str, Any]] = None,
    diversity: Optional[Mapping[str, Any]] = None,
    rotation: Optional[Mapping[str, Any]] = None,
    pins: Optional[Sequence[str]] = None,
    boosts: Optional[Sequence[Mapping[str, Any]]] = None,
    min_score: Optional[float] = None,
    now: Optional[int] = None,
    new_arrival_slot: bool = False,
) -> str:
    """The keyword arguments as the core's Request, in JSON."""
    filters = dict(filters or {})
    if kinds is not None:
        filters["kinds"] = [kinds] if isinstance(kinds, str) else list(kinds)
    if rotation is not None:
        rotation = {"ignored": {}, **rotation}
    request = {
        "customer": None if customer is None else str(customer),
        "session": _session(session),
        "context": [[str(key), str(value)] for key, value in (context or {}).items()],
        "k": _integer("k", k),
        "filters": filters,
        "boosts": list(boosts or []),
        "pins": [str(p) for p in (pins or [])],
        "diversity": dict(diversity or {}),
        "rotation": rotation,
        "min_score": min_score,
        "now": None if now is None else _timestamp("now", now),
        "new_arrival_slot": bool(new_arrival_slot),
    }
    try:
        return json.dumps(request, default=_plain)
    except ValueError as e:  # NaN/inf
        raise _invalid("request", str(e)) from None


def _is_one_context(context: Any) -> bool:
    """A single {key: value} mapping (not a frame or a dict of columns)."""
    if not isinstance(context, Mapping):
        return False
    return not any(isinstance(v, (list, tuple, np.ndarray)) or hasattr(v, "iloc") for v in context.values())


def _contexts(context: Any) -> List[List[Tuple[str, str]]]:
    """One context per row, from a list of dicts or a frame / dict of columns."""
    if hasattr(context, "columns") or isinstance(context, Mapping):
        keys = list(context.columns) if hasattr(context, "columns") else list(context.keys())
        columns = {str(key): _frames.texts(context[key], str(key)) for key in keys}
        n = len(next(iter(columns.values()))) if columns else 0
        return [[(key, col[i]) for key, col in columns.items() if col[i] is not None] for i in range(n)]
    rows = []
    for row in context:
        if not isinstance(row, Mapping):
            raise _invalid("context", f"expected a dict per customer, got {type(row).__name__}")
        rows.append([(str(key), str(value)) for key, value in row.items() if not _frames._missing(value)])
    return rows


def _plain(v: Any) -> Any:
    """numpy scalars and arrays in options -> plain Python for json."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not a valid option value")


class Recommender:
    """Serves recommendations: a customer's taste, the current session and the
    context in one query, the merchant's rules applied inside the index search,
    and a reason for every item.

    Build one with ``Recommender.build`` from a log and a fitted model, or read
    one with ``Recommender.load`` / ``from_bytes``. Pickling (and
    ``copy.deepcopy``) stores the full artifact, so a copy gives identical
    recommendations; one loaded from a storefront artifact copies too.

    Safe to share between threads: requests run in parallel with the GIL
    released, and ``add_item`` waits for the requests in flight.

    Example:
        >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
        >>> model = maitre.ALS(factors=16, iterations=5).fit(log)
        >>> rec = maitre.Recommender.build(log, model)
        >>> ids, scores = rec.recommend(session=[("sku-000003", "view")], k=5)
        >>> len(ids), bool(scores[0] >= scores[-1])
        (5, True)
    """

    def __init__(self, native: _maitre.Recommender) -> None:
        self._native = native
        self._ids: Optional[np.ndarray] = None
        # Guards the id cache: a reader refreshing it must not store a table
        # read before another thread's add_item after that add cleared it.
        self._ids_lock = threading.Lock()

    # -- building, loading ----------------------------------------------------------

    @classmethod
    def build(
        cls,
        log: _maitre.EventLog,
        model: _maitre.AlsModel,
        items: Any = None,
        attributes: bool = True,
        without_customers: bool = False,
        index: str = "auto",
        hnsw: Optional[Mapping[str, int]] = None,
        calibrate_new_items: Optional[float] = None,
        settings: Optional[Mapping[str, Any]] = None,
    ) -> "Recommender":
        """Builds a recommender from the log `model` was fitted on.

        Parameters:
            log: the EventLog the model was fitted on (it is not changed).
            model: the AlsModel.
            items: None, or a DataFrame (or mapping of columns) describing items:
                ``id`` (required), ``kind`` (product, content, offer, service),
                ``category``, ``brand``, ``price_band``, ``price`` (number),
                ``tags`` (list of str, or "a|b" text), ``in_stock`` (bool).
                Missing values mean "not set" (in stock for in_stock). Items
                with no events in the log are new arrivals, placed from their
                attributes all at once (needs ``attributes=True``; without it,
                add them with ``add_item`` and a vector).
            attributes: learn the cold-start map from item attributes to
                vectors (used by ``add_item`` without a vector).
            without_customers: leave known customers out (sessions only).
            index: "auto" (exact below 20,000 items, HNSW above), "exact" or "hnsw".
            hnsw: None, or HNSW settings for when the index is HNSW:
                ``max_connections`` (M, default 16), ``ef_construction``
                (default 200), ``ef_search`` (default 100; higher is better
                recall, slower), ``seed`` (default 42). The graph is saved
                with the recommender, so loading or unpickling never rebuilds it.
            calibrate_new_items: None (default), or a strength > 0: rescale each
                attribute-placed (new) item's vector to the norm of warm items
                with similar attributes times this strength (1 is parity), so a
                new product with a strong attribute match can enter a
                full-catalogue list. Off by default because the strength that
                keeps new items to a small share of places differs by catalogue
                (0.95 on MovieLens 100K, 1.1 and 3 on the small and medium
                storefronts): choose it on your own validation split
                (``maitre.evaluate_cold_start``). Needs ``attributes=True``.
            settings: None, or serving settings to start with (see ``settings``;
                ``maitre.tune`` returns the ones that served best as
                ``trials.attrs["settings"]``).

        Raises BadRecordError naming the row and column of a bad item (empty or
        duplicate id, unknown kind, price that is not a finite number, ...),
        MissingColumnError without ``id``, LengthMismatchError when the items,
        model and log disagree, InvalidParamError for an unknown index or a bad
        or unknown ``hnsw`` or serving setting.

        Example:
            >>> import pandas as pd
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> model = maitre.ALS(factors=8, iterations=3).fit(log)
            >>> items = pd.DataFrame({"id": ["sku-000001", "sku-000002"],
            ...                       "category": ["shoes", "bags"], "price": [30.0, None],
            ...                       "tags": ["vegan|new", None], "in_stock": [True, False]})
            >>> maitre.Recommender.build(log, model, items=items)
            Recommender(items=..., factors=8, customers=...)
        """
        columns = None if items is None else _items(items)
        rec = cls(
            _maitre.Recommender.build(
                log,
                model,
                items=columns,
                attributes=attributes,
                without_customers=without_customers,
                index=index,
                hnsw=None if hnsw is None else dict(hnsw),
                calibrate_new_items=calibrate_new_items,
            )
        )
        if settings is not None:
            rec.set_settings(**settings)
        return rec

    @classmethod
    def load(cls, path: PathLike) -> "Recommender":
        """Reads a recommender saved with ``save`` (either flavour).

        Raises MaitreFileNotFoundError (a FileNotFoundError) for a missing file,
        ArtifactError (``problem``: truncated, checksum_mismatch, ...) for a file
        that is not a readable artifact.

        Example:
            >>> rec = maitre.Recommender.load("shop.maitre")  # doctest: +SKIP
        """
        return cls(_maitre.Recommender.load(os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Recommender":
        """Reads artifact bytes from ``to_bytes``.

        Raises ArtifactError for bytes that are not a readable artifact.

        Example:
            >>> maitre.Recommender.from_bytes(b"not an artifact")
            Traceback (most recent call last):
            ...
            maitre.ArtifactError: artifact: not a maitre artifact (it starts with "not an a")
        """
        return cls(_maitre.Recommender.from_bytes(bytes(data)))

    def save(self, path: PathLike, flavour: str = "full") -> None:
        """Writes the recommender to `path` atomically.

        Parameters:
            path: the file.
            flavour: "full" (everything, bit-identical on load) or "storefront"
                (no customer ids, histories or vectors; int8 item vectors; small
                enough for a browser).

        Example:
            >>> rec.save("shop.maitre", flavour="storefront")  # doctest: +SKIP
        """
        self._native.save(os.fspath(path), flavour)

    def to_bytes(self, flavour: str = "full") -> bytes:
        """The artifact as bytes (``flavour`` as for ``save``).

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=4, iterations=1).fit(log))
            >>> maitre.Recommender.from_bytes(rec.to_bytes("storefront")).has_customers
            False
        """
        return self._native.to_bytes(flavour)

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes("full"),))

    # -- serving -------------------------------------------------------------------

    def recommend(
        self,
        customer: Optional[str] = None,
        session: Any = None,
        context: Optional[Mapping[str, str]] = None,
        k: int = 10,
        kinds: Optional[Sequence[str]] = None,
        filters: Optional[Mapping[str, Any]] = None,
        diversity: Optional[Mapping[str, Any]] = None,
        rotation: Optional[Mapping[str, Any]] = None,
        pins: Optional[Sequence[str]] = None,
        boosts: Optional[Sequence[Mapping[str, Any]]] = None,
        min_score: Optional[float] = None,
        now: Optional[int] = None,
        as_frame: bool = False,
        new_arrival_slot: bool = False,
    ) -> Any:
        """Top-`k` items for a customer and/or a session, in a context, under rules.

        Parameters:
            customer: a known customer id (any linked id); an unknown id is a new
                visitor, served from session, context and popularity.
            session: the current session: (item, kind) or (item, kind, timestamp)
                pairs, or a DataFrame with item, kind (and timestamp) columns.
            context: e.g. {"device": "mobile", "channel": "app"}.
            k: the number of items: a Python or numpy integer (a float, bool
                or negative k is an InvalidParamError); more than the catalogue
                gives at most the whole catalogue.
            kinds: item kinds to recommend (default ["product"]).
            filters: a dict of the core's Filters: kinds, in_stock_only (True),
                exclude_seen (False: every item the customer or session
                interacted with, views included), exclude_consumed (True:
                items they purchased, rated, reviewed, returned, complained
                about or disliked), exclude_purchased_within (seconds, needs `now`), categories, min_price, max_price, exclude_items,
                only_items (a candidate set: only these ids may appear), and
                predicates (a list of {"field": category|brand|price_band|tag|kind,
                "values": [...], "negate": False}).
            diversity: {"relevance": 0..1 (1: relevance only), "max_per_category": n}.
            rotation: {"penalty": p, "ignored": {item: times shown and not taken}}.
            pins: items placed first, in order.
            boosts: [{"when": predicate, "amount": 0.1}, ...].
            min_score: personalised items below this are replaced by fallbacks.
            now: "now" in epoch seconds, for time windows.
            as_frame: return a DataFrame (item, score, reason, because) instead.
            new_arrival_slot: give the last place to the best new arrival
                (an item placed from its attributes) that passes the rules, with
                reason new_arrival, when none is already in the list.

        Returns ``(ids, scores)``: an object array of item ids and a float32
        array of scores, best first. ``reason`` is one of because, taste,
        pinned, popular_in_context, popular, new_arrival; ``because`` lists the history
        items (or the context pair) behind it.

        Raises UnknownIdError for an unknown session item, InvalidParamError
        for a bad or misspelt option.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> frame = rec.recommend(session=[("sku-000003", "view")], context={"device": "mobile"},
            ...                       k=3, filters={"exclude_items": ["sku-000004"]}, as_frame=True)
            >>> list(frame.columns), len(frame)
            (['item', 'score', 'reason', 'because'], 3)
        """
        request = _request(customer, session, context, k, kinds, filters, diversity, rotation, pins, boosts, min_score, now,
                           new_arrival_slot)
        ids, scores, details = self._native._recommend(request, as_frame)
        return self._result(ids, scores, details, as_frame)

    def recommend_batch(
        self,
        customers: Sequence[str],
        k: int = 10,
        context: Any = None,
        kinds: Optional[Sequence[str]] = None,
        filters: Optional[Mapping[str, Any]] = None,
        diversity: Optional[Mapping[str, Any]] = None,
        rotation: Optional[Mapping[str, Any]] = None,
        pins: Optional[Sequence[str]] = None,
        boosts: Optional[Sequence[Mapping[str, Any]]] = None,
        min_score: Optional[float] = None,
        now: Optional[int] = None,
        as_frame: Union[bool, str] = False,
        new_arrival_slot: bool = False,
    ) -> Any:
        """``recommend`` for many customers at once, in parallel in the core with
        the GIL released. Options as for ``recommend``, shared by every customer,
        except ``context``: one dict for all, or one context per customer — a
        list of dicts, or a DataFrame (or dict of columns) with a row per
        customer whose columns are context keys (missing values are left out).

        Returns ``(ids, scores)``: arrays of shape (len(customers), width),
        object and float32, where width is k capped at the catalogue size,
        padded with None and NaN where fewer items pass the filters; or, with
        ``as_frame``, a DataFrame (customer, rank, item, score, reason) with
        one row per recommended item; with ``as_frame="arrow"``, the same
        columns as a ``pyarrow.Table`` (to write as Parquet, or hand to
        Polars or DuckDB, without pandas).

        Raises the first failing request's error, and InvalidParamError when
        customers × width is above 2**24 results (split the batch) or for an
        ``as_frame`` other than a bool, "pandas" or "arrow".

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> ids, scores = rec.recommend_batch(["c0000001", "c0000002"], k=4)
            >>> ids.shape, scores.dtype
            ((2, 4), dtype('float32'))
        """
        if as_frame not in (False, True, "pandas", "arrow"):
            raise _invalid("as_frame", f"{as_frame!r} is not a bool, 'pandas' or 'arrow'")
        shared = context if context is None or _is_one_context(context) else None
        rows_context = None if shared is not None or context is None else _contexts(context)
        request = _request(None, None, shared, k, kinds, filters, diversity, rotation, pins, boosts, min_score, now,
                           new_arrival_slot)
        customers = [str(c) for c in customers]
        rows, scores, reasons = self._native._recommend_batch(request, customers, bool(as_frame), rows_context)
        ids = self._ids_of(rows)
        if not as_frame:
            return ids, scores
        kept = rows.ravel() >= 0
        n, width = rows.shape
        columns = {
            "customer": np.repeat(np.array(customers, dtype=object), width)[kept],
            "rank": np.tile(np.arange(1, width + 1), n)[kept],
            "item": ids.ravel()[kept],
            "score": scores.ravel()[kept],
            "reason": np.array(reasons, dtype=object)[kept] if reasons else np.array([], dtype=object),
        }
        if as_frame == "arrow":
            pa = _frames._pa()
            types = {"customer": pa.string(), "rank": pa.int64(), "item": pa.string(), "score": pa.float32(),
                     "reason": pa.string()}
            return pa.table({name: pa.array(values, type=types[name]) for name, values in columns.items()})
        import pandas as pd

        return pd.DataFrame(columns)

    def similar_items(self, item: str, k: int = 10, filters: Optional[Mapping[str, Any]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Items most like `item` (inner product of item vectors), best first.

        Parameters:
            item: an item id.
            k: how many.
            filters: as for ``recommend`` (the item itself is always left out).

        Returns ``(ids, scores)``. Raises UnknownIdError for an unknown item.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> ids, scores = rec.similar_items("sku-000003", k=3)
            >>> "sku-000003" in ids
            False
        """
        raw = None if filters is None else json.dumps(dict(filters), default=_plain)
        ids, scores, _ = self._native._similar_items(str(item), k, raw)
        return np.array(ids, dtype=object), scores

    def customers_for_item(self, item: str, k: int = 100) -> Tuple[np.ndarray, np.ndarray]:
        """The `k` known customers most likely to want `item` (a campaign's audience).

        Returns ``(customer ids, scores)``. Raises UnknownIdError for an unknown
        item, InvalidParamError for a recommender without customers (storefront).

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> ids, scores = rec.customers_for_item("sku-000003", k=5)
            >>> len(ids)
            5
        """
        ids, scores = self._native._customers_for_item(str(item), k)
        return np.array(ids, dtype=object), scores

    def rerank(
        self,
        candidates: Sequence[str],
        customer: Optional[str] = None,
        session: Any = None,
        context: Optional[Mapping[str, str]] = None,
        as_frame: bool = False,
    ) -> Any:
        """Orders `candidates` (item ids, e.g. from a search) for the customer,
        session and context; filters are not applied.

        Returns ``(ids, scores)`` best first, or a DataFrame as ``recommend``.
        Raises UnknownIdError for an unknown candidate.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> ids, _ = rec.rerank(["sku-000001", "sku-000002"], session=[("sku-000003", "view")])
            >>> sorted(ids)
            ['sku-000001', 'sku-000002']
        """
        request = _request(customer, session, context, k=len(candidates))
        ids, scores, details = self._native._rerank(request, [str(c) for c in candidates], as_frame)
        return self._result(ids, scores, details, as_frame)

    def rerank_batch(
        self,
        candidates: Any,
        context: Optional[Mapping[str, str]] = None,
        customer: str = "customer",
        item: str = "item",
    ) -> "pandas.DataFrame":
        """``rerank`` for many customers at once, each with their own candidates
        (from a search, another model, a campaign list), in parallel in the
        core with the GIL released; filters are not applied.

        Parameters:
            candidates: a DataFrame (or mapping of columns) with one row per
                (customer, candidate item), in columns ``customer`` and ``item``.
            context: one context for every customer, e.g. {"channel": "email"}.
            customer, item: the column names.

        Returns a DataFrame (customer, rank, item, score, reason): every
        candidate, each customer's best first, customers in the order they
        first appear. Unknown customers are ranked by popularity. Raises
        UnknownIdError for an unknown candidate item, MissingColumnError
        without the two columns.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> pairs = {"customer": ["c0000001", "c0000001", "c0000002"],
            ...          "item": ["sku-000001", "sku-000002", "sku-000003"]}
            >>> frame = rec.rerank_batch(pairs)
            >>> list(frame.columns), list(frame["rank"])
            (['customer', 'rank', 'item', 'score', 'reason'], [1, 2, 1])
        """
        import pandas as pd

        frame = candidates if isinstance(candidates, pd.DataFrame) else pd.DataFrame(dict(candidates))
        missing = [c for c in (customer, item) if c not in frame.columns]
        if missing:
            raise _maitre.MissingColumnError(
                f"missing column `{missing[0]}` (present: {', '.join(map(str, frame.columns))})"
            )
        codes, customers = pd.factorize(frame[customer].astype(str), sort=False)
        order = np.argsort(codes, kind="stable")
        items = frame[item].astype(str).to_numpy()[order]
        bounds = np.searchsorted(codes[order], np.arange(1, len(customers)))
        lists = [list(part) for part in np.split(items, bounds)] if len(customers) else []
        request = _request(None, None, context, k=max((len(x) for x in lists), default=0))
        owners, rows, scores, reasons = self._native._rerank_batch(
            request, [str(c) for c in customers], lists, True
        )
        starts = np.r_[0, np.flatnonzero(np.diff(owners)) + 1] if owners.size else np.zeros(0, np.int64)
        rank = np.arange(owners.size) - np.repeat(starts, np.diff(np.r_[starts, owners.size])) + 1
        return pd.DataFrame(
            {
                "customer": np.asarray(customers, dtype=object)[owners],
                "rank": rank.astype(np.int64),
                "item": self._ids_of(rows),
                "score": scores,
                "reason": np.array(reasons or [], dtype=object),
            }
        )

    def add_item(
        self,
        id: str,
        kind: Optional[str] = None,
        category: Optional[str] = None,
        brand: Optional[str] = None,
        price_band: Optional[str] = None,
        price: Optional[float] = None,
        tags: Union[None, str, Sequence[str]] = None,
        in_stock: bool = True,
        vector: Optional[Sequence[float]] = None,
    ) -> int:
        """Adds a brand-new item, recommendable at once.

        Its vector is `vector` if given, else learned from its attributes (needs
        the recommender built with ``attributes=True``). Returns its row.

        Raises InvalidParamError for an id already in the catalogue,
        LengthMismatchError for a vector of the wrong length.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> row = rec.add_item("sku-new", category="cat-01", tags=["new"])
            >>> "sku-new" in rec.similar_items("sku-000003", k=1000)[0]
            True
        """
        columns = _items(
            {
                "id": [id],
                "kind": [kind],
                "category": [category],
                "brand": [brand],
                "price_band": [price_band],
                "price": [price],
                "tags": [tags],
                "in_stock": [in_stock],
            }
        )
        with self._ids_lock:
            row = self._native._add_item(columns, vector)
            self._ids = None
        return row

    def forget(self, customer: str) -> Dict[str, Any]:
        """Removes a known customer (any of their ids): their vector, every id
        that led to them and their history, so no later answer or saved
        artifact holds them. What was learnt from everyone together (item
        vectors, popularity, context vectors) stays: it holds no one's id or
        vector. Returns ``customer`` (canonical id), ``identities`` and
        ``history`` (items in it). Also call ``log.forget`` and, if offers
        are served, ``NextBestOffer.forget``.

        Raises UnknownIdError for an id the recommender does not know (and
        changes nothing).

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> rec.forget("c0000001")["customer"]
            'c0000001'
        """
        return self._native._forget(str(customer))

    def settings(self) -> Dict[str, Any]:
        """The serving settings: ``context_weight`` (how much a request's
        context moves the query; default 0.1), ``session_weight`` (a known
        customer's session against their taste; 0.5), ``popular_per_context``
        (items kept per context value for fallbacks; 200),
        ``history_half_life`` (None, or seconds: a known customer is served
        from their history with each item's weight halved per half-life
        between their last event on it and their latest event, so what they
        did last counts most; ``maitre.tune`` chooses it). Saved with the
        recommender.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> rec.settings()["context_weight"]
            0.1...
        """
        return self._native.settings()

    def set_settings(self, **settings: Any) -> None:
        """Changes some serving settings (see ``settings``), keeping the rest.
        Waits for requests in flight. An unknown name or a bad value raises
        InvalidParamError naming it, and changes nothing.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=3).fit(log))
            >>> rec.set_settings(context_weight=0.3)
            >>> round(rec.settings()["context_weight"], 3)
            0.3
        """
        merged = dict(self._native.settings())
        merged.update(settings)
        self._native._set_settings(json.dumps(merged, default=_plain))

    def item_ids(self) -> np.ndarray:
        """Every item id, by row (the row order of the model's item factors).

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=4, iterations=1).fit(log))
            >>> len(rec.item_ids()) == rec.summary()["items"]
            True
        """
        return self._item_table()[:-1].copy()

    @property
    def has_customers(self) -> bool:
        """Whether known customers are kept (False for the storefront flavour)."""
        return self._native.has_customers

    def summary(self) -> Dict[str, int]:
        """Items, factors and known customers.

        Example:
            >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
            >>> rec = maitre.Recommender.build(log, maitre.ALS(factors=8, iterations=1).fit(log))
            >>> rec.summary()["factors"]
            8
        """
        return self._native.summary()

    def __repr__(self) -> str:
        s = self.summary()
        return f"Recommender(items={s['items']}, factors={s['factors']}, customers={s['customers']})"

    # -- helpers -------------------------------------------------------------------

    def _ids_of(self, rows: np.ndarray) -> np.ndarray:
        """Item ids of native item rows (-1 is None)."""
        table = self._item_table()
        if rows.size and rows.max() >= len(table) - 1:  # items added meanwhile (another thread)
            table = self._item_table(refresh=True)
        return table[rows]

    def _item_table(self, refresh: bool = False) -> np.ndarray:
        """Item ids by row, with None last (so row -1 is None)."""
        with self._ids_lock:
            if refresh or self._ids is None:
                self._ids = np.array(self._native.item_ids() + [None], dtype=object)
            return self._ids

    @staticmethod
    def _result(ids: List[str], scores: np.ndarray, details: Any, as_frame: bool) -> Any:
        ids_array = np.array(ids, dtype=object)
        if not as_frame:
            return ids_array, scores
        import pandas as pd

        reasons, because = details
        return pd.DataFrame({"item": ids_array, "score": scores, "reason": reasons, "because": because})
