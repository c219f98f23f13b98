"""Packed byte strings: one blob plus offsets, saved as two `.npy` files.

Serving memory-maps both, so every worker process shares one copy of the pages and
reads one string with a slice: no per-worker Python objects for the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import overload

import numpy as np

DICTIONARY_BLOCK = 8192  # rows per block in `_dictionary`
KEY_WIDTH = 64  # longest value `_dictionary` keys as bytes; longer ones are looked up


def blob_file(name: str) -> str:
    """The file holding the strings of the table `name`."""
    return f"{name}.bytes.npy"


def offsets_file(name: str) -> str:
    """The file holding where each string of the table `name` starts (and the end)."""
    return f"{name}.offsets.npy"


def pack(items: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The blob (uint8) and the offsets (int64, one more than there are items) of `items`."""
    blob, ends = bytearray(), [0]
    for item in items:  # streamed: a table may hold millions of strings
        blob += item
        ends.append(len(blob))
    return np.frombuffer(blob, dtype=np.uint8), np.array(ends, dtype=np.int64)


def write_packed(folder: Path, name: str, items: Iterable[bytes]) -> tuple[str, str]:
    """Save `items` as the table `name` in `folder` (a packed table as it is); the two file
    names."""
    blob, offsets = (items.blob, items.offsets) if isinstance(items, Packed) else pack(items)
    return write_blocks(folder, name, [(blob, offsets)])


def write_blocks(
    folder: Path, name: str, blocks: Iterable[tuple[np.ndarray, np.ndarray]]
) -> tuple[str, str]:
    """Save the table `name` in `folder` from blocks of it, each packed (`pack`). The
    bytes go to disk block by block, so the table is never held whole in memory (the
    `why` of a million articles is ten million strings). The two file names."""
    ends, size = [np.zeros(1, dtype=np.int64)], 0
    header = {"descr": "|u1", "fortran_order": False, "shape": (0,)}
    with open(folder / blob_file(name), "wb") as out:
        # numpy leaves room in the header for the length to grow: written again at the end.
        np.lib.format.write_array_header_1_0(out, header)
        start = out.tell()
        for blob, offsets in blocks:
            out.write(blob)
            ends.append(offsets[1:] + size)
            size += len(blob)
        out.seek(0)
        np.lib.format.write_array_header_1_0(out, {**header, "shape": (size,)})
        if out.tell() != start:
            raise ValueError(f"packed table {name}: the header did not keep its length")
    np.save(folder / offsets_file(name), np.concatenate(ends))
    return blob_file(name), offsets_file(name)


class Packed(Sequence[bytes]):
    """A read-only table of byte strings over a blob and its offsets (arrays or memmaps)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[-1] != len(blob):
            raise ValueError("packed table: offsets do not match the blob")
        # Memoryviews: slicing and indexing them is several times cheaper than numpy's.
        self._blob = memoryview(blob)
        self._starts = memoryview(offsets.astype(np.int64, copy=False))
        self._count = len(offsets) - 1

    def __len__(self) -> int:
        return self._count

    @property
    def blob(self) -> np.ndarray:
        """The array the strings are read from (a view of a memory map once loaded)."""
        return self._blob.obj  # type: ignore[return-value]

    @property
    def offsets(self) -> np.ndarray:
        """Where each string starts, and the end (int64)."""
        return self._starts.obj  # type: ignore[return-value]

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if type(i) is int and i >= 0:  # the per-request case, kept short
            return self._blob[self._starts[i] : self._starts[i + 1]].tobytes()
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        return self._blob[self._starts[i] : self._starts[i + 1]].tobytes()


class TextColumn(Sequence[str]):
    """Row → text, decoded from a packed table of UTF-8 strings: a model's slugs, and the
    columns filters read (category, language, publication time) without decoding a card."""

    def __init__(self, packed: Packed) -> None:
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed)

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...
    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [text.decode() for text in self.packed[row]]
        return self.packed[row].decode()  # an int, or a numpy integer from a table


class CodedColumn(Sequence[str]):
    """Row → text for a column of few distinct values (languages, categories), which filters
    read for every candidate of a list: each row keeps only the number of its value, so a
    read is an array lookup rather than a slice and a decode, and equal values are one
    `str`. Built once per model load from the packed column."""

    def __init__(self, packed: Packed) -> None:
        self.values, self.codes = _dictionary(packed)  # codes: row → index into values
        self._codes = memoryview(self.codes)  # indexing a memoryview is cheaper than numpy's

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...
    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [self.values[code] for code in self._codes[row]]
        return self.values[self._codes[row]]


def _dictionary(packed: Packed) -> tuple[list[str], np.ndarray]:
    """The distinct strings of `packed` and each row's number among them (as small an
    unsigned type as holds it), found block by block: whole-column temporaries would stay
    in every serving worker's heap after the load."""
    numbers: dict[bytes, int] = {}
    codes = np.empty(len(packed), dtype=np.uint8)  # widened when the numbers outgrow it
    for start in range(0, len(codes), DICTIONARY_BLOCK):
        stop = min(start + DICTIONARY_BLOCK, len(codes))
        lengths = np.diff(packed.offsets[start : stop + 1])
        if lengths.max(initial=0) <= KEY_WIDTH:
            _, first, inverse = np.unique(_keys(packed, start, lengths), return_index=True,
                                          return_inverse=True)  # fmt: skip
        else:  # keys as wide as a long value (categories have no limit) would be large
            first = inverse = np.arange(stop - start)
        known = [numbers.setdefault(packed[start + int(row)], len(numbers)) for row in first]
        if len(numbers) - 1 > np.iinfo(codes.dtype).max:
            codes = codes.astype(np.min_scalar_type(len(numbers) - 1))
        codes[start:stop] = np.asarray(known, dtype=codes.dtype)[inverse.ravel()]
    return [text.decode() for text in numbers], codes


def _keys(packed: Packed, start: int, lengths: np.ndarray) -> np.ndarray:
    """One fixed-width key per row from `start` (one per length), equal where the strings
    are: the bytes zero-padded, then the length, so strings differing only by trailing
    zero bytes stay apart."""
    starts, width = packed.offsets[start : start + len(lengths)], int(lengths.max(initial=0))
    keys = np.zeros((len(lengths), width + 8), dtype=np.uint8)
    keys[:, width:] = lengths.astype("<i8").view(np.uint8).reshape(-1, 8)
    for k in range(width):
        longer = lengths > k
        keys[longer, k] = packed.blob[starts[longer] + k]
    return keys.view(f"V{width + 8}").ravel()
