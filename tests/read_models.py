"""Check that a read model's value is what its type says, key by key (#17)."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict


def misfits(value: Any, hint: Any, path: str = "") -> list[str]:
    """What in ``value`` does not fit ``hint`` (a TypedDict, list, dict, union or class):
    missing or extra keys, values of another type; empty when it all fits."""
    if hint is Any:
        return []
    origin = get_origin(hint)
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{path or '.'}: {type(value).__name__}, not a dict"]
        fields = get_type_hints(hint)
        problems = (
            [f"{path}: keys {sorted(set(value) ^ set(fields))}"]
            if set(value) != set(fields)
            else []
        )
        for key, field in fields.items():
            if key in value:
                problems += misfits(value[key], field, f"{path}[{key!r}]")
        return problems
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        return [
            p
            for i, item in enumerate(value)
            for p in misfits(item, get_args(hint)[0], f"{path}[{i}]")
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a dict"]
        key_hint, value_hint = get_args(hint)
        return [
            p
            for key, item in value.items()
            for p in misfits(key, key_hint, f"{path} key")
            + misfits(item, value_hint, f"{path}[{key!r}]")
        ]
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if any(not misfits(value, option, path) for option in options):
            return []
        return [f"{path}: {value!r} fits none of {hint}"]
    if hint is type(None):
        return [] if value is None else [f"{path}: {value!r}, not None"]
    if hint is float:
        return (
            []
            if isinstance(value, int | float) and not isinstance(value, bool)
            else [f"{path}: {value!r}, not a float"]
        )
    if hint is int:
        return (
            []
            if isinstance(value, int) and not isinstance(value, bool)
            else [f"{path}: {value!r}, not an int"]
        )
    if hint is dt.date:
        return [] if type(value) is dt.date else [f"{path}: {value!r}, not a date"]
    if isinstance(hint, type):
        return [] if isinstance(value, hint) else [f"{path}: {value!r}, not a {hint.__name__}"]
    return [f"{path}: cannot check {hint}"]
