"""Figures of a run, written into a file between two markers.

`<!-- NAME:begin -->` ... `<!-- NAME:end -->`: everything between is replaced, the rest
of the file is left byte for byte. A file without both markers is refused, not guessed at.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_between(path: Path, name: str, markdown: str) -> None:
    begin_marker, end_marker = markers(name)
    text = path.read_text(encoding="utf-8")
    head, begin, rest = text.partition(begin_marker)
    _, end, tail = rest.partition(end_marker)
    if not begin or not end:
        raise ValueError(
            f"{path} has no {begin_marker} ... {end_marker} section to write the figures into"
        )
    path.write_text(f"{head}{begin_marker}\n{markdown}\n{end_marker}{tail}", encoding="utf-8")
