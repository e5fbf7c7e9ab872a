"""A non-editable install carries the pages: services/dashboard/static is package data."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from services.dashboard.app import STATIC

ROOT = Path(__file__).resolve().parents[3]


def test_every_static_file_is_package_data_of_the_dashboard() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["services.dashboard"]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert {"static/index.html", "static/timeline.js", "static/dashboard.css"} <= set(files)
    missing = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert missing == []
