"""Score the trained model on the test set and log rmse/mae/r2 with MLflow."""
import argparse
from pathlib import Path

import joblib
import mlflow
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import dataset

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--test-data", required=True)
args = parser.parse_args()

model = joblib.load(Path(args.model) / "model.pkl")
x, y = dataset.load(dataset.csv_file(args.test_data, "test.csv"))
predicted = model.predict(x)
with mlflow.start_run():
    mlflow.log_metric("rmse", mean_squared_error(y, predicted) ** 0.5)
    mlflow.log_metric("mae", mean_absolute_error(y, predicted))
    mlflow.log_metric("r2", r2_score(y, predicted))
print(f"evaluate: scored {len(y)} test rows")
