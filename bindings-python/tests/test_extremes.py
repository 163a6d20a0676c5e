"""Every public entry point, every numeric argument, extreme values (issue 12).

Walks the package's public surface (``maitre.__all__`` and the public methods
of its classes), so a new entry point or a new numeric argument fails
``test_every_numeric_argument_is_walked`` until it is added to ``CALLS``
below. Each call runs in a worker process: an abort (the interpreter killed
by a failed allocation or a Rust abort) or a hang (a per-call timeout) fails
the walk instead of killing pytest, and the worker is restarted after the
call that killed it. A call passes when it returns (the documented result:
e.g. k above the catalogue is the whole catalogue, seed 2**63 is a seed) or
raises a maitre error (a subclass of MaitreError); anything else (TypeError,
OverflowError, pyo3's PanicException, ...) fails.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import select
import subprocess
import sys
import time

import maitre

EXTREMES = {
    "0": 0,
    "-1": -1,
    "10**12": 10**12,
    "2**63": 2**63,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "'x'": "x",
    "1.5": 1.5,
    "True": True,
}

# Arguments that carry numbers: by name (native methods have no annotations)
# and by annotation (int/float). Mappings of options carry numbers inside.
NUMERIC_NAMES = {
    "k", "seed", "size", "draws", "fraction", "min_value", "factors", "iterations",
    "regularization", "regularization_exponent", "alpha", "epsilon", "unobserved_weight",
    "cg_steps", "threads", "timestamp", "half_life_days", "now", "price", "vector",
    "weights", "item_indices", "min_score", "filters", "diversity", "rotation", "boosts",
    "hnsw", "session", "segments", "data", "df", "columns", "recent", "fit_min_days", "X",
}

# Numeric-looking arguments that are not numbers, with the reason.
DOCUMENTED = {
    # Column *names* of the ingestion methods: text, not numbers.
    ("EventLog.extend", "timestamp"), ("EventLog.extend_columns", "timestamp"),
    ("EventLog.from_csv", "timestamp"), ("EventLog.from_jsonl", "timestamp"),
    ("EventLog.from_pandas", "timestamp"), ("EventLog.read_csv", "timestamp"),
    ("EventLog.read_jsonl", "timestamp"), ("EventLog.extend_arrow", "timestamp"),
    ("EventLog.from_arrow", "timestamp"), ("EventLog.from_parquet", "timestamp"),
    # Arrow data: its numbers are walked through EventLog.extend_arrow's data.
    ("EventLog.from_arrow", "data"),
    # Bytes of an artifact or a log: ArtifactError for anything else (test_recommend).
    ("EventLog.from_bytes", "data"), ("AlsModel.from_bytes", "data"), ("Recommender.from_bytes", "data"),
    ("NextBestOffer.from_bytes", "data"),
    # A pandas frame of events: its numbers are walked through EventLog.extend's data.
    ("EventLog.from_pandas", "df"),
    # The same {kind: weight} mapping as EventLog(kinds=...), walked through from_pandas.
    ("EventLog.from_csv", "kinds"), ("EventLog.from_jsonl", "kinds"),
    ("EventLog.from_parquet", "kinds"),
}


def _frame(column: str, v):
    base = {"customer_id": ["c1"], "item_id": ["i1"], "kind": ["rating"], "timestamp": [1714564800], "value": [4.0]}
    base[column] = [v]
    return base


def _arrow(column: str, v):
    """`_frame` as an Arrow table. A value pyarrow itself cannot hold in a
    typed array (2**63) goes as text, as it would arrive from a file."""
    import pyarrow as pa

    columns = {}
    for name, values in _frame(column, v).items():
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowException, OverflowError):
            columns[name] = pa.array([str(x) for x in values])
    return pa.table(columns)


def _als(**kw):
    params = {"factors": 4, "iterations": 2}
    params.update(kw)
    model = maitre.ALS(**params)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in kw.values()):
        model.fit(SHOP)  # accepted values must fit too (bounded: iterations and factors are capped)
    return model


def _nbo(dim=2):
    return maitre.NextBestOffer(
        [{"id": "a", "value": 1.0, "cap": {"max": 3, "window_secs": 60}}, {"id": "s", "kind": "service", "value": 0.5}],
        dim=dim,
    )


def _nbo_decided():
    nbo = _nbo()
    return nbo, nbo.decide("c1", [0.1, 0.2], now=1714564800).chosen[0].event_id


def _nbo_reward(**kw):
    nbo, event = _nbo_decided()
    args = {"event_id": event, "value": 1.0, "now": 1714564801, **kw}
    return nbo.reward(**args)


_TINY_OPE = dict(
    contexts=[[0.0], [1.0], [0.5], [0.2]], actions=[0, 1, 0, 1], propensities=[0.5] * 4,
    rewards=[1.0, 0.0, 1.0, 0.0], target=[[0.5, 0.5]] * 4, folds=2, bootstrap=10,
)


def _ope(**kw):
    return maitre.evaluate_policy(**{**_TINY_OPE, **kw})


# (entry point, argument) -> a call with that argument set to v. The worker
# process defines SHOP, MODEL, ITEMS and REC before any call.
CALLS = {
    ("synthetic_storefront", "seed"): lambda v: maitre.synthetic_storefront(seed=v),
    ("synthetic_storefront", "size"): lambda v: maitre.synthetic_storefront(size=v),
    ("EventLog.synthetic_storefront", "seed"): lambda v: maitre.EventLog.synthetic_storefront(seed=v),
    ("EventLog.synthetic_storefront", "size"): lambda v: maitre.EventLog.synthetic_storefront(size=v),
    ("synthetic_catalog", "seed"): lambda v: maitre.synthetic_catalog(seed=v),
    ("synthetic_catalog", "size"): lambda v: maitre.synthetic_catalog(size=v),
    ("evaluate", "min_value"): lambda v: maitre.evaluate(SHOP, min_value=v),
    ("evaluate_frame", "min_value"): lambda v: maitre.evaluate_frame(SHOP, min_value=v),
    ("evaluate_cold_start", "min_value"): lambda v: maitre.evaluate_cold_start(
        SHOP, ITEMS, maitre.ALS(factors=4, iterations=1), min_value=v, draws=1),
    ("evaluate_cold_start", "fraction"): lambda v: maitre.evaluate_cold_start(
        SHOP, ITEMS, maitre.ALS(factors=4, iterations=1), fraction=v, draws=1),
    ("evaluate_cold_start", "draws"): lambda v: maitre.evaluate_cold_start(
        SHOP, ITEMS, maitre.ALS(factors=4, iterations=1), draws=v),
    ("evaluate_cold_start", "seed"): lambda v: maitre.evaluate_cold_start(
        SHOP, ITEMS, maitre.ALS(factors=4, iterations=1), seed=v, draws=1),
    ("evaluate_cold_start", "segments"): lambda v: maitre.evaluate_cold_start(
        SHOP, ITEMS, maitre.ALS(factors=4, iterations=1), segments={"c0000001": v}, draws=1),
    **{("ALS", name): (lambda name: lambda v: _als(**{name: v}))(name) for name in (
        "factors", "iterations", "regularization", "regularization_exponent", "alpha",
        "unobserved_weight", "cg_steps", "seed", "threads")},
    ("ALS", "epsilon"): lambda v: _als(confidence="log", epsilon=v),
    ("ALS.solve_rows", "weights"): lambda v: maitre.ALS(factors=2).solve_rows(
        [[1.0, 0.0], [0.0, 1.0]], 2, [[0.0, 0.0]], [0, 1], [[1.0, 0.0]], [v]),
    ("ALS.solve_rows", "other_rows"): lambda v: maitre.ALS(factors=2).solve_rows(
        [[1.0, 0.0], [0.0, 1.0]], v, [[0.0, 0.0]], [0, 1], [[1.0, 0.0]], [1.0]),
    ("ALS.solve_rows", "indptr"): lambda v: maitre.ALS(factors=2).solve_rows(
        [[1.0, 0.0], [0.0, 1.0]], 2, [[0.0, 0.0]], [0, v], [[1.0, 0.0]], [1.0]),
    ("ALS.solve_rows", "start"): lambda v: maitre.ALS(factors=2).solve_rows(
        [[1.0, 0.0], [0.0, 1.0]], 2, [[v, 0.0]], [0, 1], [[1.0, 0.0]], [1.0]),
    ("ALS.solve_rows", "columns"): lambda v: maitre.ALS(factors=2).solve_rows(
        [[1.0, 0.0], [0.0, 1.0]], 2, [[0.0, 0.0]], [0, 1], [[1.0, 0.0]], [1.0], columns=[v]),
    ("ALS.initial_rows", "first"): lambda v: maitre.ALS(factors=2).initial_rows(v, 3),
    ("ALS.initial_rows", "count"): lambda v: maitre.ALS(factors=2).initial_rows(0, v),
    ("AlsModel.from_factors", "user_factors"): lambda v: maitre.AlsModel.from_factors(
        [[v, 1.0]], [[1.0, 1.0]], maitre.ALS(factors=2)),
    ("tune", "budget"): lambda v: maitre.tune(SHOP, budget=v, max_trials=2),
    ("tune", "min_value"): lambda v: maitre.tune(SHOP, budget=1.0, max_trials=1, min_value=v),
    ("tune", "seed"): lambda v: maitre.tune(SHOP, budget=1.0, max_trials=1, seed=v),
    ("tune", "max_trials"): lambda v: maitre.tune(SHOP, budget=1.0, max_trials=v),
    ("ALS.fit", "half_life_days"): lambda v: maitre.ALS(factors=4, iterations=1).fit(SHOP, half_life_days=v),
    ("AlsModel.fold_in", "item_indices"): lambda v: MODEL.fold_in([v], [1.0]),
    ("AlsModel.fold_in", "weights"): lambda v: MODEL.fold_in([0], [v]),
    ("EventLog.from_pandas", "kinds"): lambda v: maitre.EventLog.from_pandas(
        _frame("value", 4.0), kinds={"rating": v}),
    ("EventLog.extend_arrow", "data"): lambda v: maitre.EventLog().extend_arrow(_arrow("timestamp", v)),
    ("EventLog.extend_arrow", "data[value]"): lambda v: maitre.EventLog().extend_arrow(_arrow("value", v)),
    ("EventLog.extend_arrow", "data[item_id]"): lambda v: maitre.EventLog().extend_arrow(_arrow("item_id", v)),
    ("EventLog.from_arrow", "kinds"): lambda v: maitre.EventLog.from_arrow(
        _arrow("value", 4.0), kinds={"rating": v}),
    ("EventLog.link", "timestamp"): lambda v: maitre.EventLog().link("a", "c", v),
    ("EventLog.extend", "data"): lambda v: maitre.EventLog().extend(_frame("timestamp", v)),
    ("EventLog.extend", "data[value]"): lambda v: maitre.EventLog().extend(_frame("value", v)),
    ("EventLog.extend", "data[customer_id]"): lambda v: maitre.EventLog().extend(_frame("customer_id", v)),
    ("EventLog.extend_columns", "columns"): lambda v: maitre.EventLog().extend_columns(_frame("timestamp", v)),
    ("EventLog.extend_columns", "columns[value]"): lambda v: maitre.EventLog().extend_columns(_frame("value", v)),
    ("Recommender.build", "hnsw"): lambda v: maitre.Recommender.build(SHOP, MODEL, index="hnsw", hnsw={"ef_search": v}),
    ("Recommender.build", "hnsw[max_connections]"): lambda v: maitre.Recommender.build(
        SHOP, MODEL, index="hnsw", hnsw={"max_connections": v}),
    ("Recommender.build", "hnsw[seed]"): lambda v: maitre.Recommender.build(SHOP, MODEL, index="hnsw", hnsw={"seed": v}),
    ("Recommender.build", "calibrate_new_items"): lambda v: maitre.Recommender.build(
        SHOP, MODEL, items=ITEMS, calibrate_new_items=v),
    ("Recommender.recommend", "k"): lambda v: REC.recommend(customer="c0000001", k=v),
    ("Recommender.recommend", "now"): lambda v: REC.recommend(
        customer="c0000001", now=v, filters={"exclude_purchased_within": 86400}),
    ("Recommender.recommend", "min_score"): lambda v: REC.recommend(customer="c0000001", min_score=v),
    ("Recommender.recommend", "session"): lambda v: REC.recommend(session=[("sku-000003", "view", v)]),
    ("Recommender.recommend", "filters"): lambda v: REC.recommend(customer="c0000001", filters={"min_price": v}),
    ("Recommender.recommend", "filters[exclude_purchased_within]"): lambda v: REC.recommend(
        customer="c0000001", now=1714564800, filters={"exclude_purchased_within": v}),
    ("Recommender.recommend", "diversity"): lambda v: REC.recommend(customer="c0000001", diversity={"relevance": v}),
    ("Recommender.recommend", "diversity[max_per_category]"): lambda v: REC.recommend(
        customer="c0000001", diversity={"max_per_category": v}),
    ("Recommender.recommend", "rotation"): lambda v: REC.recommend(
        customer="c0000001", rotation={"penalty": v, "ignored": {"sku-000001": 3}}),
    ("Recommender.recommend", "rotation[ignored]"): lambda v: REC.recommend(
        customer="c0000001", rotation={"penalty": 0.1, "ignored": {"sku-000001": v}}),
    ("Recommender.recommend", "boosts"): lambda v: REC.recommend(
        customer="c0000001", boosts=[{"when": {"field": "category", "values": ["cat-01"]}, "amount": v}]),
    ("Recommender.recommend_batch", "k"): lambda v: REC.recommend_batch(["c0000001", "c0000002"], k=v),
    ("Recommender.recommend_batch", "now"): lambda v: REC.recommend_batch(["c0000001"], now=v),
    ("Recommender.recommend_batch", "min_score"): lambda v: REC.recommend_batch(["c0000001"], min_score=v),
    ("Recommender.recommend_batch", "filters"): lambda v: REC.recommend_batch(["c0000001"], filters={"max_price": v}),
    ("Recommender.recommend_batch", "diversity"): lambda v: REC.recommend_batch(
        ["c0000001"], diversity={"relevance": v}),
    ("Recommender.recommend_batch", "rotation"): lambda v: REC.recommend_batch(
        ["c0000001"], rotation={"penalty": v}),
    ("Recommender.recommend_batch", "boosts"): lambda v: REC.recommend_batch(
        ["c0000001"], boosts=[{"when": {"field": "tag", "values": ["x"]}, "amount": v}]),
    ("Recommender.rerank", "session"): lambda v: REC.rerank(["sku-000001"], session=[("sku-000003", "view", v)]),
    ("segments", "k"): lambda v: maitre.segments(SHOP, ITEMS, k=v),
    ("segments", "fit_min_days"): lambda v: maitre.segments(SHOP, ITEMS, k=2, fit_min_days=v),
    ("segments", "seed"): lambda v: maitre.segments(SHOP, ITEMS, k=2, seed=v),
    ("segments", "threads"): lambda v: maitre.segments(SHOP, ITEMS, k=2, threads=v),
    ("KMeans", "n_clusters"): lambda v: maitre.KMeans(v).fit(GRID),
    ("KMeans", "seed"): lambda v: maitre.KMeans(2, seed=v).fit(GRID),
    ("KMeans", "n_init"): lambda v: maitre.KMeans(2, n_init=v).fit(GRID),
    ("KMeans", "threads"): lambda v: maitre.KMeans(2, threads=v).fit(GRID),
    ("KMeans.fit", "X"): lambda v: maitre.KMeans(2).fit([[v, 0.0], [1.0, 1.0], [5.0, 5.0]]),
    ("KMeans.fit_predict", "X"): lambda v: maitre.KMeans(2).fit_predict([[0.0, v], [1.0, 1.0], [5.0, 5.0]]),
    ("KMeans.predict", "X"): lambda v: maitre.KMeans(2).fit(GRID).predict([[v, 0.0]]),
    ("rfm", "now"): lambda v: maitre.rfm(SHOP, ITEMS, now=v),
    ("customer_view", "recent"): lambda v: maitre.customer_view(SHOP, "c0000001", ITEMS, recent=v),
    ("customer_view", "now"): lambda v: maitre.customer_view(SHOP, "c0000001", ITEMS, now=v),
    ("customer_view", "context"): lambda v: maitre.customer_view(SHOP, "c0000001", ITEMS, offers=_nbo(), context=[v, 0.2]),
    ("target", "k"): lambda v: maitre.target(SHOP, MODEL, item="sku-000003", k=v),
    ("target", "segments"): lambda v: maitre.target(SHOP, MODEL, item="sku-000003", segments=[v]),
    ("target", "now"): lambda v: maitre.target(SHOP, MODEL, item="sku-000003", now=v),
    ("advocates", "n"): lambda v: maitre.advocates(SHOP, ITEMS, n=v),
    ("advocates", "now"): lambda v: maitre.advocates(SHOP, ITEMS, now=v),
    ("NextBestOffer.activity", "recent"): lambda v: _nbo_decided()[0].activity("c1", recent=v),
    ("Recommender.similar_items", "k"): lambda v: REC.similar_items("sku-000003", k=v),
    ("Recommender.similar_items", "filters"): lambda v: REC.similar_items("sku-000003", filters={"min_price": v}),
    ("Recommender.customers_for_item", "k"): lambda v: REC.customers_for_item("sku-000003", k=v),
    ("Recommender.add_item", "price"): lambda v: REC.add_item(f"new-{time.perf_counter_ns()}", price=v),
    ("Recommender.add_item", "vector"): lambda v: REC.add_item(f"new-{time.perf_counter_ns()}", vector=[v] * 8),
    ("NextBestOffer", "dim"): lambda v: _nbo(dim=v),
    ("NextBestOffer", "bandit"): lambda v: maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0, bandit={"alpha": v}),
    ("NextBestOffer", "bandit[max_pending]"): lambda v: maitre.NextBestOffer(
        [{"id": "a", "value": 1.0}], dim=0, bandit={"max_pending": v}).decide("c", now=0),
    ("NextBestOffer", "bandit[apprentice]"): lambda v: maitre.NextBestOffer(
        [{"id": "a", "value": 1.0}], dim=0,
        bandit={"apprentice": {"window": v, "epsilon": v, "agreement": v}}).decide("c", now=0, teacher="a"),
    ("NextBestOffer", "offers"): lambda v: maitre.NextBestOffer([{"id": "a", "value": v, "budget": 3}], dim=0),
    ("NextBestOffer", "offers[cap]"): lambda v: maitre.NextBestOffer(
        [{"id": "a", "value": 1.0, "cap": {"max": v, "window_secs": v}}], dim=0).decide("c", now=0),
    ("NextBestOffer", "policy"): lambda v: maitre.NextBestOffer(
        [{"id": "a", "value": 1.0}], dim=0,
        policy=[{"name": "p", "after": ["return"], "within_secs": v, "do": "first", "kinds": ["service"]}],
    ).decide("c", now=10, events=[{"kind": "return", "timestamp": 5}]),
    ("NextBestOffer.decide", "now"): lambda v: _nbo().decide("c1", [0.1, 0.2], now=v),
    ("NextBestOffer.decide", "slots"): lambda v: _nbo().decide("c1", [0.1, 0.2], now=0, slots=v),
    ("NextBestOffer.decide", "context"): lambda v: _nbo().decide("c1", [v, 0.2], now=0),
    ("NextBestOffer.decide", "since"): lambda v: _nbo().decide("c1", [0.1, 0.2], now=1714564800, log=SHOP, since=v),
    ("NextBestOffer.decide", "filters"): lambda v: _nbo().decide("c1", [0.1, 0.2], now=0, filters={"min_price": v}),
    ("NextBestOffer.decide", "events"): lambda v: _nbo().decide("c1", [0.1, 0.2], now=0, events=[{"kind": "return", "timestamp": v}]),
    ("NextBestOffer.reward", "event_id"): lambda v: _nbo_reward(event_id=v),
    ("NextBestOffer.reward", "value"): lambda v: _nbo_reward(value=v),
    ("NextBestOffer.reward", "now"): lambda v: _nbo_reward(now=v),
    ("NextBestOffer.expire", "now"): lambda v: _nbo_decided()[0].expire(now=v),
    ("NextBestOffer.prune", "now"): lambda v: _nbo_decided()[0].prune(now=v),
    **{("evaluate_policy", name): (lambda name: lambda v: _ope(**{name: v}))(name) for name in (
        "ridge", "folds", "bootstrap", "confidence", "seed", "fold_seed")},
    ("evaluate_policy", "actions"): lambda v: _ope(actions=[v, 1, 0, 1]),
    ("evaluate_policy", "propensities"): lambda v: _ope(propensities=[v, 0.5, 0.5, 0.5]),
    ("evaluate_policy", "rewards"): lambda v: _ope(rewards=[v, 0.0, 1.0, 0.0]),
    ("evaluate_policy", "contexts"): lambda v: _ope(contexts=[[v], [1.0], [0.5], [0.2]]),
    ("evaluate_policy", "target"): lambda v: _ope(target=[[v, 0.5]] + [[0.5, 0.5]] * 3),
    ("Recommender.add_item", "vector[length]"): lambda v: REC.add_item(
        f"new-{time.perf_counter_ns()}", vector=[0.5] * v if isinstance(v, int) and 0 <= v < 10**6 else v),
}


GRID = [[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [9.0, 8.0]]


def entry_points():
    """(qualified name, callable) of every public function and method."""
    out = []
    for name in maitre.__all__:
        obj = getattr(maitre, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue
        out.append((name, obj))
        if inspect.isclass(obj):
            for member in dir(obj):
                if not member.startswith("_") and callable(getattr(obj, member)):
                    out.append((f"{name}.{member}", getattr(obj, member)))
    return out


def numeric_arguments(qual, fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a class without a text signature
        return []
    found = []
    for p in params:
        annotation = p.annotation if isinstance(p.annotation, str) else ""
        numeric = any(t in annotation.replace("Union[str, int]", "int") for t in ("int", "float")) and "bool" != annotation
        if (p.name in NUMERIC_NAMES or numeric) and (qual, p.name) not in DOCUMENTED:
            found.append(p.name)
    return found


def cases():
    return [(qual, arg, label) for (qual, arg) in CALLS for label in EXTREMES]


def test_every_numeric_argument_is_walked():
    walked = {(qual, arg.split("[")[0]) for qual, arg in CALLS}
    missing = [
        (qual, arg) for qual, fn in entry_points() for arg in numeric_arguments(qual, fn) if (qual, arg) not in walked
    ]
    assert missing == [], f"add these to CALLS (or DOCUMENTED, with the reason): {missing}"
    assert len(entry_points()) > 30


TIMEOUT = 30.0  # seconds for one call; the slowest (a tiny cold-start evaluation) takes < 1 s


def run_all():
    """Runs every case in worker processes; returns {case: outcome}."""
    todo = cases()
    outcomes = {}
    start = 0
    while start < len(todo):
        worker = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        current, deadline = None, time.monotonic() + 120  # the first deadline covers the setup
        while True:
            ready, _, _ = select.select([worker.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:  # a hang: kill it, blame the running call, go on after it
                worker.kill()
                worker.wait()
                outcomes[todo[current if current is not None else start]] = "hang"
                start = (current if current is not None else start) + 1
                break
            line = worker.stdout.readline()
            if not line:  # the worker died: an abort in the running call
                code = worker.wait()
                at = current if current is not None else start
                outcomes[todo[at]] = f"abort (exit {code})"
                start = at + 1
                break
            message = json.loads(line)
            if message["event"] == "start":
                current, deadline = message["i"], time.monotonic() + TIMEOUT
            elif message["event"] == "done":
                outcomes[todo[message["i"]]] = message["outcome"]
                current = None
                deadline = time.monotonic() + TIMEOUT
            elif message["event"] == "end":
                worker.wait()
                start = len(todo)
                break
    return outcomes


def test_extreme_values_never_abort_hang_or_escape_as_other_errors():
    started = time.monotonic()
    outcomes = run_all()
    assert len(outcomes) == len(cases())
    bad = {f"{q}({a}={label})": o for (q, a, label), o in outcomes.items() if o not in ("ok", "maitre")}
    aborts = sum(o.startswith("abort") for o in outcomes.values())
    hangs = sum(o == "hang" for o in outcomes.values())
    panics = sum("PanicException" in o for o in outcomes.values())
    summary = (
        f"{len(outcomes)} calls in {time.monotonic() - started:.0f} s: {aborts} aborts, {panics} panics, "
        f"{hangs} hangs, {len(bad)} non-maitre outcomes"
    )
    print(summary)
    assert bad == {}, summary + "\n" + "\n".join(f"{k}: {v}" for k, v in sorted(bad.items()))


def worker(start: int) -> None:
    global SHOP, MODEL, ITEMS, REC
    import numpy as np  # noqa: F401 - loaded before the first call is timed

    SHOP = maitre.synthetic_storefront(seed=1, size="tiny")
    MODEL = maitre.ALS(factors=8, iterations=2).fit(SHOP)
    ITEMS = maitre.synthetic_catalog(seed=1, size="tiny")
    REC = maitre.Recommender.build(SHOP, MODEL, items=ITEMS)
    todo = cases()

    def emit(**message):
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    for i in range(start, len(todo)):
        qual, arg, label = todo[i]
        emit(event="start", i=i)
        try:
            CALLS[(qual, arg)](EXTREMES[label])
            outcome = "ok"
        except maitre.MaitreError:
            outcome = "maitre"
        except BaseException as e:  # noqa: BLE001 - PanicException is a BaseException
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            outcome = f"{type(e).__name__}: {str(e)[:200]}"
        emit(event="done", i=i, outcome=outcome)
    emit(event="end")


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    os.environ.setdefault("RAYON_NUM_THREADS", "2")
    worker(int(sys.argv[2]))
