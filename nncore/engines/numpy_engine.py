"""NumPy engine: the same network as the torch engine, with every forward and backward step written out.

Linear → [batch norm] → activation → [inverted dropout] per hidden layer, then a Linear output layer.

All trainable parameters live in one flat vector and the gradients in another of the same layout
(``numpy_params.FlatLayout``), so the optimizer, gradient clipping and the weight penalties are each a few
vectorized operations however deep the network; the per-layer arrays are views into those vectors.
"""

from __future__ import annotations

import numpy as np

from nncore import features
from nncore.engines.base import Engine, check_params
from nncore.engines.numpy_functions import ACTIVATIONS, LOSSES
from nncore.engines.numpy_optim import OPTIMIZERS, SCHEDULES, scheduled_lr
from nncore.engines.numpy_params import FlatLayout, layer_dicts

_sum = np.add.reduce  # the ufunc method itself: np.sum's Python wrapper costs more than a small sum
BN_EPS = 1e-5        # torch.nn.BatchNorm1d defaults
BN_MOMENTUM = 0.1


class NumpyEngine(Engine):
    name = "numpy"

    def __init__(self, model, train, sizes, task, params, seed):
        super().__init__(model, train, sizes, task, params, seed)
        self.rng = np.random.default_rng(seed)
        self.n_layers = len(self.sizes) - 1
        self.batch_norm = model.batch_norm
        self.dropout = model.dropout
        self.act = ACTIVATIONS[model.activation]
        self.loss_fn = LOSSES[self.loss_name]
        self.input_map = features.active(getattr(model, "inputs", features.DEFAULT_INPUTS))
        size = FlatLayout.size(self.sizes, self.batch_norm)
        self.flat = np.zeros(size, dtype=self.dtype)
        self.grad = np.zeros(size, dtype=self.dtype)
        self.p = FlatLayout(self.flat, self.sizes, self.batch_norm)
        self.g = FlatLayout(self.grad, self.sizes, self.batch_norm)
        self._wtmp = np.empty_like(self.p.weights)
        self.running_mean = [np.zeros(w, dtype=self.dtype) for w in self.sizes[1:-1]] if self.batch_norm else []
        self.running_var = [np.ones(w, dtype=self.dtype) for w in self.sizes[1:-1]] if self.batch_norm else []
        self.set_params(params)
        self.optimizer = None
        self.set_train_config(train, epoch=0)

    # --- forward and backward ---------------------------------------------------------------------------
    def _inputs(self, X) -> np.ndarray:
        """The network's input for data X (B, d): X in the network's float type, through the input feature
        map when the config names one (``features``); every public entry point takes the data's X."""
        X = np.asarray(X).astype(self.dtype, copy=False)
        return X if self.input_map is None else features.apply(self.input_map, X)

    def _target(self, y: np.ndarray) -> np.ndarray:
        if self.task == "multiclass":
            return y if y.dtype == np.int64 else y.astype(np.int64)
        return y.astype(self.dtype).reshape(-1, 1)

    def _forward_train(self, X, update_stats: bool, keep_pre: bool = False):
        """Train-mode forward pass (batch statistics, dropout). Returns the output (B, K), one cache per
        hidden layer and the output layer's input h (B, fan_in). A cache is (input h (B, fan_in), z (B, n)
        the activation's input or None when the activation overwrote it and ``keep_pre`` is False,
        a (B, n) the activation's output, dropout scale (B, n) or None, batch-norm cache or None)."""
        W, b, act, p_drop = self.p.W, self.p.b, self.act, self.dropout
        copy_pre = keep_pre and act.in_place
        keep_z = keep_pre or not act.in_place
        caches = []
        h = X
        last = self.n_layers - 1
        for i in range(last):
            z = h @ W[i].T
            z += b[i]
            bn = None
            if self.batch_norm:
                z, bn = self._bn_train(z, i, update_stats)
            a = act.forward(z.copy() if copy_pre else z)
            scale = None
            if p_drop > 0.0:
                scale = (self.rng.random(a.shape, dtype=self.dtype) >= p_drop).astype(self.dtype)
                scale *= 1.0 / (1.0 - p_drop)
                h_next = a * scale
            else:
                h_next = a
            caches.append((h, z if keep_z else None, a, scale, bn))
            h = h_next
        z = h @ W[last].T
        z += b[last]
        return z, caches, h

    def _bn_train(self, z, i, update_stats):
        """Batch norm of z (B, n) with the batch's statistics, as torch.nn.BatchNorm1d in train mode.
        Returns the output (B, n) and the cache (xhat (B, n), 1/std (n,), True)."""
        n = z.shape[0]
        if n < 2:
            raise ValueError("batch norm needs more than 1 sample per batch in training")
        mean = _sum(z, axis=0) / n
        xhat = z - mean
        var = _sum(xhat * xhat, axis=0) / n          # biased: used to normalize
        inv = 1.0 / np.sqrt(var + BN_EPS)
        xhat *= inv
        out = xhat * self.p.gamma[i]
        out += self.p.beta[i]
        if update_stats:
            rm, rv = self.running_mean[i], self.running_var[i]
            rm *= 1 - BN_MOMENTUM
            rm += BN_MOMENTUM * mean
            rv *= 1 - BN_MOMENTUM
            rv += (BN_MOMENTUM * n / (n - 1)) * var  # unbiased: what the running estimate tracks
        return out, (xhat, inv, True)

    def _backward(self, dz, caches, h_last, g: FlatLayout, deltas: list | None = None) -> None:
        """Fill the gradient views ``g`` from dL/d(output) ``dz`` (B, K). ``deltas``, if given, receives
        each layer's dL/dz (B, n), output layer first."""
        W, gW, gb = self.p.W, g.W, g.b
        derivative = self.act.derivative
        i = self.n_layers - 1
        np.matmul(dz.T, h_last, out=gW[i])
        _sum(dz, axis=0, out=gb[i])
        delta = dz
        if deltas is not None:
            deltas.append(dz)
        for i in range(i - 1, -1, -1):
            h, z, a, scale, bn = caches[i]
            delta = delta @ W[i + 1]
            if scale is not None:
                delta *= scale
            if derivative is not None:
                delta *= derivative(z, a)
            if bn is not None:
                delta = self._bn_backward(delta, i, bn, g)
            if deltas is not None:
                deltas.append(delta)
            np.matmul(delta.T, h, out=gW[i])
            _sum(delta, axis=0, out=gb[i])

    def _bn_backward(self, dout, i, bn, g: FlatLayout):
        """Fill the gradients of gamma and beta; return dL/dz (B, n) for the values before the norm.
        With batch statistics the mean and variance depend on z too; with running ones the norm is affine."""
        xhat, inv, batch_stats = bn
        n = dout.shape[0]
        gbeta, ggamma = g.beta[i], g.gamma[i]
        _sum(dout, axis=0, out=gbeta)
        _sum(dout * xhat, axis=0, out=ggamma)
        if not batch_stats:
            return dout * (self.p.gamma[i] * inv)
        dz = dout * n
        dz -= gbeta
        dz -= xhat * ggamma
        dz *= self.p.gamma[i] * inv * (1.0 / n)
        return dz

    def _add_penalty_grad(self, gw: np.ndarray) -> None:
        """Add the L1/L2 penalty's gradient to the weight block ``gw`` (torch's abs() slope: 0 at 0)."""
        t, w = self.train_cfg, self.p.weights
        if t.l1 > 0:
            np.sign(w, out=self._wtmp)
            self._wtmp *= t.l1
            gw += self._wtmp
        if t.l2 > 0:
            np.multiply(w, t.l2, out=self._wtmp)
            gw += self._wtmp

    def _penalty(self) -> float:
        t, w = self.train_cfg, self.p.weights
        value = 0.0
        if t.l1 > 0:
            value += t.l1 * float(np.abs(w).sum())
        if t.l2 > 0:
            value += 0.5 * t.l2 * float(np.dot(w, w))
        return value

    # --- training -------------------------------------------------------------------------------------
    def train_step(self, X, y):
        out, caches, h = self._forward_train(self._inputs(X), update_stats=True)
        loss, dz = self.loss_fn(out, self._target(y))
        self._backward(dz, caches, h, self.g)
        t = self.train_cfg
        if t.l1 > 0 or t.l2 > 0:
            self._add_penalty_grad(self.g.weights)
        if t.clip_norm > 0:
            total = float(np.sqrt(np.dot(self.grad, self.grad)))
            coef = t.clip_norm / (total + 1e-6)
            if coef < 1.0:
                self.grad *= coef
        self.optimizer.step(self.flat, self.grad, self._lr)
        return float(loss)

    def loss_and_grads(self, X, y, train: bool = True) -> tuple[float, list[dict[str, np.ndarray]]]:
        """Total loss (data loss + L1/L2 penalty) and its gradient for every parameter, without updating
        anything (no optimizer step, batch-norm running statistics and ``grads()`` untouched). ``train`` picks batch
        statistics and dropout (True) or running statistics (False). Gradients are float64 copies in the
        ``get_params`` layout: ``W``, ``b`` and, where present, ``gamma``, ``beta``."""
        X = self._inputs(X)
        out, caches, h = self._forward_train(X, update_stats=False) if train else self._forward_eval(X)
        loss, dz = self.loss_fn(out, self._target(np.asarray(y)))
        g = FlatLayout(np.zeros_like(self.grad), self.sizes, self.batch_norm)
        self._backward(dz, caches, h, g)
        self._add_penalty_grad(g.weights)
        return float(loss) + self._penalty(), layer_dicts(g)

    def explain(self, X, y) -> list[dict[str, np.ndarray]]:
        """Backpropagation laid open for a small batch in eval mode (no dropout, running batch-norm
        statistics): per layer, input side first, ``input`` h (B, fan_in), ``pre`` z = W·h + b (after batch
        norm where used) (B, n), ``post`` the activation (B, n; the output layer's equals ``pre``), ``delta``
        dL/dz (B, n), and the data loss's gradients ``dW`` (n, fan_in) and ``db`` (n,). Nothing is updated."""
        X = self._inputs(X)
        out, caches, h_last = self._forward_eval(X)
        out = _f64(out)  # the loss may work in place on its input; keep the logits as they were
        _, dz = self.loss_fn(out.copy(), self._target(np.asarray(y)))
        g = FlatLayout(np.zeros_like(self.grad), self.sizes, self.batch_norm)
        deltas: list[np.ndarray] = []
        self._backward(dz, caches, h_last, g, deltas)
        deltas.reverse()
        grads = layer_dicts(g)
        layers = []
        for i in range(self.n_layers):
            if i < self.n_layers - 1:
                h, z, a = caches[i][0], caches[i][1], caches[i][2]
            else:
                h, z, a = h_last, out, out
            layers.append({"input": _f64(h), "pre": _f64(z), "post": _f64(a), "delta": _f64(deltas[i]),
                           "dW": grads[i]["W"], "db": grads[i]["b"]})
        return layers

    def pre_activations(self, X, train: bool = True) -> list[np.ndarray]:
        """Per hidden layer, the values fed into the activation (after batch norm): (B, n) float64.
        ``train`` uses the batch's statistics (running statistics untouched) and draws dropout masks."""
        X = self._inputs(X)
        caches = self._forward_train(X, False, keep_pre=True)[1] if train else self._forward_eval(X)[1]
        return [c[1].astype(np.float64) for c in caches]

    def total_loss(self, X, y, train: bool = True) -> float:
        """Data loss + penalty of a forward pass alone (batch-norm running statistics untouched)."""
        X = self._inputs(X)
        out = self._forward_train(X, False)[0] if train else self._forward_eval(X)[0]
        return float(self.loss_fn(out, self._target(np.asarray(y)))[0]) + self._penalty()

    def end_epoch(self):
        self._epoch += 1
        self._lr = SCHEDULES[self.train_cfg.schedule](self._lr, self.train_cfg.learning_rate, self._epoch,
                                                      self.train_cfg)

    def set_train_config(self, train, epoch):
        if self.optimizer is None or train.optimizer != self.train_cfg.optimizer:
            self.optimizer = OPTIMIZERS[train.optimizer](self.flat.size, self.dtype)
        self.optimizer.configure(train)
        self.train_cfg = train
        self._epoch = epoch
        self._lr = scheduled_lr(train, epoch)

    @property
    def lr(self):
        return float(self._lr)

    # --- inference ------------------------------------------------------------------------------------
    def _forward_eval(self, X):
        """Eval-mode pass (running batch-norm statistics, no dropout), keeping every layer's values.
        Returns the output (B, K), per-hidden-layer caches as ``_forward_train`` gives them (with ``z``
        always kept) and the output layer's input (B, fan_in)."""
        W, b, act = self.p.W, self.p.b, self.act
        caches = []
        h = X
        last = self.n_layers - 1
        for i in range(last):
            z = h @ W[i].T
            z += b[i]
            bn = None
            if self.batch_norm:
                inv = 1.0 / np.sqrt(self.running_var[i] + BN_EPS)
                z -= self.running_mean[i]
                z *= inv
                bn = (z.copy(), inv, False)
                z *= self.p.gamma[i]
                z += self.p.beta[i]
            a = act.forward(z.copy() if act.in_place else z)
            caches.append((h, z, a, None, bn))
            h = a
        z = h @ W[last].T
        z += b[last]
        return z, caches, h

    def forward(self, X):
        return self._forward_eval(self._inputs(X))[0].astype(np.float64)

    def trace(self, X):
        out, caches, _ = self._forward_eval(self._inputs(X))
        layers = [{"pre": z.astype(np.float64), "post": a.astype(np.float64)} for _, z, a, _, _ in caches]
        out = out.astype(np.float64)
        return layers + [{"pre": out, "post": out}]

    # --- parameters -------------------------------------------------------------------------------------
    def get_params(self):
        layers = layer_dicts(self.p)
        for layer, mean, var in zip(layers, self.running_mean, self.running_var):
            layer.update(running_mean=mean.astype(np.float64), running_var=var.astype(np.float64))
        return layers

    def set_params(self, params):
        check_params(params, self.dtype, self.n_layers)
        for i, layer in enumerate(params):
            self.p.W[i][...] = layer["W"]
            self.p.b[i][...] = layer["b"]
            if self.batch_norm and i < self.n_layers - 1:
                self.p.gamma[i][...] = layer["gamma"]
                self.p.beta[i][...] = layer["beta"]
                self.running_mean[i][...] = layer["running_mean"]
                self.running_var[i][...] = layer["running_var"]

    def parameter_views(self) -> list[dict[str, np.ndarray]]:
        """Live views of the trainable parameters, one dict per layer (``W``, ``b`` [, ``gamma``, ``beta``]):
        writing into them changes the network (the gradient check perturbs through these)."""
        return layer_dicts(self.p, copy=False)

    def grads(self):
        return layer_dicts(self.g, with_bn=False)

    def grad_norms(self):
        return np.array([np.sqrt(np.dot(g.ravel(), g.ravel())) for g in self.g.W], dtype=np.float64)



def _f64(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=np.float64)
