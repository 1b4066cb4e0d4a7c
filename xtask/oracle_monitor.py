"""Turn the Azure Monitor metrics models Microsoft generated (azure-mgmt-monitor) into the JSON
schema the emulator holds its Microsoft.Insights answers and queries to, in the format
oracle_schema.py writes for Azure ML. Run by `cargo xtask test` with the venv's Python; the
output is a pure function of the pinned azure-mgmt-monitor version.

Classes: `Response` and every model it reaches, from each model's `_attribute_map` (JSON name
and type) and `_validation` (required, read-only). One operation: the metrics list on a
resource, whose query parameters (read from the SDK's request builder, `_params["…"]`) are
the fields of a class of their own, so a query parameter the SDK never sends is a violation."""

import inspect
import json
import re
import sys

from azure.mgmt.monitor import models
from azure.mgmt.monitor.operations import _metrics_operations

PARAM = re.compile(r'_params\["([^"]+)"\]')
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


def describe(cls, classes):
    if cls.__name__ in classes:
        return
    validation = getattr(cls, "_validation", {})
    fields = {}
    classes[cls.__name__] = {"fields": fields}
    for attr, spec in cls._attribute_map.items():
        rules = validation.get(attr, {})
        fields[spec["key"]] = {
            "type": kind(spec["type"]),
            "required": bool(rules.get("required")),
            "readonly": bool(rules.get("readonly")),
        }
        nested = getattr(models, spec["type"].strip("[]{}"), None)
        if inspect.isclass(nested):
            describe(nested, classes)


classes = {}
describe(models.Response, classes)
source = inspect.getsource(_metrics_operations.build_list_request)
query = {name: {"type": {"kind": "str"}, "required": name == "api-version", "readonly": False}
         for name in PARAM.findall(source)}
classes["MetricsListQuery"] = {"fields": query}
version = re.search(r'"api-version", "([0-9-]+)"', source).group(1)
operation = {"method": "GET", "path": "{resourceUri}/providers/Microsoft.Insights/metrics", "request": "MetricsListQuery"}

json.dump({"source": "azure-mgmt-monitor metrics models", "apiVersion": version, "classes": classes,
           "operations": [operation]}, sys.stdout, indent=1, sort_keys=True)
