"""The artifact's tables: packed byte strings and the slug index, collisions included."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from relata.artifact import slug_index
from relata.artifact.packed import (
    DICTIONARY_BLOCK,
    KEY_WIDTH,
    CodedColumn,
    Packed,
    TextColumn,
    blob_file,
    offsets_file,
    pack,
    write_blocks,
)
from relata.artifact.slug_index import SlugIndex, key_table

ITEMS = [b"", b"a", "é".encode(), b"", b'{"slug": "x"}']


@pytest.mark.parametrize(
    ("at", "expected"),
    [(0, b""), (1, b"a"), (2, "é".encode()), (-1, ITEMS[-1]), (-5, b""),
     (slice(1, 3), [b"a", "é".encode()]), (slice(None, None, 2), ITEMS[::2]),
     (slice(4, 99), [ITEMS[4]]), (slice(3, 1), [])],
)  # fmt: skip
def test_packed_reads_what_was_packed(at: int | slice, expected: bytes | list[bytes]) -> None:
    table = Packed(*pack(ITEMS))
    assert len(table) == len(ITEMS)
    assert table[at] == expected


def _saved(folder: Path, name: str) -> Packed:
    return Packed(
        np.load(folder / blob_file(name), mmap_mode="r"), np.load(folder / offsets_file(name))
    )


@pytest.mark.parametrize("cuts", [[], [0], [2], [1, 3], [0, 0, 5]])
def test_a_table_saved_in_blocks_reads_as_saved_whole(tmp_path: Path, cuts: list[int]) -> None:
    # Blocks of ITEMS cut at `cuts` (an empty block included), each packed.
    bounds = [0, *cuts, len(ITEMS)]
    blocks = [pack(ITEMS[a:b]) for a, b in itertools.pairwise(bounds)]
    write_blocks(tmp_path, "blocks", blocks)
    assert list(_saved(tmp_path, "blocks")) == ITEMS
    # The bytes' file as numpy itself saves the whole blob: its header rewritten in place.
    np.save(tmp_path / "whole.npy", np.frombuffer(b"".join(ITEMS), dtype=np.uint8))
    saved = (tmp_path / blob_file("blocks")).read_bytes()
    assert saved == (tmp_path / "whole.npy").read_bytes()


def test_an_empty_table_saved_in_blocks_reads_empty(tmp_path: Path) -> None:
    write_blocks(tmp_path, "empty", iter(()))
    assert len(_saved(tmp_path, "empty")) == 0


@pytest.mark.parametrize(
    "texts",
    [[], ["en", "", "en", "fr", "é", "en"], ["a", "a\x00", "a\x00\x00", "", "\x00"],
     [f"category {k % 300}" for k in range(1000)], [str(k) for k in range(70000)],
     [f"c{k % 7}" * (k % 3) for k in range(3 * DICTIONARY_BLOCK)],
     ["x" * KEY_WIDTH, "en", "x" * (KEY_WIDTH + 1), "x" * KEY_WIDTH + "\x00", "en"]],
    ids=["empty", "languages", "trailing zero bytes", "past 256 values", "past 65536 values",
         "values recurring across blocks", "values longer than a key"],
)  # fmt: skip
def test_a_coded_column_reads_as_the_text_column(texts: list[str]) -> None:
    packed = Packed(*pack(text.encode() for text in texts))
    coded = CodedColumn(packed)
    assert len(coded) == len(texts)
    assert [coded[row] for row in range(len(texts))] == texts == coded[:]
    assert coded[-1:] == TextColumn(packed)[-1:]
    assert sorted(coded.values) == sorted(set(texts))


@pytest.mark.parametrize("at", [5, -6, 99])
def test_packed_refuses_rows_it_does_not_have(at: int) -> None:
    with pytest.raises(IndexError):
        Packed(*pack(ITEMS))[at]


@pytest.mark.parametrize(
    "offsets",
    [np.array([0, 2]), np.array([], dtype=np.int64), np.array([[0, 3]])],
)
def test_packed_refuses_offsets_that_do_not_fit_the_blob(offsets: np.ndarray) -> None:
    with pytest.raises(ValueError, match="offsets do not match"):
        Packed(np.frombuffer(b"abc", dtype=np.uint8), offsets)


def _index(slugs: list[str]) -> SlugIndex:
    keys, rows = key_table(slugs)
    return SlugIndex(TextColumn(Packed(*pack(s.encode() for s in slugs))), keys, rows)


SLUGS = ["zeta", "alpha", "mid-story", "ünïcode-slug", "alpha-2"]


@pytest.mark.parametrize("collide", [False, True], ids=["distinct-keys", "every-key-collides"])
def test_slug_index_finds_every_row_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, collide: bool
) -> None:
    if collide:  # every slug gets one key: only the stored slug can tell them apart
        monkeypatch.setattr(slug_index, "slug_key", lambda slug: 42)
    index = _index(SLUGS)
    assert {slug: index[slug] for slug in SLUGS} == {slug: row for row, slug in enumerate(SLUGS)}
    for missing in ["", "alpha-3", "ZETA", "zeta "]:
        assert missing not in index and index.get(missing) is None
        with pytest.raises(KeyError):
            index[missing]
    assert list(index) == SLUGS and len(index) == len(SLUGS)
    assert index.slugs[np.int32(2)] == "mid-story"  # rows read from a neighbour table


def test_slug_index_refuses_tables_of_different_lengths() -> None:
    keys, rows = key_table(SLUGS)
    with pytest.raises(ValueError, match="differ in length"):
        SlugIndex(TextColumn(Packed(*pack([b"one"]))), keys, rows)
