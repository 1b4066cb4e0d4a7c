"""Gather a folder of patients' CSV files into one table to score: the ten measurements of
every patient, in the order of the files (by name) and of their rows, with where each came
from. A file without the measurements fails the step, naming it."""
import argparse
from pathlib import Path

import pandas as pd

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

parser = argparse.ArgumentParser()
parser.add_argument("--patients", required=True, help="input folder of CSV files")
parser.add_argument("--prepared", required=True, help="output folder")
args = parser.parse_args()

tables = []
for file in sorted(Path(args.patients).rglob("*.csv")):
    patients = pd.read_csv(file)
    missing = [column for column in FEATURES if column not in patients.columns]
    if missing:
        raise SystemExit(f"{file.name} has no column(s) {', '.join(missing)}")
    tables.append(patients[FEATURES].assign(file=file.name, row=range(len(patients))))
prepared = pd.concat(tables, ignore_index=True)
Path(args.prepared).mkdir(parents=True, exist_ok=True)
prepared.to_csv(Path(args.prepared) / "patients.csv", index=False)
print(f"prep: {len(prepared)} patients from {len(tables)} file(s)")
