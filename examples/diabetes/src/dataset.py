"""Reading the diabetes CSV without pandas: the header names the columns, `target` is y."""
import csv
from pathlib import Path

import numpy as np

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def csv_file(path: str, name: str) -> Path:
    """A uri_file input is the file itself; a uri_folder input holds `name`."""
    p = Path(path)
    return p / name if p.is_dir() else p


def load(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in FEATURES] for r in rows])
    y = np.array([float(r["target"]) for r in rows])
    return x, y


def save(path: Path, x, y) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FEATURES + ["target"])
        for row, target in zip(x, y):
            w.writerow([f"{v:g}" for v in row] + [f"{target:g}"])
