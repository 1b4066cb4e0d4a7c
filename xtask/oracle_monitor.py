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

from oracle_msrest import describe

from azure.mgmt.monitor import models
from azure.mgmt.monitor.operations import _metrics_operations

PARAM = re.compile(r'_params\["([^"]+)"\]')

classes = {}
describe(models, models.Response, classes)
source = inspect.getsource(_metrics_operations.build_list_request)
query = {name: {"type": {"kind": "str"}, "required": name == "api-version", "readonly": False}
         for name in PARAM.findall(source)}
classes["MetricsListQuery"] = {"fields": query}
version = re.search(r'"api-version", "([0-9-]+)"', source).group(1)
operation = {"method": "GET", "path": "{resourceUri}/providers/Microsoft.Insights/metrics", "request": "MetricsListQuery"}

json.dump({"source": "azure-mgmt-monitor metrics models", "apiVersion": version, "classes": classes,
           "operations": [operation]}, sys.stdout, indent=1, sort_keys=True)
