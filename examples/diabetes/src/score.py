"""The scoring script for the Azure ML inference server: `init()` once, `run()` per request.

Request:  {"data": [[age, sex, bmi, bp, s1, s2, s3, s4, s5, s6], ...]}  (raw, unscaled values)
Response: [predicted disease progression, ...]
"""
import json
import os
from pathlib import Path

import joblib
import numpy as np

model = None


def init():
    global model
    # AZUREML_MODEL_DIR holds the registered files; look for the pickle wherever the
    # registration put it (a folder's name may or may not be part of the path).
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    path = next(root.rglob("model.pkl"), None)
    if path is None:
        raise FileNotFoundError(f"no model.pkl under {root}")
    model = joblib.load(path)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return model.predict(np.array(rows, dtype=float)).tolist()
