"""Turn the models Microsoft generated from the Azure ML REST spec into a JSON schema the
emulator checks every request body against (ORACLE.md). Run by `cargo xtask test` with the
venv's Python; the output is a pure function of the pinned azure-ai-ml version.

Per class: every field's JSON name, its type, whether the spec requires it ([Required]:
keyword-only without a default in the generated __init__ overload) and whether it is
read-only (visibility ["read"]: a client must not send it) or write-only (never answered); for polymorphic classes, the
discriminator field and which subclass each value selects."""

import inspect
import json
import sys
import typing

import oracle_types

from azure.ai.ml._restclient.arm_ml_service import models
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model, _RestField

API_VERSION = "2025-12-01"


def type_of(hint):
    return oracle_types.type_of(hint, lambda cls: cls.__name__ if issubclass(cls, Model) else None)


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
