"""Strict CSV reading for imports: every row with its line number, or the reason it is broken.

Python's ``csv`` module reads an unclosed quote as one long field that swallows every row after
it (into a product description, say) and gives no error. Here a row whose column count differs
from the header's is reported, and so is a quoted field that spans lines which themselves look
like rows of this file: that is a quote left open, and the rows it would swallow are read again
on their own. A quote never closed before the end of the file is reported at the line it opens.
The file is streamed: only the lines of the record being read are held.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from monogram.core.errors import ValidationError


@dataclass
class BrokenRow:
    reason: str
    text: str = ""


class _Lines:
    """The file's lines by number (0-based), read on demand; lines before a mark are let go."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.first = 0  # number of self.held[0]
        self.held: list[str] = []

    def get(self, number: int) -> str | None:
        while number >= self.first + len(self.held):
            line = self.handle.readline()
            if not line:
                return None
            self.held.append(line)
        return self.held[number - self.first]

    def forget(self, before: int) -> None:
        drop = before - self.first
        if drop > 0:
            del self.held[:drop]
            self.first = before


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str] | BrokenRow]]:
    """(line number, row by header) for each record of ``path``; broken ones as ``BrokenRow``.
    A file that is not UTF-8 is a ValidationError naming where it stops being text."""
    try:
        yield from _read_csv(path)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start} of a line); "
            "save it as UTF-8 and import it again (rows before it are in)"
        ) from exc


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, str] | BrokenRow]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = _Lines(handle)
        first = lines.get(0)
        if first is None:
            return
        header = next(csv.reader([first]))
        width = len(header)
        index = 1
        while lines.get(index) is not None:
            lines.forget(index)
            start = index
            number = start + 1
            text = (lines.get(start) or "").rstrip("\r\n")
            record, index, problem = _record(lines, start)
            if problem is not None:
                if index - start > 1 and problem.startswith("malformed"):
                    problem = f"a quote opened on line {number} is not closed where its field ends"
                yield number, BrokenRow(problem, text)
                index = start + 1  # the following lines are read again as rows of their own
                continue
            if record is None:  # a blank line
                continue
            if len(record) != width:
                yield number, BrokenRow(f"{len(record)} columns where the header has {width}", text)
                continue
            spanned = index - start
            if spanned > 1 and _swallows_rows(lines, start + 1, index, width):
                last = number + spanned - 1
                reason = (
                    f"a quote opened on line {number} closes only on line {last}, taking in "
                    f"{spanned - 1} lines that look like rows of their own: close it"
                )
                yield number, BrokenRow(reason, text)
                index = start + 1
                continue
            yield number, dict(zip(header, record, strict=True))


def _record(lines: _Lines, index: int) -> tuple[list[str] | None, int, str | None]:
    """One CSV record starting at line ``index``: (fields, next index, problem)."""
    first = lines.get(index) or ""
    if not first.strip():
        return None, index + 1, None
    buffer = ""
    end = index
    while True:
        line = lines.get(end)
        if line is None:
            return None, end, "a quote opened on this line is never closed"
        buffer += line
        end += 1
        if buffer.count('"') % 2 == 0:  # quotes balanced: the record is complete
            break
    try:
        rows = list(csv.reader(io.StringIO(buffer), strict=True))
    except csv.Error as exc:
        return None, end, f"malformed CSV: {exc}"
    return (rows[0] if rows else None), end, None


def _swallows_rows(lines: _Lines, start: int, end: int, width: int) -> bool:
    """Whether lines inside a quoted field parse as rows of the file (an unclosed quote)."""
    for number in range(start, end):
        try:
            row = next(csv.reader([lines.get(number) or ""]))
        except (csv.Error, StopIteration):
            continue
        if len(row) == width and width > 1:
            return True
    return False
