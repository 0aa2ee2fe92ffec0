"""Registries of the named building blocks: the UI and the CLI list their keys, engines implement them.

A registry maps a key to a short human description. Each engine keeps its own implementation table keyed
by the same names, and a test checks every engine covers every key, so adding an optimizer is one entry
here plus one per engine, never an if-chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class Registry(Mapping):
    """An ordered, read-only name → description table with a helpful lookup error."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self._entries = dict(entries)

    def __getitem__(self, key: str) -> str:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys_text(self) -> str:
        return ", ".join(self._entries)


ACTIVATIONS = Registry("activation", {
    "relu": "max(0, x)",
    "leaky_relu": "x if x > 0 else 0.01·x",
    "tanh": "hyperbolic tangent, output in (-1, 1)",
    "sigmoid": "1 / (1 + e^-x), output in (0, 1)",
    "gelu": "x·Φ(x), the Gaussian error linear unit (exact erf form)",
    "linear": "identity: the network stays a linear model",
})

INITIALIZERS = Registry("init", {
    "zeros": "all weights 0 (shows the symmetry problem)",
    "uniform": "small uniform U(-0.05, 0.05)",
    "normal": "small normal N(0, 0.01²)",
    "xavier_uniform": "Glorot uniform, variance 2/(fan_in+fan_out)",
    "xavier_normal": "Glorot normal, variance 2/(fan_in+fan_out)",
    "he_uniform": "Kaiming uniform for ReLU, variance 2/fan_in",
    "he_normal": "Kaiming normal for ReLU, variance 2/fan_in",
})

OPTIMIZERS = Registry("optimizer", {
    "sgd": "plain stochastic gradient descent",
    "momentum": "SGD with (heavy-ball) momentum",
    "nesterov": "SGD with Nesterov momentum",
    "rmsprop": "RMSprop (per-weight step from a running mean of squared gradients)",
    "adam": "Adam (momentum + RMSprop with bias correction)",
    "adamw": "Adam with decoupled weight decay",
})

SCHEDULES = Registry("schedule", {
    "constant": "the learning rate stays as set",
    "step": "multiply by gamma every step_size epochs",
    "cosine": "cosine decay to 0 over the run's epochs",
    "exponential": "multiply by gamma every epoch",
})

LOSSES = Registry("loss", {
    "softmax_ce": "softmax cross-entropy (multi-class classification)",
    "sigmoid_bce": "sigmoid binary cross-entropy (two classes, one output)",
    "mse": "mean squared error (regression)",
})

# What a dataset's label is (a built-in set's, a table's or a drawn set's task setting); "auto": the labels
# decide (whole-number labels are classes).
LABEL_TASKS = Registry("task", {
    "auto": "classes when the labels look like classes",
    "classification": "predict a class",
    "regression": "predict a number",
})

# What a network trained on the data does (``Dataset.task``): its outputs and its loss follow from it.
TASKS = Registry("task", {
    "binary": "two classes: one output, the logit of the second class",
    "multiclass": "three or more classes: one logit per class",
    "regression": "a number: one output",
})

# Which loss each task uses: the loss follows the task, the user does not pick a mismatched one.
TASK_LOSS = {"multiclass": "softmax_ce", "binary": "sigmoid_bce", "regression": "mse"}
