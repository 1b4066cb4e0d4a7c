"""Scores an MLflow model over files with no scoring script, as Azure ML's no-code MLflow
batch deployments do: `predict` once per file of the mini-batch (a `.csv` as a DataFrame,
typed by the model's signature when it has one; an image as an array); one result per data
point, `[file name, prediction]`, in the order of the files and of their rows. Any other file
type fails its mini-batch, as on Azure ML."""
import os
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

IMAGES = {".png", ".jpg", ".jpeg", ".tiff", ".bmp", ".gif"}

model = None
column_types = None


def _model_folder():
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    found = sorted(root.rglob("MLmodel"), key=lambda p: len(p.parts))
    if not found:
        raise FileNotFoundError(f"no MLmodel file under {root}: the model is not an MLflow model")
    return found[0].parent


def init():
    global model, column_types
    model = mlflow.pyfunc.load_model(str(_model_folder()))
    signature = model.metadata.signature if model.metadata else None
    inputs = signature.inputs if signature else None
    if inputs is not None and inputs.has_input_names() and not inputs.is_tensor_spec():
        column_types = dict(zip(inputs.input_names(), inputs.pandas_types()))


def _read(file):
    kind = Path(file).suffix.lower()
    if kind == ".csv":
        data = pd.read_csv(file)
        return data.astype(column_types) if column_types else data
    if kind in IMAGES:
        from PIL import Image

        return np.asarray(Image.open(file))
    raise ValueError(f"Error processing input file: '{file}'. File type '{kind.lstrip('.')}' is not supported.")


def _values(predictions):
    if isinstance(predictions, pd.DataFrame):
        return predictions.values.tolist() if predictions.shape[1] > 1 else predictions.iloc[:, 0].tolist()
    if hasattr(predictions, "tolist"):
        return predictions.tolist()
    return list(predictions)


def run(mini_batch):
    results = []
    for file in mini_batch:
        name = os.path.basename(file)
        results.extend([name, value] for value in _values(model.predict(_read(file))))
    return results
