"""The body azure-ai-ml sends for an online endpoint or deployment file, given the ids of
what it resolves or creates first.

usage: online_body.py FILE LOCATION KEY=ID...
with KEY one of `compute` (an endpoint's compute, as its ARM id), `model`, `code`,
`environment` (a deployment's registered model, code and environment versions), or
`data:COLLECTION` (the data asset `_register_collection_data_assets` registered for a
collection of the deployment's `data_collector`, as its ARM id, which it sets). Prints
`_to_rest_object(location).as_dict()` (a deployment) or `_to_rest_online_endpoint(location)`
(an endpoint) as JSON, as `az ml online-endpoint|online-deployment create` sends it.
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import yaml
from azure.ai.ml import load_online_deployment, load_online_endpoint

path, location, *given = sys.argv[1:]
ids = dict(item.split("=", 1) for item in given)
with open(path) as f:
    text = yaml.safe_load(f)
if "endpoint_name" in text or "deployment" in str(text.get("$schema", "")).lower():
    deployment = load_online_deployment(path)
    if "model" in ids:
        deployment.model = ids["model"]
    if "code" in ids:
        deployment.code_configuration.code = ids["code"]
    if "environment" in ids:
        deployment.environment = ids["environment"]
    for key, value in ids.items():
        if key.startswith("data:"):
            deployment.data_collector.collections[key[len("data:"):]].data = value
    body = deployment._to_rest_object(location=location)
else:
    endpoint = load_online_endpoint(path)
    body = endpoint._to_rest_online_endpoint(location=location)
    if "compute" in ids:
        body.properties.compute = ids["compute"]
print(json.dumps(body.as_dict(), sort_keys=True))
