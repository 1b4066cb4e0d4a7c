"""The test oracle (shared/contracts/azureml/ORACLE.md): load YAML files with the loaders
`az ml` uses (azure-ai-ml) and print, per file, whether they were accepted.

Usage: python load.py job:path/to/job.yml model:path/to/model.yml ...
Prints one JSON object: {"<path>": null when accepted, else the error's first line}.
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

from azure.ai.ml import (  # noqa: E402
    load_batch_endpoint,
    load_component,
    load_job,
    load_model,
    load_online_deployment,
    load_online_endpoint,
)
# A modelBatchDeployment file is read by its own loader, as `az ml batch-deployment create` does.
from azure.ai.ml.entities._load_functions import (  # noqa: E402
    load_model_batch_deployment,
    load_pipeline_component_batch_deployment,
)

LOADERS = {
    "job": load_job,
    "model": load_model,
    "component": load_component,
    "endpoint": load_online_endpoint,
    "deployment": load_online_deployment,
    "batch-endpoint": load_batch_endpoint,
    "batch-deployment": load_model_batch_deployment,
    "pipeline-batch-deployment": load_pipeline_component_batch_deployment,
}
results = {}
for argument in sys.argv[1:]:
    kind, path = argument.split(":", 1)
    try:
        LOADERS[kind](path)
        results[path] = None
    except Exception as error:  # the loaders raise several exception types
        results[path] = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
print(json.dumps(results))
