"""Turn Databricks' published Python SDK (databricks-sdk, generated from Databricks' own API
spec) into the JSON schema the emulator holds Databricks requests to, in the format
oracle_schema.py writes for Azure ML. Run by `cargo xtask test` with the venv's Python; the
output is a pure function of the pinned databricks-sdk version.

Two kinds of class:
- every dataclass of the services we speak (jobs, compute, files, ml, workspace), named
  `<service>.<class>` (both jobs and ml have a `Run`): its fields are its
  JSON names (`as_dict` uses them unchanged); a field without a default is required;
- one per API method, named `<service>.<API class>.<method>`: its keyword parameters are the request
  body's fields (a GET's query parameters); `operations` lists each method's HTTP verb and
  path, read from the `self._api.do(...)` call the SDK makes, so a route the SDK does not
  know is a violation too."""

import dataclasses
import importlib
import inspect
import json
import re
import sys
import typing

import databricks.sdk
import oracle_types
from databricks.sdk.version import __version__

SERVICES = ["jobs", "compute", "files", "ml", "workspace"]
ALL_SERVICES = ["jobs", "compute", "files", "ml", "workspace", "iam", "catalog", "sql", "pipelines", "dashboards", "serving", "settings", "apps", "database", "environments"]
DO_CALL = re.compile(r'_api\.do\(\s*"([A-Z]+)",\s*(f?)"([^"]+)"')


def qualified(cls):
    """`jobs.Run`, `ml.Run`: names repeat across services."""
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


def type_of(hint):
    return oracle_types.type_of(hint, lambda cls: qualified(cls) if dataclasses.is_dataclass(cls) else None)


def field(hint, required):
    return {"type": type_of(hint), "required": required, "readonly": False}


def namespace(module):
    # Cross-service references (`compute.Library` in jobs) are imported lazily by the SDK.
    names = dict(vars(module))
    for service in ALL_SERVICES:
        if names.get(service) is None:
            names[service] = importlib.import_module(f"databricks.sdk.service.{service}")
    return names


def describe_dataclass(cls, module):
    names = namespace(module)
    # localns too: a field named like a module (`compute`) would shadow it in the class body.
    hints = typing.get_type_hints(cls, globalns=names, localns=names)
    fields = {}
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields[f.name] = field(hints.get(f.name, typing.Any), required)
    return {"fields": fields}


def describe_method(method, module):
    hints = typing.get_type_hints(method, globalns=namespace(module))
    source = inspect.getsource(method)
    call = DO_CALL.search(source)
    if not call:
        return None, None
    verb, is_format, path = call.groups()
    # `f"/api/2.0/fs/files{_escape_multi_segment_path_parameter(file_path)}"` -> `{file_path}`
    in_path = set()
    def placeholder(match):
        inner = match.group(1)
        name = re.sub(r"^_escape_multi_segment_path_parameter\((\w+)\)$", r"\1", inner)
        in_path.add(name)
        return "{" + name + "}"
    if is_format:
        path = re.sub(r"\{([^}]+)\}", placeholder, path)
    fields = {}
    for name, parameter in inspect.signature(method).parameters.items():
        if name == "self" or name in in_path or parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            continue
        # The raw body of an upload, not a JSON field.
        if name == "contents" and "data=contents" in source:
            continue
        fields[name] = field(hints.get(name, typing.Any), parameter.default is parameter.empty)
    return {"fields": fields}, {"method": verb, "path": path}


classes = {}
operations = []
for service in SERVICES:
    module = importlib.import_module(f"databricks.sdk.service.{service}")
    for name, cls in vars(module).items():
        if not inspect.isclass(cls) or cls.__module__ != module.__name__:
            continue
        if dataclasses.is_dataclass(cls):
            classes[qualified(cls)] = describe_dataclass(cls, module)
        elif name.endswith("API"):
            for method_name, method in vars(cls).items():
                if method_name.startswith("_") or not inspect.isfunction(method):
                    continue
                request, operation = describe_method(method, module)
                if request is None:
                    continue
                class_name = f"{qualified(cls)}.{method_name}"
                classes[class_name] = request
                operations.append({**operation, "request": class_name})

json.dump(
    {"source": "databricks-sdk service dataclasses and API methods", "apiVersion": f"databricks-sdk {__version__}", "classes": classes, "operations": sorted(operations, key=lambda o: (o["path"], o["method"]))},
    sys.stdout,
    indent=1,
    sort_keys=True,
)
