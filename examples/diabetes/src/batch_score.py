"""The batch scoring script: `init()` once per worker, `run(mini_batch)` per mini-batch.

Each file of the input is a CSV of patients with the ten baseline measurements (raw values,
the columns of data/diabetes.csv without `target`). `run` returns one row per patient, in the
order of the files and of their rows: the file's name, the row's index in it, and the
predicted disease progression. With `output_action: append_row` they become the lines of
the job's `score` output (`predictions.csv`, space-separated, as Azure ML writes it).
"""
import logging
import os
from pathlib import Path

import joblib
import pandas as pd

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

model = None


def init():
    global model
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    path = next(root.rglob("model.pkl"), None)
    if path is None:
        raise FileNotFoundError(f"no model.pkl under {root}")
    model = joblib.load(path)
    logging.info("batch scoring: model loaded from %s", path)


def run(mini_batch):
    scored = []
    for file in mini_batch:
        patients = pd.read_csv(file)
        missing = [column for column in FEATURES if column not in patients.columns]
        if missing:
            raise ValueError(f"{os.path.basename(file)} has no column(s) {', '.join(missing)}")
        predictions = model.predict(patients[FEATURES].to_numpy(dtype=float))
        scored.append(
            pd.DataFrame({"file": os.path.basename(file), "row": range(len(patients)), "progression": predictions})
        )
    logging.info("batch scoring: %d file(s), %d row(s)", len(mini_batch), sum(len(s) for s in scored))
    return pd.concat(scored, ignore_index=True)
