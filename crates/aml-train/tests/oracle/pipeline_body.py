"""The body azure-ai-ml sends for a pipeline job file, given the ids of what it creates first.

usage: pipeline_body.py FILE STEP=COMPONENT_ID... INPUT:NAME=URI... [COMPUTE=ID]
Prints `PipelineJob._to_rest_object().as_dict()` as JSON, each step's component and each
local pipeline input replaced by the given ids, as `az ml job create` does after creating them.
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

from azure.ai.ml import load_job

path, *given = sys.argv[1:]
job = load_job(path)
for item in given:
    key, value = item.split("=", 1)
    if key.startswith("INPUT:"):
        job.inputs[key[len("INPUT:"):]].path = value
    elif key == "COMPUTE":
        job.compute = value
    else:
        job.jobs[key]._component = value
print(json.dumps(job._to_rest_object().as_dict()))
