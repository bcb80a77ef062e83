"""Plain logistic regression for the fitting scripts (numpy only)."""

import numpy as np


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 20000, rate: float = 0.5, l2=1e-3):
    """Weights, bias first, by gradient descent on the mean log-loss with a small L2 penalty."""
    x = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ weights))
        weights -= rate * (x.T @ (p - y) / len(y) + l2 * np.r_[0, weights[1:]])
    return weights


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([np.ones((len(x), 1)), x]) @ weights)))
