"""What the oracle scripts for Microsoft's msrest-generated management SDKs share: a model class
and every model it reaches, turned into the schema format the emulator reads (schema.rs) —
each field by its JSON name, with its type from `_attribute_map` and `required` / `readonly`
from `_validation`."""

import inspect
import re

LIST = re.compile(r"^\[(.+)\]$")
DICT = re.compile(r"^\{(.+)\}$")
SCALARS = {"str": "str", "int": "int", "long": "int", "float": "number", "bool": "bool", "iso-8601": "str",
           "duration": "str", "object": "any"}


def kind(text):
    if text in SCALARS:
        return {"kind": SCALARS[text]}
    if match := LIST.match(text):
        return {"kind": "list", "item": kind(match.group(1))}
    if match := DICT.match(text):
        return {"kind": "dict", "value": kind(match.group(1))}
    return {"kind": "model", "name": text}


def describe(models, cls, classes):
    if cls.__name__ in classes:
        return
    validation = getattr(cls, "_validation", {})
    fields = {}
    classes[cls.__name__] = {"fields": fields}
    for attr, spec in cls._attribute_map.items():
        rules = validation.get(attr, {})
        field = {"type": kind(spec["type"]), "required": bool(rules.get("required")),
                 "readonly": bool(rules.get("readonly"))}
        # A flattened field (`properties.changes`) is written nested: a class of its own
        # holds what is under the first key.
        path = [part.replace("\\", "") for part in re.split(r"(?<!\\)\.", spec["key"])]
        target = fields
        for depth, part in enumerate(path[:-1]):
            synthetic = f"{cls.__name__}.{'.'.join(path[:depth + 1])}"
            if part not in target:
                target[part] = {"type": {"kind": "model", "name": synthetic}, "required": False, "readonly": False}
                classes[synthetic] = {"fields": {}}
            target[part]["required"] |= field["required"]
            target = classes[target[part]["type"]["name"]]["fields"]
        target[path[-1]] = field
        nested = getattr(models, re.sub(r"[\[\]{}]", "", spec["type"]), None)
        if inspect.isclass(nested):
            describe(models, nested, classes)
