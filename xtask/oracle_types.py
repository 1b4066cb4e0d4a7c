"""Python type hints → the emulator's schema kinds, shared by the two oracle scripts
(oracle_schema.py for azure-ai-ml, oracle_databricks.py for databricks-sdk); each says which
classes are models of its SDK and how a model is named."""

import datetime
import enum
import inspect
import typing

SCALARS = {bool: "bool", int: "int", float: "number", str: "str", datetime.datetime: "str", datetime.timedelta: "str", datetime.date: "str"}


def enum_kind(cls):
    return {"kind": "enum", "name": cls.__name__, "values": sorted(m.value for m in cls)}


def type_of(hint, model_name):
    """`model_name(cls)` is the schema name of a model class of the SDK, or None."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin is typing.Union:
        enums = [a for a in args if inspect.isclass(a) and issubclass(a, enum.Enum)]
        if enums:
            return enum_kind(enums[0])
        return type_of(args[0], model_name) if len(args) == 1 else {"kind": "any"}
    if origin in (list, typing.List):
        return {"kind": "list", "item": type_of(args[0], model_name) if args else {"kind": "any"}}
    if origin in (dict, typing.Dict):
        return {"kind": "dict", "value": type_of(args[1], model_name) if len(args) > 1 else {"kind": "any"}}
    if inspect.isclass(hint):
        name = model_name(hint)
        if name:
            return {"kind": "model", "name": name}
        if issubclass(hint, enum.Enum):
            return enum_kind(hint)
        if hint in SCALARS:
            return {"kind": SCALARS[hint]}
    return {"kind": "any"}
