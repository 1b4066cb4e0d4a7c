"""Serves an MLflow model with no scoring script, as Azure ML's no-code MLflow deployments do.

Requests, as Azure ML takes them:
  {"input_data": {"columns": [...], "index": [...], "data": [[...], ...]}}   a DataFrame, split
  {"input_data": [[...], ...]} or {"input_data": {"name": [...], ...}}        tensors
  an optional "params": {...} passed to predict when the model takes params
Response: the predictions as JSON (a list, or a mapping of lists).
"""
import json
import os
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

model = None


def _model_folder():
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    found = sorted(root.rglob("MLmodel"), key=lambda p: len(p.parts))
    if not found:
        raise FileNotFoundError(f"no MLmodel file under {root}: the model is not an MLflow model")
    return found[0].parent


def init():
    global model
    model = mlflow.pyfunc.load_model(str(_model_folder()))


def _input(data):
    if isinstance(data, dict) and "data" in data and ("columns" in data or "index" in data):
        return pd.DataFrame(data=data["data"], columns=data.get("columns"), index=data.get("index"))
    if isinstance(data, dict):
        return {name: np.asarray(values) for name, values in data.items()}
    return np.asarray(data)


def _output(result):
    if isinstance(result, np.generic):
        return result.item()
    if isinstance(result, (list, tuple)):
        return [_output(item) for item in result]
    if isinstance(result, pd.DataFrame):
        return result.to_dict(orient="records")
    if isinstance(result, pd.Series):
        return result.tolist()
    if isinstance(result, np.ndarray):
        return result.tolist()
    if isinstance(result, dict):
        return {k: _output(v) for k, v in result.items()}
    return result


def run(raw_data):
    body = json.loads(raw_data)
    if not isinstance(body, dict) or "input_data" not in body:
        raise ValueError('the request body must be a JSON object with "input_data"')
    params = body.get("params")
    data = _input(body["input_data"])
    result = model.predict(data, params=params) if params else model.predict(data)
    return _output(result)
