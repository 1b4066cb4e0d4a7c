"""The scoring script for the Azure ML inference server: `init()` once, `run()` per request.

Request:  {"data": [[age, sex, bmi, bp, s1, s2, s3, s4, s5, s6], ...]}  (raw, unscaled values)
Response: [predicted disease progression, ...]

Each call's inputs and predictions go to the `model_inputs` and `model_outputs` collections
where the deployment's `data_collector` enables them (deployment-prod.yml); elsewhere the
collector says once that they are off, and scoring goes on.
"""
import json
import logging
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from azureml.ai.monitoring import Collector

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

model = None
inputs_collector = None
outputs_collector = None
reported = set()


def collection_off(error):
    if str(error) not in reported:
        reported.add(str(error))
        logging.warning("data collection: %s", error)


def init():
    global model, inputs_collector, outputs_collector
    # AZUREML_MODEL_DIR holds the registered files; look for the pickle wherever the
    # registration put it (a folder's name may or may not be part of the path).
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    path = next(root.rglob("model.pkl"), None)
    if path is None:
        raise FileNotFoundError(f"no model.pkl under {root}")
    model = joblib.load(path)
    inputs_collector = Collector(name="model_inputs", on_error=collection_off)
    outputs_collector = Collector(name="model_outputs", on_error=collection_off)


def run(raw_data):
    inputs = pd.DataFrame(json.loads(raw_data)["data"], columns=FEATURES, dtype=float)
    context = inputs_collector.collect(inputs)
    predictions = model.predict(inputs.to_numpy())
    outputs_collector.collect(pd.DataFrame({"progression": predictions}), context)
    return predictions.tolist()
