"""Type stubs of the native module ``maitre._maitre`` (checked against it in tests)."""

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

_Path = Union[str, os.PathLike[str]]
_Report = Dict[str, Any]

class EventLog:
    """A log of behaviour events, validated and interned by the core."""

    def __init__(self) -> None: ...
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
    def link(self, alias: str, customer: str, timestamp: int) -> None: ...
    def summary(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...

def evaluate(
    log: EventLog,
    split: str = "leave-last-out",
    models: Sequence[str] = ("popularity",),
    positive_kinds: Optional[Sequence[str]] = None,
    min_value: Optional[float] = None,
    dataset: Optional[str] = None,
) -> Dict[str, Any]: ...

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
class MaitreFileNotFoundError(MaitreError, FileNotFoundError): ...
class MaitreIOError(MaitreError, OSError): ...
