"""Type stubs of the native module ``maitre._maitre`` (checked against it in tests)."""

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

_Path = Union[str, os.PathLike[str]]
_Report = Dict[str, Any]

class EventLog:
    """A log of behaviour events, validated and interned by the core."""

    def __init__(
        self, kinds: Optional[Mapping[str, float]] = None, *, scaled: Optional[Sequence[str]] = None
    ) -> None: ...
    def kinds(self) -> Dict[str, float]: ...
    def scaled_kinds(self) -> List[str]: ...
    def resolve(self, id: str) -> Optional[str]: ...
    def identities(self, id: str) -> Optional[List[str]]: ...
    @classmethod
    def synthetic_storefront(cls, seed: int = 0, size: Union[str, int] = "tiny") -> "EventLog": ...
    @classmethod
    def from_movielens(cls, path: Optional[_Path] = None) -> "EventLog": ...
    def read_csv(
        self,
        path: _Path,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> _Report: ...
    def read_jsonl(
        self,
        path: _Path,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> _Report: ...
    def extend_columns(
        self,
        columns: Mapping[
            str,
            Union[
                Sequence[str],
                Sequence[Optional[str]],
                Sequence[Optional[float]],
                npt.NDArray[np.float64],
                None,
            ],
        ],
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> _Report: ...
    def _extend_chunks(
        self,
        chunks: Any,
        rows: int,
        *,
        customer: str = "customer_id",
        item: str = "item_id",
        kind: str = "kind",
        timestamp: str = "timestamp",
        value: str = "value",
        context: Optional[Sequence[str]] = None,
        skip_bad_rows: bool = False,
    ) -> _Report: ...
    def link(self, alias: str, customer: str, timestamp: int) -> None: ...
    def forget(self, customer: str) -> Dict[str, Any]: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> "EventLog": ...
    def summary(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...

def evaluate(
    log: EventLog,
    split: str = "leave-last-out",
    models: Sequence[str] = ("popularity",),
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    dataset: Optional[str] = None,
    als: Optional[ALS] = None,
    items: Optional[Dict[str, list]] = None,
) -> Dict[str, Any]: ...

def evaluate_cold_start(
    log: EventLog,
    items: Dict[str, list],
    als: Optional[ALS] = None,
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    fraction: float = 0.1,
    draws: int = 5,
    seed: int = 7,
    segments: Optional[Dict[str, int]] = None,
    full_catalogue: bool = False,
) -> Dict[str, Any]: ...
def tune(
    log: EventLog,
    budget: Optional[float] = None,
    progress: Optional[Callable[[Dict[str, Any]], Any]] = None,
    split: str = "leave-last-out",
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    seed: Optional[int] = None,
    max_trials: Optional[int] = None,
    als: Optional[ALS] = None,
    items: Optional[Dict[str, list]] = None,
) -> Tuple[AlsModel, List[Dict[str, Any]], str, Dict[str, Any]]: ...
def synthetic_catalog(seed: int = 0, size: Union[str, int] = "tiny") -> Dict[str, list]: ...
def movielens_catalog(path: Optional[_Path] = None) -> Dict[str, list]: ...
def movielens_dir(path: Optional[_Path] = None) -> str: ...
def kmeans_fit(
    data: npt.ArrayLike,
    dim: int,
    k: Optional[int] = None,
    seed: Optional[int] = None,
    n_init: Optional[int] = None,
    threads: Optional[int] = None,
) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32], float, int, bool, List[Tuple[int, float]]]: ...
def kmeans_predict(centroids: npt.ArrayLike, dim: int, data: npt.ArrayLike) -> npt.NDArray[np.uint32]: ...
def exact_top_k(
    vectors: npt.ArrayLike, query: npt.ArrayLike, k: int
) -> Tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]]: ...
def describe_segments(tallies: str, overall: str, customers: int) -> List[Dict[str, Any]]: ...
def segments(
    log: EventLog,
    items: Optional[Dict[str, list]] = None,
    k: Optional[int] = None,
    representation: str = "category_shares",
    fit_min_days: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    model: Optional[AlsModel] = None,
) -> Dict[str, Any]: ...
def rfm(log: EventLog, items: Optional[Dict[str, list]] = None, now: Optional[int] = None) -> Dict[str, Any]: ...
def customer_view(
    log: EventLog,
    customer: str,
    items: Optional[Dict[str, list]] = None,
    recent: Optional[int] = None,
    now: Optional[int] = None,
    model: Optional[AlsModel] = None,
    offers: Optional[NextBestOffer] = None,
    context: Optional[npt.NDArray[np.float32]] = None,
    attributes: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]: ...
def target(
    log: EventLog,
    model: AlsModel,
    item: Optional[str] = None,
    category: Optional[str] = None,
    k: Optional[int] = None,
    items: Optional[Dict[str, list]] = None,
    customer_filter: Optional[str] = None,
    now: Optional[int] = None,
) -> List[Dict[str, Any]]: ...
def advocates(
    log: EventLog, items: Optional[Dict[str, list]] = None, n: Optional[int] = None, now: Optional[int] = None
) -> List[Dict[str, Any]]: ...

class ALS:
    """Implicit ALS hyper-parameters, checked by the core."""

    def __init__(
        self,
        factors: int = 16,
        iterations: int = 15,
        regularization: float = 10.0,
        regularization_exponent: float = 0.0,
        alpha: float = 0.5,
        confidence: str = "linear",
        epsilon: float = 1.0,
        unobserved_weight: float = 1.0,
        cg_steps: int = 3,
        seed: int = 0,
        threads: Optional[int] = None,
        regularization_scale: str = "all_pairs",
    ) -> None: ...
    def solve_rows(
        self,
        gram: npt.ArrayLike,
        other_rows: int,
        start: npt.ArrayLike,
        indptr: Union[Sequence[int], npt.NDArray[np.integer]],
        neighbours: npt.ArrayLike,
        weights: npt.ArrayLike,
        columns: Optional[npt.ArrayLike] = None,
    ) -> npt.NDArray[np.float32]: ...
    def initial_rows(self, first: int, count: int) -> npt.NDArray[np.float32]: ...
    def fit(
        self,
        log: EventLog,
        half_life_days: Optional[float] = None,
        progress: Optional[Callable[[Dict[str, Any]], Any]] = None,
    ) -> AlsModel: ...
    def params(self) -> Dict[str, Any]: ...

class AlsModel:
    """Fitted customer and item factors."""

    @property
    def user_factors(self) -> npt.NDArray[np.float32]: ...
    @property
    def item_factors(self) -> npt.NDArray[np.float32]: ...
    def params(self) -> Dict[str, Any]: ...
    def customer_ids(self) -> Optional[List[str]]: ...
    def item_ids(self) -> Optional[List[str]]: ...
    def fold_in(self, item_indices: Sequence[int], weights: Sequence[float]) -> npt.NDArray[np.float32]: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "AlsModel": ...
    @staticmethod
    def from_factors(
        user_factors: npt.ArrayLike,
        item_factors: npt.ArrayLike,
        als: ALS,
        customer_ids: Optional[List[str]] = None,
        item_ids: Optional[List[str]] = None,
    ) -> "AlsModel": ...
    @staticmethod
    def _from_parts(data: bytes, ids: Optional[Tuple[List[str], List[str]]]) -> "AlsModel": ...

_Details = Optional[Tuple[List[str], List[Optional[List[str]]]]]
_Listed = Tuple[List[str], npt.NDArray[np.float32], _Details]

class Recommender:
    """The native recommender; use maitre.Recommender."""

    @staticmethod
    def build(
        log: EventLog,
        model: AlsModel,
        items: Optional[Dict[str, List[Any]]] = None,
        attributes: bool = True,
        without_customers: bool = False,
        index: str = "auto",
        hnsw: Optional[Dict[str, int]] = None,
        calibrate_new_items: Optional[float] = None,
    ) -> "Recommender": ...
    def _recommend(self, request: str, details: bool = False) -> _Listed: ...
    def _recommend_batch(
        self,
        request: str,
        customers: Sequence[str],
        details: bool = False,
        contexts: Optional[List[List[Tuple[str, str]]]] = None,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], Optional[List[str]]]: ...
    def item_ids(self) -> List[str]: ...
    def settings(self) -> Dict[str, Any]: ...
    def _set_settings(self, settings: str) -> None: ...
    def _similar_items(self, item: str, k: int, filters: Optional[str] = None) -> _Listed: ...
    def _customers_for_item(self, item: str, k: int) -> Tuple[List[str], npt.NDArray[np.float32]]: ...
    def _rerank_batch(
        self, request: str, customers: List[str], candidates: List[List[str]], details: bool = False
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[List[str]]]: ...
    def _rerank(self, request: str, candidates: Sequence[str], details: bool = False) -> _Listed: ...
    def _add_item(self, columns: Dict[str, List[Any]], vector: Optional[Sequence[float]] = None) -> int: ...
    def _forget(self, customer: str) -> Dict[str, Any]: ...
    def save(self, path: _Path, flavour: str = "full") -> None: ...
    @staticmethod
    def load(path: _Path) -> "Recommender": ...
    def to_bytes(self, flavour: str = "full") -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "Recommender": ...
    @property
    def has_customers(self) -> bool: ...
    def summary(self) -> Dict[str, int]: ...

class MaitreError(ValueError):
    """Base class of every error maitre raises."""

class BadRecordError(MaitreError):
    row: Optional[int]
    line: Optional[int]
    field: str
    problem: str
    detail: Optional[str]

class MissingColumnError(MaitreError):
    column: str
    present: List[str]

class InvalidParamError(MaitreError):
    name: str
    reason: str

class UnknownIdError(MaitreError, KeyError):
    what: str
    id: str

class LengthMismatchError(MaitreError):
    name: str
    expected: int
    got: int

class NotEnoughDataError(MaitreError): ...
class CancelledError(MaitreError): ...

class ArtifactError(MaitreError):
    problem: str
    filename: Optional[str]

class MaitreFileNotFoundError(MaitreError, FileNotFoundError): ...
class MaitreIOError(MaitreError, OSError): ...

_DecisionParts = Tuple[
    List[Tuple[str, str, int, int, float, float, float, str]],
    List[str],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    List[str],
    List[Tuple[str, str, Optional[str]]],
]

class NextBestOffer:
    """The native next-best-offer engine; use maitre.NextBestOffer."""

    @staticmethod
    def create(offers: str, policy: Optional[str], dim: int, bandit: str) -> "NextBestOffer": ...
    def _decide(self, request: str, context: npt.NDArray[np.float32]) -> _DecisionParts: ...
    def _decide_from_log(
        self, log: EventLog, customer: str, since: int, request: str, context: npt.NDArray[np.float32]
    ) -> _DecisionParts: ...
    def reward(self, event_id: int, value: float, now: int) -> Dict[str, Any]: ...
    def expire(self, now: int) -> List[Dict[str, Any]]: ...
    def prune(self, now: int) -> int: ...
    def _log(self) -> List[Dict[str, Any]]: ...
    def log_jsonl(self) -> str: ...
    def write_jsonl(self, path: _Path) -> None: ...
    def _summary(self) -> Dict[str, Any]: ...
    def _forget(self, ids: List[str]) -> Dict[str, int]: ...
    def _activity(self, ids: List[str], recent: int) -> Dict[str, Any]: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "NextBestOffer": ...
    def save(self, path: _Path) -> None: ...
    @staticmethod
    def load(path: _Path) -> "NextBestOffer": ...

def evaluate_policy(
    contexts: npt.NDArray[np.float32],
    actions: npt.NDArray[np.int64],
    propensities: npt.NDArray[np.float64],
    rewards: npt.NDArray[np.float64],
    target: npt.NDArray[np.float64],
    params: str,
) -> Dict[str, Any]: ...
