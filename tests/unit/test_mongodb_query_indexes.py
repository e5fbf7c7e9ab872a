"""Every filter a repository sends has its MongoDB index declared, and nothing more.

Reads each `services/*/adapters/repositories.py`: every `self._find(...)`,
`self._find_page(...)` and `self._find_due("<field>", ...)` call, its keyword fields, and the fields of a `**dict` it passes
(keys of the dict literal it starts as are always there; keys added later, or in only
one branch of a conditional, may be). Each combination is a shape the store must serve
from an index (`shared/store/mongodb_indexes.py`).
"""

from __future__ import annotations

import ast
import importlib
from itertools import chain, combinations
from pathlib import Path

from shared.store.mongodb_indexes import SERVICE_QUERY_INDEXES

REPO = Path(__file__).resolve().parents[2]
FINDERS = {"_find", "_find_page", "_find_due"}
NOT_FIELDS = {"descending"}

Shape = tuple[str, str, frozenset[str]]  # service, collection, fields


def _dict_fields(func: ast.AST) -> dict[str, tuple[set[str], set[str]]]:
    """name -> (always there, maybe there) for the dicts a function builds."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            found[target.id] = ({k.value for k in value.keys if isinstance(k, ast.Constant)}, set())
        elif isinstance(target, ast.Name) and isinstance(value, ast.IfExp):
            keys = {
                k.value
                for branch in (value.body, value.orelse)
                if isinstance(branch, ast.Dict)
                for k in branch.keys
                if isinstance(k, ast.Constant)
            }
            found[target.id] = (set(), keys)
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and target.value.id in found
        ):
            found[target.value.id][1].add(target.slice.value)
    return found


def _shapes_of_call(
    call: ast.Call, dicts: dict[str, tuple[set[str], set[str]]]
) -> set[frozenset[str]]:
    if isinstance(call.func, ast.Attribute) and call.func.attr == "_find_due":
        field = call.args[0]  # `_find_due("<field>", until, limit)`: a range on one field
        assert isinstance(field, ast.Constant), ast.unparse(call)
        return {frozenset({field.value})}
    always = {kw.arg for kw in call.keywords if kw.arg and kw.arg not in NOT_FIELDS}
    maybe: set[str] = set()
    for kw in call.keywords:
        if kw.arg is None:
            assert isinstance(kw.value, ast.Name), ast.unparse(call)
            assert kw.value.id in dicts, f"cannot read the fields of {ast.unparse(call)}"
            more_always, more_maybe = dicts[kw.value.id]
            always |= more_always
            maybe |= more_maybe
    subsets = chain.from_iterable(combinations(sorted(maybe), n) for n in range(len(maybe) + 1))
    return {frozenset(always | set(subset)) for subset in subsets}


def repository_shapes() -> set[Shape]:
    shapes: set[Shape] = set()
    for path in sorted(REPO.glob("services/*/adapters/repositories.py")):
        service = path.parts[-3]
        module = importlib.import_module(f"services.{service}.adapters.repositories")
        for cls in ast.parse(path.read_text()).body:
            if not isinstance(cls, ast.ClassDef):
                continue
            model = getattr(getattr(module, cls.name), "model", None)
            if model is None:
                continue
            for func in cls.body:
                dicts = _dict_fields(func)
                for node in ast.walk(func):
                    is_finder = (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in FINDERS
                    )
                    if is_finder:
                        for fields in _shapes_of_call(node, dicts):
                            shapes.add((service, model.COLLECTION, fields))
    return shapes


def declared_shapes() -> set[Shape]:
    return {
        (service, index.collection, frozenset(index.fields))
        for service, indexes in SERVICE_QUERY_INDEXES.items()
        for index in indexes
    }


def test_the_reader_finds_the_finders_it_should() -> None:
    shapes = repository_shapes()
    assert ("billing", "invoices", frozenset({"csp_partner_id", "customer_id"})) in shapes
    assert ("ordering", "subscriptions", frozenset({"customer_id"})) in shapes
    assert ("ordering", "subscriptions", frozenset({"customer_id", "status"})) in shapes


def test_every_filter_a_repository_sends_has_a_declared_index() -> None:
    missing = repository_shapes() - declared_shapes()
    assert not missing, f"declare these in shared/store/mongodb_indexes.py: {sorted(missing)}"


def test_no_index_is_declared_for_a_filter_nobody_sends() -> None:
    stale = declared_shapes() - repository_shapes()
    assert not stale, f"no repository filters like this any more: {sorted(stale)}"
