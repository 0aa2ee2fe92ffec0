"""Weight initializers, shared by every engine so one seed gives the same starting weights everywhere.

Each initializer draws a (fan_out, fan_in) matrix. Biases always start at zero; batch-norm scales at one.
The gain for Xavier and He follows the activation (PyTorch's ``calculate_gain``), so "he_uniform" with
ReLU is Kaiming's recipe and with tanh it is scaled accordingly.
"""

from __future__ import annotations

import math

import numpy as np

# Recommended gain per activation (torch.nn.init.calculate_gain; gelu uses relu's, linear and sigmoid 1).
GAINS = {
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01 ** 2)),
    "tanh": 5.0 / 3.0,
    "sigmoid": 1.0,
    "gelu": math.sqrt(2.0),
    "linear": 1.0,
}


def _xavier_std(fan_in, fan_out, gain):
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _he_std(fan_in, fan_out, gain):
    return gain / math.sqrt(fan_in)


# name -> draw(rng, shape, fan_in, fan_out, gain). Uniform variants use the bound sqrt(3)·std.
INIT_FUNCTIONS = {
    "zeros": lambda rng, shape, fi, fo, g: np.zeros(shape),
    "uniform": lambda rng, shape, fi, fo, g: rng.uniform(-0.05, 0.05, size=shape),
    "normal": lambda rng, shape, fi, fo, g: rng.normal(0.0, 0.01, size=shape),
    "xavier_uniform": lambda rng, shape, fi, fo, g: rng.uniform(-1, 1, size=shape) * math.sqrt(3) * _xavier_std(fi, fo, g),
    "xavier_normal": lambda rng, shape, fi, fo, g: rng.normal(0.0, _xavier_std(fi, fo, g), size=shape),
    "he_uniform": lambda rng, shape, fi, fo, g: rng.uniform(-1, 1, size=shape) * math.sqrt(3) * _he_std(fi, fo, g),
    "he_normal": lambda rng, shape, fi, fo, g: rng.normal(0.0, _he_std(fi, fo, g), size=shape),
}


def init_params(model_cfg, sizes: list[int], seed: int) -> list[dict[str, np.ndarray]]:
    """Initial parameters for a network with layer ``sizes`` = [inputs, hidden..., outputs].

    Returns one dict per Linear layer: ``W`` (fan_out, fan_in), ``b`` (fan_out,), and for hidden layers with
    batch norm ``gamma``, ``beta``, ``running_mean``, ``running_var`` (fan_out,). float64; engines cast.
    The output layer uses gain 1 (it feeds a loss, not the hidden activation).
    """
    rng = np.random.default_rng(seed)
    draw = INIT_FUNCTIONS[model_cfg.init]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        hidden = i < len(sizes) - 2
        gain = GAINS[model_cfg.activation] if hidden else 1.0
        layer = {"W": np.asarray(draw(rng, (fan_out, fan_in), fan_in, fan_out, gain), dtype=np.float64),
                 "b": np.zeros(fan_out)}
        if hidden and model_cfg.batch_norm:
            layer.update(gamma=np.ones(fan_out), beta=np.zeros(fan_out),
                         running_mean=np.zeros(fan_out), running_var=np.ones(fan_out))
        layers.append(layer)
    return layers


CONV_KERNEL = 3  # the CNN's convolutions are 3×3 with padding 1; each is followed by 2×2 max pooling


def cnn_dense_inputs(model_cfg, image_shape: tuple[int, int]) -> int:
    """Features entering the first fully connected layer of the CNN: channels × (rows/4) × (cols/4)."""
    rows, cols = image_shape
    return model_cfg.channels[-1] * (rows // 4) * (cols // 4)


def init_cnn_params(model_cfg, image_shape: tuple[int, int], n_outputs: int, seed: int) -> list[dict]:
    """Initial parameters of the CNN: two conv layers ``W`` (out, in, 3, 3), ``b`` (out,), then the
    fully connected layers exactly as ``init_params`` makes them."""
    rng = np.random.default_rng([seed, 7])
    draw = INIT_FUNCTIONS[model_cfg.init]
    gain = GAINS[model_cfg.activation]
    layers, channels_in = [], 1
    area = CONV_KERNEL * CONV_KERNEL
    for channels_out in model_cfg.channels:
        shape = (channels_out, channels_in, CONV_KERNEL, CONV_KERNEL)
        layers.append({"W": np.asarray(draw(rng, shape, channels_in * area, channels_out * area, gain), dtype=np.float64),
                       "b": np.zeros(channels_out)})
        channels_in = channels_out
    sizes = [cnn_dense_inputs(model_cfg, image_shape), *model_cfg.hidden, n_outputs]
    return layers + init_params(model_cfg, sizes, seed)
