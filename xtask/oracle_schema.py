"""Turn the models Microsoft generated from the Azure ML REST spec into a JSON schema the
emulator checks every request body against (ORACLE.md). Run by `cargo xtask test` with the
venv's Python; the output is a pure function of the pinned azure-ai-ml version.

Per class: every field's JSON name, its type, whether the spec requires it ([Required]:
keyword-only without a default in the generated __init__ overload) and whether it is
read-only (visibility ["read"]: a client must not send it) or write-only (never answered); for polymorphic classes, the
discriminator field and which subclass each value selects."""

import enum
import inspect
import json
import sys
import typing

from azure.ai.ml._restclient.arm_ml_service import models
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model, _RestField
import datetime

API_VERSION = "2025-12-01"


def type_of(hint):
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin is typing.Union:
        enums = [a for a in args if inspect.isclass(a) and issubclass(a, enum.Enum)]
        if enums:
            return {"kind": "enum", "name": enums[0].__name__, "values": sorted(m.value for m in enums[0])}
        if len(args) == 1:
            return type_of(args[0])
        return {"kind": "any"}
    if origin in (list, typing.List):
        return {"kind": "list", "item": type_of(args[0])}
    if origin in (dict, typing.Dict):
        return {"kind": "dict", "value": type_of(args[1])}
    if inspect.isclass(hint):
        if issubclass(hint, Model):
            return {"kind": "model", "name": hint.__name__}
        if issubclass(hint, enum.Enum):
            return {"kind": "enum", "name": hint.__name__, "values": sorted(m.value for m in hint)}
        if hint is bool:
            return {"kind": "bool"}
        if hint is int:
            return {"kind": "int"}
        if hint is float:
            return {"kind": "number"}
        if hint is str:
            return {"kind": "str"}
        if hint in (datetime.datetime, datetime.timedelta, datetime.date):
            return {"kind": "str"}
    return {"kind": "any"}


def required_fields(cls):
    try:
        overloads = typing.get_overloads(cls.__init__)
    except Exception:
        overloads = []
    for overload in overloads:
        params = inspect.signature(overload).parameters
        if "mapping" in params:
            continue
        return {name for name, p in params.items() if p.kind is p.KEYWORD_ONLY and p.default is p.empty}
    return set()


def describe(cls):
    hints = typing.get_type_hints(cls, globalns=vars(models._models), localns={"_models": models})
    fields = {}
    discriminator = None
    required = required_fields(cls)
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if not isinstance(value, _RestField):
                continue
            name = value._rest_name_input or attr
            visibility = value._visibility or []
            if value._is_discriminator:
                discriminator = name
            fields[name] = {
                "type": type_of(hints.get(attr, typing.Any)),
                "required": attr in required,
                "readonly": visibility == ["read"],
                # Secrets are sent, never returned: not required in an answer.
                "writeonly": bool(visibility) and "read" not in visibility,
            }
    entry = {"fields": fields}
    if discriminator:
        # Only the polymorphic base owns the table of which value selects which subclass.
        mapping = vars(cls).get("__mapping__")
        if mapping is not None:
            entry["discriminator"] = {"field": discriminator, "values": {k: v.__name__ for k, v in mapping.items()}}
    return entry


classes = {}
for name, cls in vars(models).items():
    if inspect.isclass(cls) and issubclass(cls, Model) and cls is not Model:
        classes[name] = describe(cls)

json.dump({"source": "azure-ai-ml arm_ml_service models", "apiVersion": API_VERSION, "classes": classes}, sys.stdout, indent=1, sort_keys=True)
