"""Goldens for train/metrics: reference values from scikit-learn (numpy + sklearn.metrics).

Needs Debian's python3-sklearn (apt-get install -y python3-sklearn). Inputs are drawn once,
stored as float32 (or int64 class ids), and scikit-learn sees exactly those stored values
(widened to float64). Each case holds "pred" and "target" plus one role per metric
(0-d for scalars, 1-d per-class vectors, int64 [C, C] for the confusion matrix).

Forge takes (pred, target); scikit-learn takes (y_true, y_pred): the swap happens here.
"""
import numpy as np
import sklearn.metrics as skm
import torch

from golden_io import Family


def f64(a):
    """float32 storage, float64 arithmetic: what the C++ side reads back."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def t(value):
    a = np.asarray(value)
    if a.dtype.kind in "iu":
        return torch.from_numpy(a.astype(np.int64))
    return torch.from_numpy(a.astype(np.float64))


def classification(pred_ids, y, labels):
    """Metrics that depend only on class ids, for averages macro/micro (+ per class)."""
    out = {"accuracy": skm.accuracy_score(y, pred_ids),
           "confusion": skm.confusion_matrix(y, pred_ids, labels=labels).astype(np.int64)}
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        for average in ("macro", "micro"):
            out[f"{name}_{average}"] = fn(y, pred_ids, average=average, zero_division=0)
        out[f"{name}_per_class"] = fn(y, pred_ids, average=None, labels=labels, zero_division=0)
    return out


def binary_extras(pred_ids, y, scores):
    out = {"roc_auc": skm.roc_auc_score(y, scores)}
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        out[f"{name}_binary"] = fn(y, pred_ids, average="binary", zero_division=0)
    return out


def add(f, case, pred, target, results, args=None):
    tensors = {"pred": t(pred), "target": t(target)}
    tensors.update({k: t(v) for k, v in results.items()})
    f.add(case, tensors, args)


def build():
    f = Family("metrics")
    rng = np.random.default_rng(20240601)

    # Multi-class logits [40, 5]; top-k from the scores.
    logits = f64(rng.normal(size=(40, 5)))
    y = rng.integers(0, 5, size=40)
    res = classification(logits.argmax(1), y, list(range(5)))
    for k in (1, 2, 3):
        res[f"top_{k}_accuracy"] = skm.top_k_accuracy_score(y, logits, k=k, labels=list(range(5)))
    add(f, "multiclass", logits, y, res)

    # Class 5 never occurs (not a target, never the argmax): macro averages over the 5 present
    # classes only, while per-class vectors (labels=0..5) hold 0 for it. Class 4 is predicted
    # but never a target (recall's zero division).
    logits = f64(rng.normal(size=(30, 6)))
    logits[:, 5] = -10.0
    y = rng.integers(0, 4, size=30)
    logits[0, 4] = 10.0
    add(f, "multiclass_absent", logits, y, classification(logits.argmax(1), y, list(range(6))))

    # Binary probabilities [50] thresholded at 0.5 (class 1 when > 0.5).
    probs = f64(rng.uniform(size=50))
    y = rng.integers(0, 2, size=50)
    pred_ids = (probs > 0.5).astype(np.int64)
    res = classification(pred_ids, y, [0, 1])
    res.update(binary_extras(pred_ids, y, probs))
    add(f, "binary", probs, y, res)

    # Scores on a 0.1 grid (many ties) and float 0/1 targets: ROC AUC with grouped ties.
    scores = f64(np.round(rng.uniform(size=60) * 10) / 10)
    y = rng.integers(0, 2, size=60)
    pred_ids = (scores > 0.5).astype(np.int64)
    res = classification(pred_ids, y, [0, 1])
    res.update(binary_extras(pred_ids, y, scores))
    add(f, "binary_ties", scores, f64(y), res)

    # Never predicts the positive class: precision's zero division gives 0.
    scores = f64(rng.uniform(size=20) * 0.5)
    y = rng.integers(0, 2, size=20)
    y[0] = 1
    pred_ids = (scores > 0.5).astype(np.int64)
    res = classification(pred_ids, y, [0, 1])
    res.update(binary_extras(pred_ids, y, scores))
    add(f, "binary_no_positive_predictions", scores, y, res)

    # Regression, one output and three outputs (uniform average; column 2 is a constant
    # target that is not predicted exactly, so its r2 is 0 by force_finite).
    for case, shape in (("regression", (30,)), ("regression_multi", (25, 3))):
        target = f64(rng.normal(size=shape) * 2.0 + 1.0)
        pred = f64(target + rng.normal(size=shape) * 0.7)
        if len(shape) == 2:
            target[:, 2] = 2.0
        res = {"mse": skm.mean_squared_error(target, pred),
               "mae": skm.mean_absolute_error(target, pred),
               "rmse": skm.mean_squared_error(target, pred, squared=False),
               "r2": skm.r2_score(target, pred)}
        add(f, case, pred, target, res)
    return f
