"""A tiny OpenAPI 3 schema checker for the conformance tests (no jsonschema installed).

Covers what saasapi.v2.json uses: $ref, type, required, enum, properties, items and
the formats uuid / date-time / uri / email / int32 / int64. Returns a list of
problems (empty = valid) so a failing test shows every mismatch at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_INT_RANGES = {"int32": 2**31, "int64": 2**63}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref; sibling keys (the spec puts `type` next to some $refs) are kept."""
    while "$ref" in schema:
        target: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]


def check(
    spec: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    where: str = "$",
    *,
    strict: bool = True,
) -> list[str]:
    """`strict`: also report object properties the schema does not declare."""
    schema = resolve(spec, schema)
    kind = schema.get("type")
    if kind is not None:
        allowed = _TYPES[kind]
        if not isinstance(value, allowed) or (kind != "boolean" and isinstance(value, bool)):
            return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    problems += _format(schema.get("format"), value, where)
    if isinstance(value, dict):
        problems += _object(spec, schema, value, where, strict)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check(spec, schema["items"], item, f"{where}[{i}]", strict=strict)
    return problems


def _object(
    spec: dict[str, Any], schema: dict[str, Any], value: dict[str, Any], where: str, strict: bool
) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    problems = [
        f"{where}: missing required {name!r}"
        for name in schema.get("required", [])
        if name not in value
    ]
    for name, item in value.items():
        if name in properties:
            problems += check(spec, properties[name], item, f"{where}.{name}", strict=strict)
        elif strict and properties:
            problems.append(f"{where}: {name!r} is not a property of the schema")
    return problems


def _format(fmt: str | None, value: Any, where: str) -> list[str]:
    try:
        if fmt == "uuid" and isinstance(value, str):
            uuid.UUID(value)
        elif fmt == "date-time" and isinstance(value, str):
            if datetime.fromisoformat(value).tzinfo is None:
                return [f"{where}: date-time {value!r} has no UTC offset"]
        elif fmt == "uri" and isinstance(value, str):
            if not urlsplit(value).scheme:
                return [f"{where}: {value!r} is not an absolute URI"]
        elif fmt == "email" and isinstance(value, str):
            if "@" not in value:
                return [f"{where}: {value!r} is not an email address"]
        elif (
            fmt in _INT_RANGES
            and isinstance(value, int)
            and not -_INT_RANGES[fmt] <= value < _INT_RANGES[fmt]
        ):
            return [f"{where}: {value} out of {fmt} range"]
    except ValueError:
        return [f"{where}: {value!r} is not a valid {fmt}"]
    return []
