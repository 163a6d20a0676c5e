"""NextBestOffer and evaluate_policy: rows, DataFrames, keyword arguments and pickling.

Conversions only. Offers, the contact policy, bandit parameters and each
decision request become the core's serde types as JSON, parsed strictly by the
native module (a misspelt key is an InvalidParamError naming its path, such as
``offers[2].cooldown``); context vectors and OPE arrays cross as numpy arrays.
Every rule (eligibility, caps, budgets, cool-downs, the contact policy, the
bandit, the reward window) is the core's.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _frames
from . import _maitre
from ._recommend import _integer, _invalid, _plain, _tags, _timestamp

if TYPE_CHECKING:  # pragma: no cover
    import pandas

PathLike = Union[str, "os.PathLike[str]"]

#: Offer row keys that describe the offer's catalogue item.
ITEM_KEYS = ("id", "kind", "category", "brand", "price_band", "price", "tags", "in_stock")
#: Offer row keys of the offer itself (the core's ``Offer`` fields).
OFFER_KEYS = ("value", "valid_from", "valid_until", "eligibility", "budget", "cap", "cooldown_secs")

_POLICIES = {"linucb": "lin_ucb", "lin_ucb": "lin_ucb", "thompson": "thompson", "epsilon_greedy": "epsilon_greedy"}


def _missing(v: Any) -> bool:
    """None, NaN, pandas.NA/NaT: a value a DataFrame row leaves unset."""
    return _frames._missing(v)


def _rows(data: Any, name: str) -> List[Dict[str, Any]]:
    """A DataFrame, a mapping of columns or a sequence of dicts -> list of dicts."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return [{str(k): v for k, v in row.items()} for row in data.to_dict("records")]
    if isinstance(data, Mapping):
        keys = list(data.keys())
        columns = [list(data[k]) for k in keys]
        n = len(columns[0]) if columns else 0
        for k, col in zip(keys, columns):
            if len(col) != n:
                raise _maitre.LengthMismatchError(f"length mismatch for `{k}`: expected {n}, got {len(col)}")
        return [{str(k): col[i] for k, col in zip(keys, columns)} for i in range(n)]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise _invalid(name, f"expected a DataFrame, a mapping of columns or a list of dicts, got {type(data).__name__}")
    rows = list(data)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise _invalid(f"{name}[{i}]", f"expected a dict, got {type(row).__name__}")
    return [{str(k): v for k, v in row.items()} for row in rows]


def _offer(row: Dict[str, Any], at: int) -> Dict[str, Any]:
    """One offer row -> the core's Offer: item keys go to ``item``; missing
    values take the core's defaults (valid forever, no budget, cap or cool-down);
    ``kind`` defaults to "offer"; unknown keys reach the core, which names them."""
    row = {k: v for k, v in row.items() if not _missing(v) or k == "id"}
    item: Dict[str, Any] = {
        "id": row.get("id"),
        "kind": row.get("kind", "offer"),
        "category": row.get("category"),
        "brand": row.get("brand"),
        "price_band": row.get("price_band"),
        "price": row.get("price"),
        "tags": _tags([row["tags"]])[0] if "tags" in row else [],
        "in_stock": row.get("in_stock", True),
    }
    if item["id"] is None or _missing(item["id"]):
        raise _invalid(f"offers[{at}].id", "every offer needs an id")
    item["id"] = str(item["id"])
    offer: Dict[str, Any] = {k: v for k, v in row.items() if k not in ITEM_KEYS}
    offer["item"] = item
    offer.setdefault("valid_from", -(2**63))
    offer.setdefault("valid_until", 2**63 - 1)
    return offer


def _json(name: str, value: Any) -> str:
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except ValueError as e:  # NaN/inf
        raise _invalid(name, f"{e}") from None
    except TypeError as e:
        raise _invalid(name, str(e)) from None


def _policy(policy: Any) -> Optional[str]:
    """None (the default policy), or rules as dicts: the core's ContactRule
    (name, after, within_secs, action={"do": ..., "kinds": [...]}) or with
    ``do`` and ``kinds`` at the top level."""
    if policy is None:
        return None
    if isinstance(policy, Mapping) and "rules" in policy:
        policy = policy["rules"]
    rules = []
    for i, rule in enumerate(_rows(policy, "policy")):
        rule = dict(rule)
        if "do" in rule or "kinds" in rule:
            rule["action"] = {"do": rule.pop("do", None), "kinds": rule.pop("kinds", None)}
        if isinstance(rule.get("after"), str):
            rule["after"] = [rule["after"]]
        rules.append(rule)
    return _json("policy", {"rules": rules})


def _bandit(bandit: Optional[Mapping[str, Any]]) -> str:
    """Bandit settings (the core's BanditParams names): ``policy`` ("linucb",
    "thompson" or "epsilon_greedy"), ``alpha`` (LinUCB, default 0.5), ``scale``
    (Thompson, default 0.5), epsilon, ridge, seed, reward_window_secs,
    default_reward, propensity_draws, max_pending, keep_log."""
    params = dict(bandit or {})
    name = params.pop("policy", None)
    alpha, scale = params.pop("alpha", None), params.pop("scale", None)
    if name is None:
        name = "thompson" if scale is not None and alpha is None else "linucb"
    if not isinstance(name, str) or name.lower() not in _POLICIES:
        raise _invalid("bandit.policy", f"{name!r} is not \"linucb\", \"thompson\" or \"epsilon_greedy\"")
    kind = _POLICIES[name.lower()]
    policy: Dict[str, Any] = {"name": kind}
    if kind == "lin_ucb":
        policy["alpha"] = 0.5 if alpha is None else alpha
    elif kind == "thompson":
        policy["scale"] = 0.5 if scale is None else scale
    for given, used in (("alpha", alpha), ("scale", scale)):
        if used is not None and given not in policy:
            raise _invalid(f"bandit.{given}", f"does not apply to the {name!r} policy")
    params["policy"] = policy
    apprentice = params.get("apprentice")
    if apprentice is True:
        params["apprentice"] = {}
    elif apprentice is False:
        params["apprentice"] = None
    return _json("bandit", params)


def _context(context: Any) -> np.ndarray:
    if context is None:
        return np.zeros(0, dtype=np.float32)
    arr = np.asarray(context)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise _invalid("context", f"expected a vector of numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise _invalid("context", f"expected a vector, got an array of shape {arr.shape}")
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32)


def _recent(events: Any) -> List[Dict[str, Any]]:
    """Recent events: a DataFrame / mapping / list of dicts with ``kind``,
    ``timestamp`` (epoch seconds) and optionally ``category``."""
    if events is None:
        return []
    out = []
    for i, row in enumerate(_rows(events, "events")):
        if "kind" not in row or "timestamp" not in row:
            raise _maitre.MissingColumnError(
                f"missing column `{'kind' if 'kind' not in row else 'timestamp'}` in events[{i}]"
            )
        ts = row["timestamp"]
        if hasattr(ts, "timestamp") and not isinstance(ts, (int, np.integer)):
            ts = int(ts.timestamp())
        category = row.get("category")
        out.append(
            {
                "kind": str(row["kind"]),
                "category": None if _missing(category) else str(category),
                "timestamp": _timestamp(f"events[{i}].timestamp", ts),
            }
        )
    return out


@dataclass(frozen=True)
class OfferChoice:
    """One offer put in front of the customer.

    Fields: ``offer`` (id), ``kind`` ("offer" or "service"), ``position``
    (slot, 0 first), ``event_id`` (pass to ``NextBestOffer.reward``),
    ``propensity`` (the probability it was chosen for its slot), ``estimate``
    (estimated reward: P(accept) for 0/1 rewards), ``value`` and ``why``.
    """

    offer: str
    kind: str
    position: int
    event_id: int
    propensity: float
    estimate: float
    value: float
    why: str


@dataclass(frozen=True)
class Decision:
    """What ``NextBestOffer.decide`` returns.

    Fields: ``chosen`` (the OfferChoices, in slot order; empty when nothing
    is eligible, which is not an error), ``scores`` (offer id -> the score it
    was ranked by, for every candidate that reached the bandit),
    ``estimates`` and ``widths`` (its estimated reward and uncertainty),
    ``probabilities`` (the first slot's distribution over the candidates),
    ``fired`` (the contact-policy rules that fired, in rule order) and
    ``excluded`` (offer id -> (rule, detail) of the rule that left it out).
    """

    chosen: List[OfferChoice]
    scores: Dict[str, float]
    estimates: Dict[str, float]
    widths: Dict[str, float]
    probabilities: Dict[str, float]
    fired: List[str]
    excluded: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)

    @property
    def offer(self) -> Optional[str]:
        """The first slot's offer id, or None when nothing was eligible.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> nbo.decide("c1", now=0).offer
            'a'
        """
        return self.chosen[0].offer if self.chosen else None

    def to_frame(self) -> "pandas.DataFrame":
        """One row per candidate: offer, score, estimate, width, probability,
        position (None unless chosen) and event_id (None unless chosen).

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}, {"id": "b", "value": 2.0}], dim=0)
            >>> list(nbo.decide("c1", now=0).to_frame().columns)
            ['offer', 'score', 'estimate', 'width', 'probability', 'position', 'event_id']
        """
        import pandas as pd

        chosen = {c.offer: c for c in self.chosen}
        return pd.DataFrame(
            {
                "offer": list(self.scores),
                "score": list(self.scores.values()),
                "estimate": [self.estimates[o] for o in self.scores],
                "width": [self.widths[o] for o in self.scores],
                "probability": [self.probabilities[o] for o in self.scores],
                "position": pd.array([chosen[o].position if o in chosen else None for o in self.scores], dtype="Int64"),
                "event_id": pd.array([chosen[o].event_id if o in chosen else None for o in self.scores], dtype="UInt64"),
            }
        )


def _decision(parts: Tuple[Any, ...]) -> Decision:
    chosen, ids, scores, estimates, widths, probabilities, fired, excluded = parts
    return Decision(
        chosen=[OfferChoice(*c) for c in chosen],
        scores=dict(zip(ids, scores.tolist())),
        estimates=dict(zip(ids, estimates.tolist())),
        widths=dict(zip(ids, widths.tolist())),
        probabilities=dict(zip(ids, probabilities.tolist())),
        fired=fired,
        excluded={offer: (rule, detail) for offer, rule, detail in excluded},
    )


class NextBestOffer:
    """The next best offer or service action for a customer, now: eligibility,
    the contact policy and a contextual bandit that learns from rewards.

    Parameters:
        offers: a DataFrame, a mapping of columns or a list of dicts, one offer
            per row, with the core's names: ``id``, ``kind`` ("offer", the
            default, or "service"), ``value`` (what an acceptance is worth),
            ``valid_from`` / ``valid_until`` (epoch seconds, ``[from, until)``;
            missing: always), ``eligibility`` (``{"attributes": [{"key",
            "values", "negate"}], "state": [{"kind", "category",
            "within_secs", "present"}]}``), ``budget`` (acceptances),
            ``cap`` (``{"max", "window_secs"}``), ``cooldown_secs``, and the
            catalogue attributes request filters see (category, brand,
            price_band, price, tags, in_stock). Missing values (None, NaN)
            take the defaults.
        dim: the length of every context vector (0: no context).
        policy: the contact policy: None for the default (no sales offers for
            14 days after a return or a complaint, service actions first for
            30), ``[]`` for none, or ordered rules as dicts: ``name``,
            ``after`` (event kinds), ``within_secs``, ``do`` ("suppress" or
            "first") and ``kinds``.
        bandit: bandit settings (see ``maitre.NextBestOffer`` docs): ``policy``
            ("linucb", default, "thompson", "epsilon_greedy"), ``alpha``,
            ``scale``, ``epsilon`` (0.02), ``ridge`` (1), ``seed`` (0),
            ``reward_window_secs`` (86400), ``default_reward`` (0),
            ``propensity_draws``, ``max_pending``, ``keep_log``, and
            ``apprentice``: True, or a dict of ``epsilon`` (0.2), ``window``
            (1000) and ``agreement`` (0.9), to follow an existing rule's
            choice (``decide(..., teacher=...)``) until the model matches or
            beats it (``summary()["apprentice"]`` says where it stands).

    Raises InvalidParamError (duplicate offer ids, a bad value, window, cap,
    rule or setting, an unknown kind; a misspelt key, named by its path such
    as ``offers[0].cooldown``).

    Safe to share between threads; decisions and rewards release the GIL.
    Pickling stores the whole state (models, pending decisions, log, ledger):
    a copy decides and learns exactly as the original.

    Example:
        >>> nbo = maitre.NextBestOffer(
        ...     [{"id": "10-off", "value": 5.0},
        ...      {"id": "return-help", "kind": "service", "value": 1.0,
        ...       "eligibility": {"state": [{"kind": "return", "within_secs": 2592000, "present": True}]}}],
        ...     dim=2, bandit={"seed": 1})
        >>> d = nbo.decide("ann", [0.1, 0.2], now=1_800_000_000,
        ...                events=[{"kind": "return", "timestamp": 1_799_996_400}])
        >>> d.offer, d.fired[0]
        ('return-help', 'no-sales-after-return-or-complaint')
        >>> nbo.reward(d.chosen[0].event_id, 1.0, now=1_800_000_060)["reward"]
        1.0
    """

    def __init__(
        self,
        offers: Any,
        dim: int,
        policy: Any = None,
        bandit: Optional[Mapping[str, Any]] = None,
        *,
        _native: Optional[_maitre.NextBestOffer] = None,
    ) -> None:
        if _native is not None:
            self._native = _native
            return
        rows = [_offer(row, i) for i, row in enumerate(_rows(offers, "offers"))]
        self._native = _maitre.NextBestOffer.create(_json("offers", rows), _policy(policy), dim, _bandit(bandit))

    # -- deciding and learning ---------------------------------------------------

    def decide(
        self,
        customer: str,
        context: Any = None,
        *,
        now: int,
        slots: int = 1,
        attributes: Optional[Mapping[str, str]] = None,
        events: Any = None,
        log: Optional[_maitre.EventLog] = None,
        since: Optional[int] = None,
        filters: Optional[Mapping[str, Any]] = None,
        teacher: Optional[str] = None,
    ) -> Decision:
        """Chooses `slots` offers for `customer` in `context` at `now`.

        Parameters:
            customer: the customer's id (it keys caps and cool-downs).
            context: the context vector (numpy or a list), of length ``dim``.
            now: the time, epoch seconds (keyword only, required: windows,
                caps and cool-downs are all relative to it).
            slots: how many placements to fill (no offer twice).
            attributes: the customer's attributes and context for eligibility
                rules (``{"segment": "gold", "channel": "app"}``).
            events: the customer's recent events (a DataFrame or list of dicts
                with ``kind``, ``timestamp`` and optionally ``category``), or
            log: an EventLog to read them from (the customer's events in
                ``[since, now]``; ``since`` defaults to 90 days before ``now``;
                categories are unknown this way).
            filters: request filters over the offers' catalogue attributes
                (the recommend filters: kinds, categories, ...).
            teacher: in apprentice mode, the offer the existing rule would
                show. It takes the first slot with probability 1 - epsilon
                when it is eligible and the contact policy puts its kind
                first; otherwise the bandit chooses. Ignored when apprentice
                mode is off or over.

        Returns a Decision: ``chosen`` (OfferChoice: offer, kind, position,
        event_id, propensity, estimate, value, why), every candidate's score,
        the first slot's probabilities, the contact rules that ``fired`` and
        why each other offer was ``excluded``.

        Raises LengthMismatchError for a context of the wrong length,
        InvalidParamError for a non-finite context, slots < 1 or a bad request,
        and records nothing then.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}, {"id": "b", "value": 3.0}], dim=1)
            >>> d = nbo.decide("c1", [0.5], now=100, slots=2)
            >>> [c.offer for c in d.chosen], round(sum(d.probabilities.values()), 9)
            (['b', 'a'], 1.0)
        """
        if events is not None and log is not None:
            raise _invalid("events", "give the recent events or a log, not both")
        slots = _integer("slots", slots)
        now = _timestamp("now", now)
        request = {
            "customer": {
                "id": str(customer),
                "attributes": {str(k): str(v) for k, v in (attributes or {}).items()},
                "recent": _recent(events),
            },
            "context": [],
            "slots": slots,
            "now": now,
        }
        if filters is not None:
            request["filters"] = {"kinds": ["offer", "service"], **dict(filters)}
        if teacher is not None:
            request["teacher"] = str(teacher)
        text = _json("request", request)
        vector = _context(context)
        if log is not None:
            since = now - 90 * 86_400 if since is None else _timestamp("since", since)
            return _decision(self._native._decide_from_log(log, str(customer), since, text, vector))
        return _decision(self._native._decide(text, vector))

    def reward(self, event_id: int, value: float, now: int) -> Dict[str, Any]:
        """Records the outcome of a showing: `value` is the reward (1 accepted,
        0 declined; any finite number is learned as given).

        Returns what was settled: event_id, offer, customer, reward,
        defaulted, decided_at.

        Raises UnknownIdError for an event id never issued, already rewarded
        or expired; InvalidParamError for a value that is not finite or a
        `now` before the decision or past its reward window. A rejected call
        changes nothing.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> d = nbo.decide("c1", now=100)
            >>> nbo.reward(d.chosen[0].event_id, 1.0, now=160)["offer"]
            'a'
        """
        return self._native.reward(event_id, value, now)

    def expire(self, now: int) -> List[Dict[str, Any]]:
        """Settles every showing whose reward window has closed at `now` with
        the default reward (an ignore: the offer's cool-down starts).

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0, bandit={"reward_window_secs": 60})
            >>> _ = nbo.decide("c1", now=100)
            >>> [s["defaulted"] for s in nbo.expire(now=160)]
            [True]
        """
        return self._native.expire(now)

    def prune(self, now: int) -> int:
        """Forgets ledger entries that can no longer exclude an offer at `now`
        (showings outside their cap window, finished cool-downs); returns how
        many. A long-running service calls it now and then.

        Example:
            >>> maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0).prune(now=0)
            0
        """
        return self._native.prune(now)

    # -- the decision log --------------------------------------------------------

    def forget(self, customers: Union[str, Sequence[str]]) -> Dict[str, int]:
        """Removes every trace of a customer: pass all of their ids (the
        engine keys decisions by the id given to ``decide``; ``log.forget``
        and ``customer_view`` list them). Their logged decisions and the
        contexts in them, their pending showings (freeing the budget held),
        their ledger entries (caps, cool-downs), and each settled showing's
        update to the bandit, taken back exactly (those still in the log).

        Returns counts: decisions, unlearned, pending, contacts.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> d = nbo.decide("ann", now=100)
            >>> nbo.forget(["ann", "ann-phone"])["decisions"]
            1
        """
        ids = [customers] if isinstance(customers, str) else [str(c) for c in customers]
        return self._native._forget(ids)

    def activity(self, customers: Union[str, Sequence[str]], recent: int = 20) -> Dict[str, Any]:
        """What the customers (one person's ids) were shown and what came of
        it, from the decision log: shown, accepted, declined, ignored,
        pending, and the ``recent`` latest showings, newest first.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> d = nbo.decide("ann", now=100)
            >>> nbo.activity("ann")["pending"]
            1
        """
        ids = [customers] if isinstance(customers, str) else [str(c) for c in customers]
        return self._native._activity(ids, recent)

    def log(self) -> "pandas.DataFrame":
        """The decision log, one row per filled slot: decision, timestamp,
        customer, offer, candidate (index into the decision's candidates),
        position, event_id, propensity, reward (NaN until known),
        rewarded_at, defaulted, candidates (their ids), probabilities (the
        first slot's), context and rules.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=1)
            >>> d = nbo.decide("c1", [0.3], now=100)
            >>> _ = nbo.reward(d.chosen[0].event_id, 1.0, now=110)
            >>> nbo.log()[["offer", "propensity", "reward"]].values.tolist()
            [['a', 1.0, 1.0]]
        """
        import pandas as pd

        rows = []
        for r in self._native._log():
            for c in r["chosen"]:
                rows.append(
                    {
                        "decision": r["decision"],
                        "timestamp": r["timestamp"],
                        "customer": r["customer"],
                        "offer": c["offer"],
                        "candidate": c["candidate"],
                        "position": c["position"],
                        "event_id": c["event_id"],
                        "propensity": c["propensity"],
                        "reward": math.nan if c["reward"] is None else c["reward"],
                        "rewarded_at": c["rewarded_at"],
                        "defaulted": c["defaulted"],
                        "candidates": r["candidates"],
                        "probabilities": r["probabilities"],
                        "context": np.asarray(r["context"], dtype=np.float32),
                        "rules": r["rules"],
                    }
                )
        columns = [
            "decision", "timestamp", "customer", "offer", "candidate", "position", "event_id",
            "propensity", "reward", "rewarded_at", "defaulted", "candidates", "probabilities",
            "context", "rules",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["rewarded_at"] = frame["rewarded_at"].astype("Int64")
        return frame

    def log_jsonl(self) -> str:
        """The decision log as JSON Lines: one decision per line, as the core
        writes it (context, candidates, values, probabilities, chosen with
        position, propensity and reward, rules).

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> _ = nbo.decide("c1", now=100)
            >>> import json; json.loads(nbo.log_jsonl())["candidates"]
            ['a']
        """
        return self._native.log_jsonl()

    def write_jsonl(self, path: PathLike) -> None:
        """Writes ``log_jsonl()`` to `path`.

        Example:
            >>> nbo.write_jsonl("decisions.jsonl")  # doctest: +SKIP
        """
        self._native.write_jsonl(os.fspath(path))

    # -- state ---------------------------------------------------------------------

    def summary(self) -> Dict[str, Any]:
        """offers (as the core holds them), dim, pending (decisions awaiting a
        reward), decisions (logged), bandit (its settings), policy and
        apprentice (None when apprentice mode is off; else graduated,
        lessons, agreement, model_value and teacher_value per decision,
        gain and gain_se over the last window).

        Example:
            >>> maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=3).summary()["dim"]
            3
        """
        return self._native._summary()

    def to_bytes(self) -> bytes:
        """The whole engine as artifact bytes: offers, contact policy, bandit
        models, pending decisions, the log and the ledger. ``from_bytes`` gives
        an engine that decides and learns bit for bit as this one.

        Example:
            >>> nbo = maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0)
            >>> maitre.NextBestOffer.from_bytes(nbo.to_bytes()).to_bytes() == nbo.to_bytes()
            True
        """
        return self._native.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "NextBestOffer":
        """Reads bytes from ``to_bytes``.

        Raises ArtifactError (``problem``: truncated, checksum_mismatch, ...)
        for bytes that are not a saved engine.

        Example:
            >>> maitre.NextBestOffer.from_bytes(b"nope")
            Traceback (most recent call last):
            ...
            maitre.ArtifactError: artifact: not a maitre artifact (it starts with "nope")
        """
        return cls(None, 0, _native=_maitre.NextBestOffer.from_bytes(bytes(data)))

    def save(self, path: PathLike) -> None:
        """Writes the engine to `path` atomically (a new file is 0600: the
        ledger and log hold customer ids).

        Example:
            >>> nbo.save("offers.maitre")  # doctest: +SKIP
        """
        self._native.save(os.fspath(path))

    @classmethod
    def load(cls, path: PathLike) -> "NextBestOffer":
        """Reads an engine saved with ``save``.

        Example:
            >>> nbo = maitre.NextBestOffer.load("offers.maitre")  # doctest: +SKIP
        """
        return cls(None, 0, _native=_maitre.NextBestOffer.load(os.fspath(path)))

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        s = self.summary()
        return f"NextBestOffer(offers={len(s['offers'])}, dim={s['dim']}, pending={s['pending']})"


def _numbers(name: str, value: Any, dtype: Any) -> np.ndarray:
    """`value` as a numeric array of `dtype`; text or objects are an InvalidParamError."""
    try:
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ValueError(f"dtype {arr.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(arr, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise _invalid(name, f"expected an array of numbers ({e})") from None


def evaluate_policy(
    contexts: Any,
    actions: Any,
    propensities: Any,
    rewards: Any,
    target: Any,
    ridge: float = 1.0,
    folds: int = 5,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    fold_seed: int = 1,
) -> "pandas.DataFrame":
    """Off-policy evaluation: what `target` would have earned on rounds logged
    under another policy.

    Parameters:
        contexts: (n, dim) context features of the logged rounds (None or
            (n, 0): no context; a vector is one feature per round).
        actions: (n,) the logged action of each round, in ``0..n_actions``.
        propensities: (n,) the logging policy's probability of that action.
        rewards: (n,) the observed rewards.
        target: (n, n_actions) the target policy's action probabilities per
            round (each row sums to 1).
        ridge, folds: the cross-fitted ridge reward model of DM and DR.
        bootstrap, confidence, seed: the percentile-bootstrap interval.
        fold_seed: seeds the cross-fitting split (keep it independent of the log).

    Returns a DataFrame with one row per estimator (dm, ips, snips, dr):
    ``estimator``, ``value``, ``low``, ``high``; ``frame.attrs["rounds"]``.

    Raises LengthMismatchError when the arrays disagree, InvalidParamError for
    an action out of range, a propensity outside (0, 1], a non-finite reward
    or a target row that is not a distribution.

    Example:
        >>> import numpy as np
        >>> actions = np.arange(100) % 2
        >>> frame = maitre.evaluate_policy(None, actions, np.full(100, 0.5), actions.astype(float),
        ...                                np.tile([0.0, 1.0], (100, 1)), bootstrap=100)
        >>> float(frame.set_index("estimator").loc["ips", "value"])
        1.0
    """
    import pandas as pd

    try:
        actions_arr = np.asarray(actions)
    except (TypeError, ValueError) as e:
        raise _invalid("actions", str(e)) from None
    if actions_arr.ndim != 1 or actions_arr.dtype.kind not in "iu":
        raise _invalid("actions", f"expected a vector of integers, got dtype {actions_arr.dtype} and shape {actions_arr.shape}")
    if actions_arr.dtype.kind == "u" and actions_arr.size and int(actions_arr.max()) > 2**63 - 1:
        raise _invalid("actions", "an action index above 2**63-1")
    n = len(actions_arr)
    if contexts is None:
        ctx = np.zeros((n, 0), dtype=np.float32)
    else:
        ctx = _numbers("contexts", contexts, np.float32)
        if ctx.ndim == 1:
            ctx = ctx.reshape(-1, 1)
        if ctx.ndim != 2:
            raise _invalid("contexts", f"expected an (n, dim) array, got shape {ctx.shape}")
    tgt = _numbers("target", target, np.float64)
    if tgt.ndim != 2:
        raise _invalid("target", f"expected an (n, n_actions) array, got shape {tgt.shape}")
    prop = _numbers("propensities", propensities, np.float64).reshape(-1)
    rew = _numbers("rewards", rewards, np.float64).reshape(-1)
    params = _json(
        "params",
        {
            "ridge": ridge,
            "folds": _integer("folds", folds),
            "bootstrap": _integer("bootstrap", bootstrap),
            "confidence": confidence,
            "seed": _integer("seed", seed),
            "fold_seed": _integer("fold_seed", fold_seed),
        },
    )
    report = _maitre.evaluate_policy(
        np.ascontiguousarray(ctx),
        np.ascontiguousarray(actions_arr, dtype=np.int64),
        prop,
        rew,
        np.ascontiguousarray(tgt),
        params,
    )
    frame = pd.DataFrame(
        [{"estimator": name, **report[name]} for name in ("dm", "ips", "snips", "dr")],
        columns=["estimator", "value", "low", "high"],
    )
    frame.attrs["rounds"] = report["rounds"]
    return frame
