"""maitre: embeddable personalisation and recommendation.

Behaviour events in (views, clicks, carts, purchases, ratings, returns), customer
and item representations and recommendations out, from one Rust core.

Example:
    >>> import maitre
    >>> log = maitre.synthetic_storefront(seed=7, size="tiny")
    >>> report = maitre.evaluate(log, positive_kinds=["purchase"])
    >>> sorted(report)
    ['dataset', 'items', 'results', 'split', 'users']
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _frames
from . import _maitre
from ._maitre import (
    AlsModel,
    ArtifactError,
    BadRecordError,
    CancelledError,
    InvalidParamError,
    LengthMismatchError,
    MaitreError,
    MaitreFileNotFoundError,
    MaitreIOError,
    MissingColumnError,
    NotEnoughDataError,
    UnknownIdError,
)
from ._offers import Decision, NextBestOffer, OfferChoice, evaluate_policy
from ._recommend import ALS, Recommender, _items
from ._customers import KMeans, Segmentation, advocates, customer_view, rfm, segments, target

# Documented and pickled as maitre.ALS / maitre.Recommender / maitre.NextBestOffer.
ALS.__module__ = Recommender.__module__ = "maitre"
NextBestOffer.__module__ = Decision.__module__ = OfferChoice.__module__ = "maitre"
evaluate_policy.__module__ = "maitre"

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__version__: str = _maitre.__version__

__all__ = [
    "EventLog",
    "synthetic_storefront",
    "load_movielens",
    "movielens_dir",
    "synthetic_catalog",
    "load_movielens_catalog",
    "evaluate",
    "evaluate_frame",
    "evaluate_cold_start",
    "tune",
    "ALS",
    "AlsModel",
    "Recommender",
    "NextBestOffer",
    "evaluate_policy",
    "segments",
    "KMeans",
    "rfm",
    "customer_view",
    "target",
    "advocates",
    "MaitreError",
    "BadRecordError",
    "MissingColumnError",
    "InvalidParamError",
    "UnknownIdError",
    "LengthMismatchError",
    "NotEnoughDataError",
    "CancelledError",
    "ArtifactError",
    "MaitreFileNotFoundError",
    "MaitreIOError",
]

PathLike = Union[str, "os.PathLike[str]"]


class EventLog(_maitre.EventLog):
    """A log of behaviour events, validated and interned by the core.

    Every ingestion is a batch accepted whole or rejected whole: a bad row raises
    BadRecordError naming the row (or file line) and the column, and leaves the
    log exactly as it was. With ``skip_bad_rows=True`` bad rows are skipped and
    counted in the returned report instead.

    Ids are text or integers. A float id column of whole numbers (what pandas
    makes of an integer column with a missing value) gives the integers' text,
    so 101.0 is customer "101", the same as 101 and "101"; a fractional or
    non-finite float id, or bytes that are not UTF-8, is a BadRecordError
    naming the row and the column (raised even with ``skip_bad_rows``: it is
    the column's type that is wrong).

    Frames are converted and ingested 65,536 rows at a time inside that one
    batch, so ingesting holds about the log's own size above the frame (≈ 30
    bytes per event), not a converted copy of the frame.

    Column keywords, shared by every ingestion method: ``customer``
    ("customer_id"), ``item`` ("item_id"), ``kind`` ("kind"), ``timestamp``
    ("timestamp"), ``value`` ("value", optional column), ``context`` (the context
    columns; None takes every other column).

    Example:
        >>> log = maitre.EventLog()
        >>> log.extend({"customer_id": ["c1", "c1"], "item_id": ["sku-1", "sku-2"],
        ...             "kind": ["view", "purchase"], "timestamp": [1714564800, 1714565000],
        ...             "channel": ["web", "app"]})["accepted"]
        2
        >>> log
        EventLog(events=2, customers=1, items=2)
    """

    @classmethod
    def from_pandas(
        cls,
        df: "pandas.DataFrame",
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
        kinds: Optional[Mapping[str, float]] = None,
        scaled: Optional[Sequence[str]] = None,
    ) -> "EventLog":
        """A new log from a DataFrame (or a dict of columns), one event per row.

        Parameters:
            df: the events. datetime64 timestamps (naive ones are UTC) or numeric
                epoch seconds or text (epoch seconds or RFC 3339).
            customer, item, kind, timestamp, value: column names.
            context: context columns; None takes every other column.
            skip_bad_rows: skip bad rows (with a warning saying how many) instead
                of raising.
            kinds, scaled: the event kinds and their weights (see ``EventLog``).

        Raises BadRecordError (``row``, ``field``, ``problem``), MissingColumnError.

        Example:
            >>> import pandas as pd
            >>> df = pd.DataFrame({"customer_id": ["c1", "c2"], "item_id": ["a", "b"],
            ...     "kind": ["view", "purchase"],
            ...     "timestamp": pd.to_datetime(["2024-05-01 12:00", "2024-05-02 09:30"])})
            >>> len(maitre.EventLog.from_pandas(df))
            2
        """
        log = cls(kinds, scaled=_list(scaled))
        report = log.extend(
            df,
            customer=customer,
            item=item,
            kind=kind,
            timestamp=timestamp,
            value=value,
            context=context,
            skip_bad_rows=skip_bad_rows,
        )
        _warn_skipped(report)
        return log

    @classmethod
    def from_csv(
        cls,
        path: PathLike,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
        kinds: Optional[Mapping[str, float]] = None,
        scaled: Optional[Sequence[str]] = None,
    ) -> "EventLog":
        """A new log from a CSV file with a header (see ``read_csv``).

        Parameters:
            path: the file.
            customer, item, kind, timestamp, value: column names.
            context: context columns; None takes every other column.
            skip_bad_rows: skip bad rows (with a warning saying how many) instead
                of raising.
            kinds, scaled: the event kinds and their weights (see ``EventLog``).

        Raises BadRecordError (``line``, ``field``, ``problem``), MissingColumnError,
        MaitreFileNotFoundError (a FileNotFoundError).

        Example:
            >>> log = maitre.EventLog.from_csv("events.csv", customer="user")  # doctest: +SKIP
        """
        log = cls(kinds, scaled=_list(scaled))
        report = log.read_csv(
            path,
            customer=customer,
            item=item,
            kind=kind,
            timestamp=timestamp,
            value=value,
            context=_list(context),
            skip_bad_rows=skip_bad_rows,
        )
        _warn_skipped(report)
        return log

    @classmethod
    def from_jsonl(
        cls,
        path: PathLike,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
        kinds: Optional[Mapping[str, float]] = None,
        scaled: Optional[Sequence[str]] = None,
    ) -> "EventLog":
        """A new log from a JSON Lines file, one object per line (see ``read_jsonl``).

        Parameters:
            path: the file.
            customer, item, kind, timestamp, value: keys.
            context: context keys; None takes every other key (and a ``context`` object).
            skip_bad_rows: skip bad lines (with a warning saying how many) instead
                of raising.
            kinds, scaled: the event kinds and their weights (see ``EventLog``).

        Raises BadRecordError (``line``, ``field``, ``problem``),
        MaitreFileNotFoundError (a FileNotFoundError).

        Example:
            >>> log = maitre.EventLog.from_jsonl("events.jsonl")  # doctest: +SKIP
        """
        log = cls(kinds, scaled=_list(scaled))
        report = log.read_jsonl(
            path,
            customer=customer,
            item=item,
            kind=kind,
            timestamp=timestamp,
            value=value,
            context=_list(context),
            skip_bad_rows=skip_bad_rows,
        )
        _warn_skipped(report)
        return log

    @classmethod
    def from_arrow(
        cls,
        data: Any,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
        kinds: Optional[Mapping[str, float]] = None,
        scaled: Optional[Sequence[str]] = None,
    ) -> "EventLog":
        """A new log from Arrow data: a pyarrow Table or RecordBatch, or a
        frame that exports Arrow (a Polars DataFrame). See ``extend_arrow``.

        Example:
            >>> import pyarrow as pa
            >>> table = pa.table({"customer_id": ["c1", "c2"], "item_id": ["a", "b"],
            ...     "kind": ["view", "purchase"], "timestamp": [1714564800, 1714565000]})
            >>> len(maitre.EventLog.from_arrow(table))
            2
        """
        log = cls(kinds, scaled=_list(scaled))
        report = log.extend_arrow(
            data, customer=customer, item=item, kind=kind, timestamp=timestamp,
            value=value, context=context, skip_bad_rows=skip_bad_rows,
        )
        _warn_skipped(report)
        return log

    @classmethod
    def from_parquet(
        cls,
        path: PathLike,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
        kinds: Optional[Mapping[str, float]] = None,
        scaled: Optional[Sequence[str]] = None,
    ) -> "EventLog":
        """A new log from a Parquet file or a directory of them (a dataset),
        read batch by batch: memory holds one batch beside the log, never the
        whole table. One all-or-nothing ingestion, as ``extend_arrow``.

        Example:
            >>> log = maitre.EventLog.from_parquet("events.parquet")  # doctest: +SKIP
        """
        dataset = _frames.parquet_dataset(path)
        names = dataset.schema.names
        few = [kind] + _frames.context_names(names, (customer, item, kind, timestamp, value), context)
        dataset = _frames.parquet_coded(dataset, path, few)
        log = cls(kinds, scaled=_list(scaled))
        pool = _frames.batch_pool()
        report = log._extend_batches(
            dataset.to_batches(batch_size=_frames.CHUNK_ROWS, memory_pool=pool),
            names, dataset.count_rows(),
            customer=customer, item=item, kind=kind, timestamp=timestamp,
            value=value, context=context, skip_bad_rows=skip_bad_rows, pool=pool,
        )
        _warn_skipped(report)
        return log

    def extend_arrow(
        self,
        data: Any,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> Dict[str, Any]:
        """Appends Arrow data as one batch, without a Python object per row:
        text columns cross as dictionary codes and their distinct strings
        (dictionary-encoded columns keep their dictionary), numbers and
        timestamps as arrays (any unit; timestamps without a zone are UTC).

        Parameters, return value and errors are those of ``extend``; a bad row
        is named by its position in the whole input.

        Example:
            >>> import pyarrow as pa
            >>> log = maitre.EventLog()
            >>> table = pa.table({"customer_id": ["c1"], "item_id": ["a"], "kind": ["view"],
            ...     "timestamp": pa.array([1714564800000], pa.timestamp("ms")),
            ...     "channel": pa.array(["web"]).dictionary_encode()})
            >>> log.extend_arrow(table)["accepted"]
            1
        """
        table = _frames.arrow_table(data)
        return self._extend_batches(
            table.to_batches(), table.column_names, table.num_rows,
            customer=customer, item=item, kind=kind, timestamp=timestamp,
            value=value, context=context, skip_bad_rows=skip_bad_rows,
        )

    def _extend_batches(
        self, batches: Any, names: List[str], rows: int, *, customer: str, item: str,
        kind: str, timestamp: str, value: str, context: Optional[Sequence[str]],
        skip_bad_rows: bool, pool: Any = None,
    ) -> Dict[str, Any]:
        rows, context_names, chunks = _frames.arrow_chunks(
            batches, list(names), rows, customer=customer, item=item, kind=kind,
            timestamp=timestamp, value=value, context=context, pool=pool,
        )
        return self._extend_chunks(
            chunks, rows, customer=customer, item=item, kind=kind, timestamp=timestamp,
            value=value, context=context_names, skip_bad_rows=skip_bad_rows,
        )

    def extend(
        self,
        data: Any,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> Dict[str, Any]:
        """Appends a DataFrame (or a dict of column name -> list/array) as one batch.

        Parameters:
            data: the events, one per row.
            customer, item, kind, timestamp, value: column names.
            context: context columns; None takes every other column.
            skip_bad_rows: skip bad rows and count them instead of raising.

        Returns the ingestion report: ``accepted``, ``skipped``,
        ``skipped_by_field`` (column -> count) and ``first_skipped`` (the first
        skipped rows: location, field, problem).

        Raises BadRecordError (``row``, ``field``, ``problem``), MissingColumnError,
        LengthMismatchError; the log is then unchanged.

        Example:
            >>> log = maitre.EventLog()
            >>> report = log.extend({"customer_id": ["c1", ""], "item_id": ["a", "b"],
            ...     "kind": ["view", "view"], "timestamp": [1714564800, 1714564801]},
            ...     skip_bad_rows=True)
            >>> report["accepted"], report["skipped"], report["skipped_by_field"]
            (1, 1, {'customer_id': 1})
        """
        rows, context_names, chunks = _frames.chunks(
            data,
            customer=customer,
            item=item,
            kind=kind,
            timestamp=timestamp,
            value=value,
            context=context,
        )
        return self._extend_chunks(
            chunks,
            rows,
            customer=customer,
            item=item,
            kind=kind,
            timestamp=timestamp,
            value=value,
            context=context_names,
            skip_bad_rows=skip_bad_rows,
        )


def _list(names: Optional[Iterable[str]]) -> Optional[list]:
    return None if names is None else list(names)


def _warn_skipped(report: Dict[str, Any]) -> None:
    if report["skipped"]:
        by_field = ", ".join(f"{k}: {n}" for k, n in report["skipped_by_field"].items())
        warnings.warn(
            f"skipped {report['skipped']} bad rows ({by_field}); accepted {report['accepted']}. "
            "Use EventLog().extend / read_csv / read_jsonl to get the full report.",
            stacklevel=3,
        )


def synthetic_storefront(seed: int = 0, size: Union[str, int] = "tiny") -> EventLog:
    """A deterministic synthetic storefront event log.

    Customers with taste clusters, products in categories, views, carts,
    purchases, returns, ratings, across channels and devices; same seed, same log.

    Parameters:
        seed: the random seed.
        size: "tiny" (300 customers), "small" (3,000), "medium" (30,000),
            "large" (300,000), or a number of customers up to 1,000,000.

    Raises InvalidParamError for an unknown size or more than 1,000,000 customers.

    Example:
        >>> log = maitre.synthetic_storefront(seed=7, size="tiny")
        >>> log.summary()["customers"] > 0
        True
    """
    return EventLog.synthetic_storefront(seed, size)


def movielens_dir(path: Optional[PathLike] = None) -> Path:
    """The directory holding MovieLens 100K (RecBole's atomic files).

    Parameters:
        path: a directory to check; None looks where every maitre loader looks:
            ``$MAITRE_ML100K``, then ``shared/data/ml-100k`` beside the checkout,
            then ``data/ml-100k`` (filled by ``bash scripts/fetch-movielens.sh``),
            from the working directory up.

    Raises MaitreFileNotFoundError (a FileNotFoundError) when ``ml-100k.inter``
    is not there; its message says how to get the data.

    Example:
        >>> (maitre.movielens_dir() / "ml-100k.item").is_file()  # doctest: +SKIP
        True
    """
    return Path(_maitre.movielens_dir(None if path is None else os.fspath(path)))


def load_movielens(path: Optional[PathLike] = None) -> EventLog:
    """MovieLens 100K ratings as an event log (kind "rating", value = stars).

    Parameters:
        path: the directory holding RecBole's ``ml-100k.inter``/``.item``/``.user``;
            None looks in ``$MAITRE_ML100K``, then ``shared/data/ml-100k`` beside
            the checkout, then ``data/ml-100k``.

    Raises MaitreFileNotFoundError (a FileNotFoundError) when the data is not there.

    Example:
        >>> log = maitre.load_movielens()  # doctest: +SKIP
        >>> log.summary()["customers"]     # doctest: +SKIP
        943
    """
    return EventLog.from_movielens(None if path is None else os.fspath(path))


def evaluate(
    log: _maitre.EventLog,
    split: str = "leave-last-out",
    models: Sequence[str] = ("popularity",),
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    dataset: Optional[str] = None,
    als: Optional[ALS] = None,
    items: Any = None,
) -> Dict[str, Any]:
    return _maitre.evaluate(
        log,
        split=split,
        models=list(models),
        positive_kinds=_list(positive_kinds),
        min_value=min_value,
        dataset=dataset,
        als=als,
        items=None if items is None else _items(items),
    )


evaluate.__doc__ = _maitre.evaluate.__doc__

#: The columns ``evaluate_frame`` puts first, after ``model``.
HEADLINE_METRICS = ("ndcg@10", "recall@20", "hr@10")


def evaluate_frame(
    log: _maitre.EventLog,
    split: str = "leave-last-out",
    models: Sequence[str] = ("popularity",),
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    dataset: Optional[str] = None,
    als: Optional[ALS] = None,
    items: Any = None,
) -> "pandas.DataFrame":
    """``evaluate`` as a pandas DataFrame: one row per model, one column per metric.

    Columns: ``model``, then the headline metrics (ndcg@10, recall@20,
    hr@10), then the other metrics by cut-off, then ``fit_seconds``. The
    report's dataset, split, users and items are in ``frame.attrs``.
    Parameters as for ``evaluate``.

    Example:
        >>> log = maitre.synthetic_storefront(seed=3, size="tiny")
        >>> frame = maitre.evaluate_frame(log, models=["popularity", "item-knn"])
        >>> list(frame["model"])
        ['popularity', 'item-knn']
        >>> list(frame.columns[:4])
        ['model', 'ndcg@10', 'recall@20', 'hr@10']
    """
    import pandas as pd

    report = evaluate(log, split, models, positive_kinds, min_value, dataset, als, items)
    frame = pd.DataFrame(report["results"])
    first = ["model", *HEADLINE_METRICS]
    metrics = sorted(
        (c for c in frame.columns if c not in first and c != "fit_seconds"),
        key=lambda c: (int(c.split("@")[1]), c) if "@" in c else (0, c),
    )
    frame = frame[first + metrics + ["fit_seconds"]]
    frame.attrs.update({k: v for k, v in report.items() if k != "results"})
    return frame


def tune(
    log: _maitre.EventLog,
    budget: float = 120.0,
    progress: Union[None, bool, Callable[[Dict[str, Any]], Any]] = None,
    split: str = "leave-last-out",
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    seed: int = 0,
    max_trials: int = 200,
    als: Optional[ALS] = None,
    items: Any = None,
) -> Tuple[AlsModel, "pandas.DataFrame"]:
    """Tunes itself: ALS's factors, regularisation, alpha and sweeps, EASE's
    lambda and a blend of ALS, EASE, item-kNN and popularity, each scored by
    NDCG@10 on a validation split of ``log``, within ``budget`` seconds.

    Trials run in this order: ``als`` (or ``maitre.ALS()``), EASE at five
    lambdas, the ALS grid (factors 16-128, regularization 0.1-30, alpha
    0.5-5, sweeps 10-25) shuffled by ``seed``, and last the blend of the
    best of each. Then the served path: the starting parameters and the
    three best ALS settings are each evaluated as a ``Recommender`` serves
    them (fitted on every event kind, default rules; rows with model
    ``recommend``, on top of ``max_trials``), each without and with a
    ``history_half_life`` of 5 minutes, an hour, a day and 30 days. Last, a
    coordinate search on the served path from the best of those
    (regularization x3 or /3, factors x2 or /2, alpha x2 or /2, moving as
    soon as one serves better, until none does), and the best pair is what is returned — settings
    that win on positives alone can serve worse (the synthetic storefront
    serves best at regularization 100, MovieLens at 10).
    The search uses at most half the budget, leaving the rest to the served
    path; the budget is checked between trials and during ALS fits; the
    first trial, the blend and the first two served checks always run.

    Parameters:
        log: the EventLog.
        budget: seconds.
        progress: None; a callable that receives a dict (trials, max_trials,
            seconds, budget, model, ndcg, best_ndcg) after every trial and may
            return False to stop (CancelledError); or True to print a line per trial.
        split, positive_kinds, min_value: the validation protocol, as for ``evaluate``.
        seed: shuffles the ALS grid; the same seed, data and trial count give
            the same result on any thread count.
        max_trials: the most search trials, the blend included.
        als: the starting parameters.
        items: the catalogue the served checks recommend from, as for
            ``Recommender.build`` (give the one you will serve with: which
            kinds of item a list may hold changes what serves best); None:
            every item of the log, as a product.

    Returns ``(model, trials)``: the ALS parameters that served best,
    refitted on every event of the log (an AlsModel, ready for
    ``Recommender.build``), and a
    DataFrame with one row per trial (model, factors, regularization, alpha,
    iterations, ease_lambda, weights, history_half_life, ndcg, seconds).
    ``trials.attrs["best"]`` names the best model on validation (``als``,
    ``ease`` or ``blend``); ``trials.attrs["settings"]`` holds the serving
    settings it served best with: pass them to ``Recommender.build(...,
    settings=...)``.

    Example:
        >>> log = maitre.synthetic_storefront(seed=3, size="tiny")
        >>> model, trials = maitre.tune(log, budget=60, max_trials=4, positive_kinds=["purchase"])
        >>> list(trials["model"][:5])
        ['als', 'ease', 'ease', 'blend', 'recommend']
        >>> trials["history_half_life"][4:9].tolist()  # the first served check, five half-lives
        [nan, 300.0, 3600.0, 86400.0, 2592000.0]
        >>> rec = maitre.Recommender.build(log, model, settings=trials.attrs["settings"])
        >>> isinstance(model, maitre.AlsModel), trials.attrs["best"] in ("als", "ease", "blend")
        (True, True)
    """
    import pandas as pd

    if progress is True:
        progress = lambda p: print(  # noqa: E731
            f"tune: trial {p['trials']} ({p['model']}) ndcg@10 {p['ndcg']:.4f} "
            f"best {p['best_ndcg']:.4f} {p['seconds']:.0f}/{p['budget']:.0f} s"
        )
    if progress is False:
        progress = None
    model, trials, best, settings = _maitre.tune(
        log,
        budget=budget,
        progress=progress,
        split=split,
        positive_kinds=_list(positive_kinds),
        min_value=min_value,
        seed=seed,
        max_trials=max_trials,
        als=als,
        items=None if items is None else _items(items),
    )
    frame = pd.DataFrame(
        trials,
        columns=[
            "model",
            "factors",
            "regularization",
            "alpha",
            "iterations",
            "ease_lambda",
            "weights",
            "history_half_life",
            "ndcg",
            "seconds",
        ],
    )
    frame["weights"] = [None if w is None else dict(w) for w in frame["weights"]]
    frame.attrs["best"] = best
    frame.attrs["settings"] = settings
    return model, frame


def _catalog_frame(columns: Dict[str, list]) -> "pandas.DataFrame":
    import pandas as pd

    frame = pd.DataFrame(columns)
    frame["price"] = frame["price"].astype("float64")  # None -> NaN
    return frame


def synthetic_catalog(seed: int = 0, size: Union[str, int] = "tiny") -> "pandas.DataFrame":
    """The catalogue of ``synthetic_storefront(seed, size)``, one row per item.

    Columns: id, kind (product, content, offer, service), category, brand,
    price_band, price (NaN when unset), tags (list of str), in_stock: the
    columns ``Recommender.build`` and ``evaluate_cold_start`` take.

    Example:
        >>> items = maitre.synthetic_catalog(seed=7, size="tiny")
        >>> list(items.columns)
        ['id', 'kind', 'category', 'brand', 'price_band', 'price', 'tags', 'in_stock']
        >>> items.loc[0, ["id", "kind", "category"]].tolist()
        ['sku-000000', 'product', 'electronics']
    """
    return _catalog_frame(_maitre.synthetic_catalog(seed, size))


def load_movielens_catalog(path: Optional[PathLike] = None) -> "pandas.DataFrame":
    """MovieLens 100K's movies as a catalogue, one row per movie.

    Genres, the release decade and the release year are the ``tags``; the
    first genre is the ``category``. Columns as for ``synthetic_catalog``.

    Raises MaitreFileNotFoundError (a FileNotFoundError) when the data is not there.

    Example:
        >>> items = maitre.load_movielens_catalog()  # doctest: +SKIP
        >>> len(items)                               # doctest: +SKIP
        1682
    """
    return _catalog_frame(_maitre.movielens_catalog(None if path is None else os.fspath(path)))


def evaluate_cold_start(
    log: _maitre.EventLog,
    items: Any,
    als: Optional[ALS] = None,
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    fraction: float = 0.1,
    draws: int = 5,
    seed: int = 7,
    segments: Optional[Dict[str, int]] = None,
    full_catalogue: bool = False,
) -> "pandas.DataFrame":
    """How well are brand-new items placed from their attributes alone?

    A share of the items with positives is held out: none of their events
    reach training, and their positives are the test. ALS learns from every
    other event; an attribute map learned on the warm items gives each held-out
    item a vector. Each tested customer ranks the held-out items only (a "new
    arrivals" rail). Rankers: ``popularity`` (training counts: it has never
    seen the new items, so it is one draw of chance), ``popularity (oracle)``
    (counted on the test: a ceiling for non-personalised rankings only),
    ``attribute-popularity`` (popularity predicted from
    attributes), ``als+attributes`` and two variants. Everything is averaged
    over ``draws`` draws of held-out items; choices are made on validation.

    Parameters:
        log: the EventLog (it is not changed).
        items: a DataFrame (or mapping of columns) as ``Recommender.build``
            takes: ``id`` and the attributes (category, brand, price_band,
            tags, ...). Items of the log missing here have no attributes.
        als: the ALS hyper-parameters (default ``maitre.ALS()``).
        positive_kinds: kinds that count as positive; None: every kind with
            a positive weight.
        min_value: minimum value of a positive (e.g. 4.0 for 4-star ratings).
        fraction: share of the items with positives held out (0 < f < 1).
        draws: independent draws (1 to 1000); draw ``d`` uses seed ``seed + d``.
        seed: seed of the first draw.
        segments: customer id (any of a customer's ids) -> true segment,
            when known; adds the ``segment × attributes (true segments)``
            reference. An id the log does not know raises UnknownIdError.
        full_catalogue: also rank the held-out items inside the whole
            catalogue (the ``full:`` rows), and choose on each draw's
            validation split the strength of the new-item calibration: the
            best new-item recall@20 among strengths that give new items at
            most 2 % of the top-10 places. ``frame.attrs["calibration_strength"]``
            is the median choice over the draws (None when no calibration
            helps): pass it to ``Recommender.build(calibrate_new_items=...)``.

    Returns a DataFrame, one row per ranker: the metrics averaged over the
    draws and ``recall@20 sd`` (their standard deviation over the draws).
    ``frame.attrs`` holds cold_items, chance (the expected recall@20 of a
    random order, 20 / cold_items), users and each draw's results.

    Raises InvalidParamError for a bad fraction or draws, NotEnoughDataError
    when nothing can be tested, and BadRecordError for a bad item row.

    Example:
        >>> log = maitre.synthetic_storefront(seed=3, size="tiny")
        >>> items = maitre.synthetic_catalog(seed=3, size="tiny")
        >>> frame = maitre.evaluate_cold_start(log, items, maitre.ALS(factors=8, iterations=4),
        ...                                    positive_kinds=["purchase"], draws=2)
        >>> list(frame["model"][:3])
        ['popularity', 'popularity (oracle)', 'attribute-popularity']
    """
    import pandas as pd

    report = _maitre.evaluate_cold_start(
        log,
        _items(items),
        als=als,
        positive_kinds=_list(positive_kinds),
        min_value=min_value,
        fraction=fraction,
        draws=draws,
        seed=seed,
        segments=None if segments is None else dict(segments),
        full_catalogue=full_catalogue,
    )
    frame = pd.DataFrame(report["results"])
    frame["recall@20 sd"] = frame["model"].map(report["recall_sd"])
    frame.attrs.update({k: report[k] for k in ("cold_items", "chance", "users", "draws")})
    if full_catalogue:
        chosen = sorted(d["calibration_strength"] for d in report["draws"])
        median = chosen[(len(chosen) - 1) // 2]  # the lower median: one of the strengths tried
        frame.attrs["calibration_strength"] = float(median) if median > 0 else None
    return frame
