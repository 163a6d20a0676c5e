"""DataFrames and dicts of columns -> the plain columns the native log takes.

Conversions only. Every value is validated by the core, which names the row
and the column; this module only turns pandas/numpy types into lists of str
and float64 arrays:

- datetime64 columns (naive = UTC, or tz-aware) -> float epoch seconds, NaT -> NaN
  (the core rejects it as a bad timestamp); numeric columns -> float64; anything
  else -> text per element (epoch seconds or RFC 3339 for the core to parse).
- id columns -> str per element; None/NaN/NA -> "" (the core rejects it as empty);
  whole-number floats -> the integer's text (101.0 -> "101": pandas upcasts an
  integer id column with a gap to float64); a fractional float or bytes that
  are not UTF-8 -> BadRecordError naming the row and column.
- the value column -> float64 for numeric dtypes (the core takes NaN as "no value"
  for kinds whose weight ignores the value, and rejects it for value-weighted kinds);
  otherwise text per element for the core to parse, where None/NA means "no value".
- context columns -> str per element, None/NaN/NA -> no context for that row.
"""

from __future__ import annotations

import datetime as _dt
import errno
import math
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

try:  # pandas is optional: dicts of lists and numpy arrays work without it
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised only without pandas
    _pd = None


class Converted:
    """Columns ready for `extend_columns`."""

    def __init__(self) -> None:
        self.columns: Dict[str, Any] = {}
        self.context: List[str] = []


def _is_na(v: Any) -> bool:
    return v is None or (_pd is not None and (v is _pd.NA or v is _pd.NaT))


def _missing(v: Any) -> bool:
    if _is_na(v):
        return True
    if isinstance(v, float):  # also numpy.float64
        return math.isnan(v)
    return isinstance(v, np.datetime64) and bool(np.isnat(v))


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _array(col: Any) -> Optional[np.ndarray]:
    """The column as a numpy array when it has a plain numpy dtype, else None."""
    if _pd is not None and isinstance(col, (_pd.Series, _pd.Index)):
        if isinstance(col.dtype, _pd.DatetimeTZDtype):
            utc = _pd.Series(col).dt.tz_convert("UTC").dt.tz_localize(None)
            return utc.to_numpy()
        if isinstance(col.dtype, np.dtype):
            return col.to_numpy()
        return None  # extension dtypes (Int64, string, category, ...): per element
    if isinstance(col, np.ndarray):
        return col
    try:
        return np.asarray(col)
    except (ValueError, TypeError):
        return None


def _elements(col: Any, array: Optional[np.ndarray]) -> List[Any]:
    if array is not None and array.ndim == 1:
        return list(array) if array.dtype.kind != "O" else array.tolist()
    if hasattr(col, "tolist"):
        return col.tolist()
    return list(col)


def _bad(row: int, field: str, problem: str, detail: str) -> Exception:
    """A BadRecordError shaped like the core's (row, field, problem, detail)."""
    from . import _maitre

    err = _maitre.BadRecordError(f"row {row}: field `{field}` is malformed: {detail}")
    err.row, err.line, err.field, err.problem, err.detail = row, None, field, problem, detail
    return err


def _moved(e: Exception, row: Any) -> Optional[Exception]:
    """A conversion error `e` raised at a row of a part (a chunk, a column's
    distinct values) named at `row(e.row)` of the whole input; None when `e`
    names no row (the caller re-raises it as it is)."""
    if getattr(e, "row", None) is None or not hasattr(e, "detail"):
        return None
    return _bad(row(e.row), e.field, e.problem, e.detail)


# Floats hold every integer exactly up to 2**53; a larger "integral" float is
# already a different id than the one it was converted from.
_EXACT = 2.0**53


def _float_ids(array: np.ndarray, field: str, missing: Optional[str]) -> List[Optional[str]]:
    """Float ids (integer ids pandas upcast to float64 because of a missing
    value) -> the integer's text: 101.0 -> "101", the id it was before the
    upcast. NaN -> `missing`. A float that is not a whole number below 2**53
    is a BadRecordError naming the row: it cannot be told apart from another id."""
    values = array.astype(np.float64)
    nan = np.isnan(values)
    bad = ~nan & ~((np.abs(values) < _EXACT) & (values == np.round(values)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad(row, field, "malformed", f"{values[row]!r} is not a whole-number id (ids are text or integers)")
    out: List[Optional[str]] = np.where(nan, 0, values).astype(np.int64).astype(str).tolist()
    for i in np.flatnonzero(nan):
        out[i] = missing
    return out


def _decode(v: bytes, row: int, field: str) -> str:
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad(row, field, "malformed", f"{v[:32]!r} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def _text_column(col: Any, missing: Optional[str], field: str) -> List[Optional[str]]:
    """One str per element, `missing` where the element is None/NaN/NA/NaT.

    Integral floats become the integer's text (see `_float_ids`); bytes must be
    UTF-8. Errors are BadRecordError naming the row and `field`."""
    array = _array(col)
    if array is None or array.ndim != 1:
        array = np.asarray(_elements(col, None), dtype=object)
    if array.dtype.kind == "S":
        return [_decode(bytes(v), row, field) for row, v in enumerate(array.tolist())]
    if array.dtype.kind == "U":  # numpy text: never missing
        return array.tolist()
    if array.dtype.kind == "f":
        return _float_ids(array, field, missing)
    if array.dtype.kind in "iu":
        return array.astype(str).tolist()
    if array.dtype.kind in "bMm":
        text: List[Optional[str]] = array.astype(str).tolist()
        if array.dtype.kind in "Mm":
            for i in np.flatnonzero(np.isnat(array)):
                text[i] = missing
        return text
    out: List[Optional[str]] = array.astype(object).tolist()
    plain = np.fromiter((type(v) is str for v in out), dtype=bool, count=len(out))
    for row in np.flatnonzero(~plain):
        out[row] = _one(out[row], int(row), field, missing)
    return out


def _one(v: Any, row: int, field: str, missing: Optional[str]) -> Optional[str]:
    """One element of an object column that is not plain str."""
    if _missing(v):
        return missing
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return _decode(v, row, field)
    if isinstance(v, (float, np.floating)) and not isinstance(v, bool):
        f = float(v)
        if not (abs(f) < _EXACT and f == round(f)):
            raise _bad(row, field, "malformed", f"{f!r} is not a whole-number id (ids are text or integers)")
        return str(int(f))
    return str(v)


def _coded(col: Any, field: str) -> Optional["tuple[np.ndarray, List[str]]"]:
    """A text column dictionary-encoded: (int64 codes, distinct strings), a
    negative code where the cell is missing; None when pandas cannot factorize
    it (the caller then sends one str per row).

    Each distinct value is converted once, by the same rules as `_text_column`
    (so 101, 101.0 and "101" are all "101"); an error in a distinct value names
    the first row that holds it."""
    if _pd is None:
        return None
    if isinstance(col, _pd.Series) and isinstance(col.dtype, _pd.CategoricalDtype):
        codes, uniques = col.cat.codes.to_numpy(), col.cat.categories
    else:
        try:
            codes, uniques = _pd.factorize(col, use_na_sentinel=True)
        except (TypeError, ValueError):
            return None  # unhashable cells, ragged input: per element
    return _dictionary(codes, uniques, field)


def _dictionary(codes: Any, uniques: Any, field: str) -> "tuple[np.ndarray, List[str]]":
    """(int64 codes, distinct strings) from codes into `uniques`: each distinct
    value converted once by `_text_column`'s rules; an error in one names the
    first row that holds it. A distinct value that converts to "missing" (rare:
    NaN-like objects factorize keeps) becomes "", which the core treats as missing."""
    codes = np.asarray(codes, dtype=np.int64)
    try:
        values = _text_column(uniques, None, field)
    except Exception as e:
        moved = _moved(e, lambda row: int(np.flatnonzero(codes == row)[0]))
        if moved is None:
            raise
        raise moved from None
    return codes, ["" if v is None else v for v in values]


def ids(col: Any, field: str = "id") -> List[str]:
    """Id columns: one str per row ("" where missing)."""
    return _text_column(col, "", field)  # type: ignore[return-value]


def event_ids(col: Any, field: str = "id") -> Any:
    """An event batch's customer, item and kind columns: Arrow buffers when
    pandas holds the column in Arrow or as integers; (codes, distinct values)
    when the column factorizes; else one str per row."""
    arrow = _arrow_held(col, field)
    if arrow is not None:
        return arrow
    coded = _coded(col, field)
    return ids(col, field) if coded is None else coded


def _arrow_held(col: Any, field: str) -> Any:
    """A pandas text column that Arrow already holds (pandas' default `str`
    dtype since 3.0, `string[pyarrow]`, `ArrowDtype`) or an integer column,
    as Arrow's buffers (see `_arrow_text`): no factorizing and no Python
    string per distinct value. None for anything else (object columns,
    categoricals, floats), which take the general path."""
    if _pd is None or not isinstance(col, _pd.Series):
        return None
    if col.dtype.kind in "iu" and not isinstance(col.dtype, _pd.api.extensions.ExtensionDtype):
        try:
            import pyarrow as pa
        except ImportError:  # optional: integers factorize as well without it
            return None
        return _arrow_text(pa.array(col.to_numpy()), field)
    if getattr(col.dtype, "storage", None) == "pyarrow" or isinstance(col.dtype, getattr(_pd, "ArrowDtype", ())):
        pa = _pa()
        arrow = pa.array(col.array)
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type) or _is_string_view(pa, arrow.type):
            return _arrow_text(arrow, field)
    return None


def timestamps(col: Any) -> Any:
    """Epoch seconds as float64, or one str per row for the core to parse."""
    array = _array(col)
    if array is not None and array.dtype.kind == "M":
        seconds = array.astype("datetime64[s]")
        out = seconds.astype(np.int64).astype(np.float64)
        out[np.isnat(seconds)] = np.nan
        return out
    if array is not None and array.dtype.kind in "iuf":
        return array.astype(np.float64)
    return [_time_text(v) for v in _elements(col, array)]


def _time_text(v: Any) -> str:
    if _missing(v):
        return ""
    if isinstance(v, np.datetime64):
        return str(v.astype("datetime64[s]").astype(np.int64))
    if isinstance(v, _dt.datetime):  # pandas.Timestamp too
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        return str(math.floor(v.timestamp()))
    return _text(v)


def numbers(col: Any) -> Any:
    """Values as float64 for numeric dtypes, else one str-or-None per row (the core parses)."""
    array = _array(col)
    if array is not None and array.dtype.kind in "iuf":
        return array.astype(np.float64)
    return [None if _is_na(v) else _text(v) for v in _elements(col, array)]


def texts(col: Any, field: str = "context") -> List[Optional[str]]:
    """Text attribute columns: one str per row, None where missing."""
    return _text_column(col, None, field)


def contexts(col: Any, field: str = "context") -> Any:
    """Context columns: (codes, distinct values) when the column factorizes,
    else one str per row, None where missing."""
    arrow = _arrow_held(col, field)
    if arrow is not None:
        return arrow
    coded = _coded(col, field)
    return texts(col, field) if coded is None else coded


# Rows per chunk: a chunk's conversion (Python str objects, then the native
# copies) is the only transient memory of an ingestion, ~30 MB at this size.
CHUNK_ROWS = 65536


def context_names(names: Any, core: Sequence[str], context: Optional[Sequence[str]]) -> List[str]:
    """The context columns asked for: `context` as given, or (None) every
    column of `names` that is not one of the `core` columns."""
    if context is None:
        skip = set(core)
        return [k for k in names if k not in skip]
    return [str(k) for k in context]


def _length(col: Any) -> Optional[int]:
    try:
        return len(col)
    except TypeError:
        return None


def _slice(col: Any, start: int, stop: int) -> Any:
    if hasattr(col, "iloc"):
        return col.iloc[start:stop]
    return col[start:stop]


def _release_arrow_memory() -> None:
    """Asks pyarrow's default pool, if pyarrow is loaded, to hand back the
    memory it holds freed. A frame just read with `pd.read_parquet` leaves
    its read buffers there; mimalloc returns them lazily, on later Arrow
    allocations, and ingesting integer ids makes none, so they sat beside
    the new log: 390 MB more at the peak for 10 M events. Takes ~3 ms."""
    pa = sys.modules.get("pyarrow")
    pool = getattr(pa, "default_memory_pool", lambda: None)()
    if hasattr(pool, "release_unused"):
        pool.release_unused()


def chunks(
    data: Any,
    *,
    customer: str,
    item: str,
    kind: str,
    timestamp: str,
    value: str,
    context: Optional[Sequence[str]],
    rows: Optional[int] = None,
) -> "tuple[int, List[str], Any]":
    """`convert`, a chunk of rows at a time: (rows, context column names, an
    iterator of converted column mappings). The native log ingests each chunk
    as it comes, inside one all-or-nothing batch, so memory holds one chunk's
    conversion instead of the whole frame's. A BadRecordError raised while
    converting names the row in the whole frame."""
    _release_arrow_memory()
    if isinstance(data, Mapping):
        keys = {str(k): k for k in data.keys()}
    elif hasattr(data, "columns"):
        keys = {str(k): k for k in data.columns}
    else:
        raise TypeError(
            f"expected a pandas DataFrame or a mapping of column name to values, "
            f"got {type(data).__name__}"
        )
    columns = {name: data[key] for name, key in keys.items()}
    for name, col in columns.items():
        if _length(col) is None or not hasattr(col, "__getitem__"):
            columns[name] = list(col)  # a generator or other one-pass iterable
        elif not (hasattr(col, "iloc") or isinstance(col, (list, tuple, np.ndarray, range))):
            columns[name] = np.asarray(col) if not isinstance(col, Mapping) else col
    lengths = {len(col) for col in columns.values()}
    n = max(lengths, default=0)
    # Columns of different lengths go as one chunk: the core names the mismatch.
    step = (rows or CHUNK_ROWS) if len(lengths) <= 1 else max(n, 1)
    first = convert(
        {name: _slice(col, 0, 0) for name, col in columns.items()},
        customer=customer,
        item=item,
        kind=kind,
        timestamp=timestamp,
        value=value,
        context=context,
    )

    def generate() -> Any:
        for start in range(0, max(n, 1), step):
            stop = start + step
            try:
                converted = convert(
                    {name: _slice(col, start, stop) for name, col in columns.items()},
                    customer=customer,
                    item=item,
                    kind=kind,
                    timestamp=timestamp,
                    value=value,
                    context=context,
                )
            except Exception as e:
                moved = _moved(e, lambda row: row + start)
                if moved is None:
                    raise
                raise moved from None
            yield converted.columns

    return n, first.context, generate()


def convert(
    data: Any,
    *,
    customer: str,
    item: str,
    kind: str,
    timestamp: str,
    value: str,
    context: Optional[Sequence[str]],
) -> Converted:
    """Converts a DataFrame or a mapping of column name -> sequence."""
    if isinstance(data, Mapping):
        keys = {str(k): k for k in data.keys()}
    elif hasattr(data, "columns"):
        keys = {str(k): k for k in data.columns}
    else:
        raise TypeError(
            f"expected a pandas DataFrame or a mapping of column name to values, "
            f"got {type(data).__name__}"
        )
    wanted = context_names(keys, (customer, item, kind, timestamp, value), context)
    out = Converted()
    for name, key in keys.items():
        col = data[key]
        if name in (customer, item, kind):
            out.columns[name] = event_ids(col, name)
        elif name == timestamp:
            out.columns[name] = timestamps(col)
        elif name == value:
            out.columns[name] = numbers(col)
        elif name in wanted:
            out.columns[name] = contexts(col, name)
        else:
            out.columns[name] = None  # present (so errors list it) but not used
    out.context = [k for k in wanted if k in keys]
    return out


# ---- Arrow --------------------------------------------------------------
# Arrow columns cross without a pass through Python objects per row: text
# columns as dictionary codes (kept when the column is already
# dictionary-encoded, else encoded by Arrow's C++ kernel) plus the distinct
# strings; numbers and timestamps as numpy arrays.


def _pa() -> Any:
    try:
        import pyarrow
        import pyarrow.compute  # noqa: F401  (pyarrow.compute registers kernels)
    except ImportError:
        raise ImportError(
            "Arrow and Parquet in and out need pyarrow: pip install 'maitre[arrow]'"
        ) from None
    return pyarrow


def batch_pool() -> Any:
    """The memory pool for the Arrow buffers `from_parquet` decodes and drops
    batch after batch (and the casts of each batch). pyarrow's default pools
    (mimalloc; jemalloc as pyarrow sets it up) hand freed pages back to the
    system within milliseconds, so every batch's buffers were zeroed again
    by the kernel: a quarter of `from_parquet`'s CPU time at 10 M events.
    The C library's heap keeps them for the next batch. Not used for frames
    already in memory (`from_pandas`): there it bought no time and kept
    300 MB more at the peak, measured before `_release_arrow_memory`
    (likely the same cause: pd.read_parquet's freed buffers left in
    pyarrow's pool); not measured again since."""
    return _pa().system_memory_pool()


def arrow_table(data: Any) -> Any:
    """A pyarrow Table from a Table, RecordBatch, or anything exporting the
    Arrow C stream interface (a Polars DataFrame, for one)."""
    pa = _pa()
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "to_arrow"):
        try:
            return pa.table(data)
        except (TypeError, ValueError, pa.ArrowException):
            if hasattr(data, "to_arrow"):
                return data.to_arrow()
            raise
    raise TypeError(
        f"expected a pyarrow Table or RecordBatch (or a frame exporting Arrow), "
        f"got {type(data).__name__}"
    )


def _arrow_text(col: Any, field: str, few: bool = False, pool: Any = None) -> Any:
    """A text-like Arrow column -> Arrow's own buffers (int64 offsets, UTF-8
    bytes, nulls) for text, ("int64", values, nulls) for integers
    (`_arrow_integers`), with no Python object per row; otherwise (int64 codes, distinct strings), each distinct value converted
    by `_text_column`'s rules.

    `few`: a column that usually holds few distinct values (kinds, context
    such as a channel) is dictionary-encoded in Arrow first, so the core
    looks each distinct value up once per chunk instead of once per row (at
    10 M events, the kind and channel lookups were half of all lookups); if
    it turns out to hold many, it crosses as buffers after all. `pool`: the
    Arrow memory pool for what is converted (None: pyarrow's default)."""
    pa = _pa()
    pc = pa.compute
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks(memory_pool=pool) if col.num_chunks != 1 else col.chunk(0)
    t = col.type
    if few and (pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(pa, t)):
        coded = pc.dictionary_encode(col, memory_pool=pool)
        if len(coded.dictionary) <= len(col) // 8:
            col, t = coded, coded.type
    if pa.types.is_dictionary(t) and len(col.dictionary) > len(col) // 8 and _is_text_or_int(pa, t.value_type):
        # A dictionary about as large as the chunk (Parquet's, for ids: one
        # per row group, shared by every batch sliced from it) would cross as
        # that many Python strings per chunk; decoded in Arrow, it crosses as
        # buffers. Small dictionaries (kinds, channels) keep their codes.
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_integer(t) and not pa.types.is_uint64(t):
        return _arrow_integers(pa, col, pool)
    if _is_text_or_int(pa, t):
        return _arrow_buffers(pa, col, pool)
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col, memory_pool=pool)
    codes = pc.fill_null(col.indices, -1).to_numpy(zero_copy_only=False)
    return _dictionary(codes, col.dictionary.to_numpy(zero_copy_only=False), field)


def _is_text_or_int(pa: Any, t: Any) -> bool:
    """Types that cross as Arrow buffers (integers as their decimal text)."""
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t) or _is_string_view(pa, t)


def _is_string_view(pa: Any, t: Any) -> bool:
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(is_view and is_view(t))


def _arrow_integers(pa: Any, col: Any, pool: Any = None) -> "tuple[str, np.ndarray, Optional[np.ndarray]]":
    """Integer ids as ("int64", values, bool nulls or None): the binding
    writes their decimal text, as Arrow's cast to text would, in one pass
    and without Arrow building a string column first. (uint64 keeps the
    cast: its values may not fit an int64.)"""
    pc = pa.compute
    nulls = None
    if col.null_count:
        nulls = pc.is_null(col, memory_pool=pool).to_numpy(zero_copy_only=False)
        col = pc.fill_null(col, 0)
    if not pa.types.is_int64(col.type):
        col = pc.cast(col, pa.int64(), memory_pool=pool)
    return "int64", np.ascontiguousarray(col.to_numpy(zero_copy_only=False), dtype=np.int64), nulls


def _arrow_buffers(pa: Any, col: Any, pool: Any = None) -> "tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]":
    """Text (or integers, as their decimal text) as (int64 offsets, uint8
    bytes, bool nulls or None): row i is bytes[offsets[i]:offsets[i + 1]].
    Read-only views on Arrow's buffers, not copies, once the column is
    large_string."""
    if not pa.types.is_large_string(col.type):
        col = pa.compute.cast(col, pa.large_string(), memory_pool=pool)
    n = len(col)
    _, offsets, data = col.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64, count=n + 1, offset=col.offset * 8)
    data = np.zeros(0, np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8)
    nulls = pa.compute.is_null(col, memory_pool=pool).to_numpy(zero_copy_only=False) if col.null_count else None
    # Arrow never writes a buffer once an array holds it, but a buffer a
    # kernel just built (the cast) says it is mutable, so numpy's view of it
    # is writeable. Read-only views are read in place by the binding
    # instead of copied.
    offsets.flags.writeable = data.flags.writeable = False
    return offsets, data, nulls


def _arrow_times(col: Any, pool: Any = None) -> Any:
    """Timestamps -> float64 epoch seconds (NaN where null), or text."""
    pa = _pa()
    pc = pa.compute
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        # Whole seconds in integers first: through float64, nanoseconds of
        # today's dates round to a neighbouring second. Arrow keeps instants
        # in UTC, and a naive timestamp is UTC here as everywhere in maitre.
        tz = getattr(col.type, "tz", None)
        seconds = pc.cast(col, pa.timestamp("s", tz=tz), safe=False, memory_pool=pool)
        seconds = pc.cast(seconds, pa.int64(), memory_pool=pool)
        return _floats(pc.cast(seconds, pa.float64(), memory_pool=pool))
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return _floats(pc.cast(col, pa.float64(), memory_pool=pool))
    return [_time_text(v) for v in col.to_pylist()]


def _floats(col: Any) -> np.ndarray:
    """A float64 Arrow column as a read-only numpy array (NaN where null),
    which the binding reads in place: a view on Arrow's buffer, or, with
    nulls, a copy that only this module holds."""
    out = col.to_numpy(zero_copy_only=False)
    out.flags.writeable = False
    return out


def _arrow_numbers(col: Any, pool: Any = None) -> Any:
    pa = _pa()
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
        return _floats(pa.compute.cast(col, pa.float64(), memory_pool=pool))
    return [None if v is None else _text(v) for v in col.to_pylist()]


def arrow_chunks(
    batches: Any,
    names: List[str],
    rows: int,
    *,
    customer: str,
    item: str,
    kind: str,
    timestamp: str,
    value: str,
    context: Optional[Sequence[str]],
    pool: Any = None,
) -> "tuple[int, List[str], Any]":
    """Like `chunks`, for an iterable of Arrow record batches with column
    `names`: (rows, context column names, an iterator of converted columns).
    `pool`: the Arrow memory pool for the conversions (None: the default)."""
    wanted = context_names(names, (customer, item, kind, timestamp, value), context)
    present = [k for k in wanted if k in names]

    def generate() -> Any:
        start = 0
        for batch in batches:
            for offset in range(0, max(batch.num_rows, 1), CHUNK_ROWS):
                part = batch.slice(offset, CHUNK_ROWS)
                if part.num_rows == 0 and (start or offset):
                    break
                columns: Dict[str, Any] = {}
                try:
                    for name in names:
                        col = part.column(name)
                        if name in (customer, item):
                            columns[name] = _arrow_text(col, name, pool=pool)
                        elif name == kind:
                            columns[name] = _arrow_text(col, name, few=True, pool=pool)
                        elif name == timestamp:
                            columns[name] = _arrow_times(col, pool)
                        elif name == value:
                            columns[name] = _arrow_numbers(col, pool)
                        elif name in present:
                            columns[name] = _arrow_text(col, name, few=True, pool=pool)
                        else:
                            columns[name] = None
                except Exception as e:
                    moved = _moved(e, lambda row: row + start + offset)
                    if moved is None:
                        raise
                    raise moved from None
                yield columns
            start += batch.num_rows

    return rows, present, generate()


def parquet_dataset(path: Any) -> Any:
    """A pyarrow dataset over a Parquet file or a directory of them."""
    _pa()
    import pyarrow.dataset as ds

    if not os.path.exists(path):
        from . import _maitre

        err = _maitre.MaitreFileNotFoundError(f"file not found: {path}")
        err.filename, err.errno = str(path), errno.ENOENT
        raise err
    return ds.dataset(path, format="parquet")


# A Parquet dictionary page up to this size: a column of few distinct values.
_SMALL_DICTIONARY = 64 * 1024


def parquet_coded(dataset: Any, path: Any, columns: Sequence[str]) -> Any:
    """`dataset` again, reading those of `columns` that its first file
    stores with a small dictionary (kinds, channels) as Arrow dictionaries:
    Parquet hands over its codes instead of decoding a string per row, which
    Arrow would then have to encode again (`_arrow_text(few=True)`). Large
    dictionaries (ids, which Parquet's writer leaves for plain pages past
    1 MB) are read as text: rebuilding them in Arrow was slower than either."""
    pa = _pa()
    import pyarrow.dataset as ds

    fragment = next(iter(dataset.get_fragments()), None)
    metadata = getattr(fragment, "metadata", None)
    if metadata is None or metadata.num_row_groups == 0:
        return dataset
    group = metadata.row_group(0)
    chunks = {group.column(j).path_in_schema: group.column(j) for j in range(group.num_columns)}
    small = []
    for name in columns:
        chunk = chunks.get(name)
        field = dataset.schema.field(name) if name in dataset.schema.names else None
        if chunk is None or field is None or not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        if chunk.has_dictionary_page and chunk.data_page_offset - chunk.dictionary_page_offset <= _SMALL_DICTIONARY:
            small.append(name)
    if not small:
        return dataset
    options = ds.ParquetReadOptions(dictionary_columns=small)
    return ds.dataset(path, format=ds.ParquetFileFormat(read_options=options))
