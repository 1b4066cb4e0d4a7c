"""Score the prepared patients with the model: `predictions.csv` with `file`, `row` and the
predicted `progression`, one line per patient in the prepared order."""
import argparse
from pathlib import Path

import joblib
import pandas as pd

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

parser = argparse.ArgumentParser()
parser.add_argument("--prepared", required=True, help="input folder")
parser.add_argument("--model", required=True, help="the model's folder")
parser.add_argument("--scores", required=True, help="output folder")
args = parser.parse_args()

model_file = next(Path(args.model).rglob("model.pkl"), None)
if model_file is None:
    raise SystemExit(f"no model.pkl under {args.model}")
model = joblib.load(model_file)
patients = pd.read_csv(Path(args.prepared) / "patients.csv")
scores = patients[["file", "row"]].assign(progression=model.predict(patients[FEATURES].to_numpy(dtype=float)))
Path(args.scores).mkdir(parents=True, exist_ok=True)
scores.to_csv(Path(args.scores) / "predictions.csv", index=False)
print(f"score: {len(scores)} predictions")
