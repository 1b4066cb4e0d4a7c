"""Train a ridge regression on the diabetes data and log its metrics with MLflow.

Standalone (job.yml) it holds out a test set and logs rmse/mae/r2 on it; in the
pipeline the evaluate step does that on prep's test set.
"""
import argparse
from pathlib import Path

import joblib
import mlflow
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import dataset

parser = argparse.ArgumentParser()
parser.add_argument("--training-data", required=True)
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--holdout", type=float, default=0.0, help="fraction held out to score the model")
parser.add_argument("--model", required=True, help="output folder")
args = parser.parse_args()

x, y = dataset.load(dataset.csv_file(args.training_data, "train.csv"))
with mlflow.start_run():
    mlflow.log_param("alpha", args.alpha)
    if args.holdout > 0:
        x, x_test, y, y_test = train_test_split(x, y, test_size=args.holdout, random_state=42)
    model = Ridge(alpha=args.alpha).fit(x, y)
    mlflow.log_metric("train_rows", len(y))
    if args.holdout > 0:
        predicted = model.predict(x_test)
        mlflow.log_metric("rmse", mean_squared_error(y_test, predicted) ** 0.5)
        mlflow.log_metric("mae", mean_absolute_error(y_test, predicted))
        mlflow.log_metric("r2", r2_score(y_test, predicted))

out = Path(args.model)
out.mkdir(parents=True, exist_ok=True)
joblib.dump(model, out / "model.pkl")
print(f"train: ridge alpha={args.alpha} on {len(y)} rows, saved {out / 'model.pkl'}")
