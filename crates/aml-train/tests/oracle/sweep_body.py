"""The body azure-ai-ml sends for a sweep job file, given the ids of what it would create first.

usage: sweep_body.py FILE CODE_ID ENVIRONMENT_ID COMPUTE_ID INPUT=URI...
Prints `SweepJob._to_rest_object().as_dict()` as JSON, with the trial's code and environment,
the compute and each local input replaced by the given ids, as `az ml job create` does after
uploading them.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
import logging

logging.disable(logging.WARNING)

from azure.ai.ml import load_job

path, code, environment, compute, *uploads = sys.argv[1:]
job = load_job(path)
job.trial.code = code
job.trial.environment = environment
job.compute = compute
for upload in uploads:
    name, uri = upload.split("=", 1)
    job.inputs[name].path = uri
print(json.dumps(job._to_rest_object().as_dict()))
