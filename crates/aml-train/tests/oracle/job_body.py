"""The body azure-ai-ml sends for a job file, given the ids of what it creates first.

usage: job_body.py FILE KEY=ID...
with KEY one of `compute`, `inputs.NAME` (an uploaded input's URI), `jobs.STEP` (a step's
component), `task.STEP.code`, `task.STEP.environment` (a parallel step's, which its node
repeats), `trial.code`, `trial.environment` (a sweep's). Prints the job's
`_to_rest_object().as_dict()` as JSON, as `az ml job create` sends it after creating those.
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
    kind, _, name = key.partition(".")
    if kind == "compute":
        job.compute = value
    elif kind == "inputs":
        job.inputs[name].path = value
    elif kind == "jobs":
        job.jobs[name]._component = value
    elif kind == "task":
        step, _, field = name.partition(".")
        setattr(job.jobs[step].task, field, value)
    elif kind == "trial":
        setattr(job.trial, name, value)
    else:
        sys.exit(f"unknown key {key}")
print(json.dumps(job._to_rest_object().as_dict()))
