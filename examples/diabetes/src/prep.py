"""Split the raw diabetes data into a training and a test set (a fixed seed: reproducible)."""
import argparse
from pathlib import Path

from sklearn.model_selection import train_test_split

import dataset

parser = argparse.ArgumentParser()
parser.add_argument("--raw-data", required=True)
parser.add_argument("--test-fraction", type=float, default=0.2)
parser.add_argument("--train-data", required=True, help="output folder")
parser.add_argument("--test-data", required=True, help="output folder")
args = parser.parse_args()

x, y = dataset.load(dataset.csv_file(args.raw_data, "diabetes.csv"))
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=args.test_fraction, random_state=42)
dataset.save(Path(args.train_data) / "train.csv", x_train, y_train)
dataset.save(Path(args.test_data) / "test.csv", x_test, y_test)
print(f"prep: {len(y_train)} training rows, {len(y_test)} test rows")
