"""The body azure-ai-ml sends for a batch endpoint or model deployment file, given the ids
of what it resolves or creates first.

usage: batch_body.py FILE LOCATION KEY=ID...
with KEY one of `model`, `code`, `environment`, `compute` (a deployment's registered model,
code and environment versions and its compute, as ARM ids). Prints
`_to_rest_object(location).as_dict()` (a deployment, read by `load_model_batch_deployment`
as `az ml batch-deployment create` reads a modelBatchDeployment file) or
`_to_rest_batch_endpoint(location).as_dict()` (an endpoint) as JSON.
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import yaml
from azure.ai.ml import load_batch_endpoint
from azure.ai.ml.entities._load_functions import load_model_batch_deployment

path, location, *given = sys.argv[1:]
ids = dict(item.split("=", 1) for item in given)
with open(path) as f:
    text = yaml.safe_load(f)
if "deployment" in str(text.get("$schema", "")).lower():
    deployment = load_model_batch_deployment(path)
    if "model" in ids:
        deployment.model = ids["model"]
    if "code" in ids:
        deployment.code_configuration.code = ids["code"]
    if "environment" in ids:
        deployment.environment = ids["environment"]
    if "compute" in ids:
        deployment.compute = ids["compute"]
    body = deployment._to_rest_object(location=location)
else:
    body = load_batch_endpoint(path)._to_rest_batch_endpoint(location=location)
print(json.dumps(body.as_dict(), sort_keys=True))
