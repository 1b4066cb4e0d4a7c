"""The body azure-ai-ml sends for a command component file, given the ids of what it creates first.

usage: component_body.py FILE code=ID environment=ID version=V
Prints the component's `_to_rest_object().as_dict()` as JSON, as `az ml component create`
sends it after uploading the code and creating the environment (either id may be left out
when the component has none of its own; `version` is the one the registration takes).
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

from azure.ai.ml import load_component

path, *given = sys.argv[1:]
component = load_component(path)
for item in given:
    key, value = item.split("=", 1)
    if key == "code":
        component.code = value
    elif key == "environment":
        component.environment = value
    elif key == "version":
        component.version = value
    else:
        sys.exit(f"unknown key {key}")
print(json.dumps(component._to_rest_object().as_dict()))
