# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 06 -- Optimizers
#
# `backward()` tells every parameter which way is uphill. An optimizer
# decides how far to step the other way, and remembers what it has seen so
# far (a velocity, running averages) to step better next time.
#
# | task | what | graded |
# |------|------|--------|
# | 6.1 | `SGD.step`: momentum, dampening, Nesterov, weight decay | 4 pts |
# | 6.2 | `Adam.step`: running moments with bias correction | 4 pts |
# | 6.3 | `AdamW._weight_decay`: decoupled weight decay | 2 pts |
#
# Updates happen **in place on `.data`**: the parameter tensor stays the
# same object (the model still holds it) and no graph is recorded, because
# we never go through the tensor operators.

# %%
#| export
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tinytorch.core.tensor import Tensor, _describe, _is_number

# %% [markdown]
# ## 1. The base class
#
# An optimizer holds a list of parameters, one state dictionary per
# parameter, and its hyper-parameters. `zero_grad()` forgets the gradients
# (by setting them to `None`, which is cheaper than filling with zeros and
# lets the engine start fresh). `state_dict()` returns everything needed to
# resume training exactly: hyper-parameters and per-parameter state.

# %%
#| export
class Optimizer:
    """Base class: parameters, per-parameter state, hyper-parameters in ``defaults``."""

    def __init__(self, params: Iterable[Tensor], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            # a Tensor is iterable (over its rows), so SGD(w) would silently optimize nothing
            got = f"a Tensor of shape {params.shape}" if isinstance(params, Tensor) else _describe(params)
            raise TypeError(f"{name}: params argument given to the optimizer should be an iterable of Tensors, "
                            f"got {got} (write [w] or model.parameters())")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list")
        seen: dict[int, int] = {}
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor ({_describe(p)})")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only floating "
                                "tensors can be optimized")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} is not a leaf (it has grad_fn={p.grad_fn}); "
                                 "can't optimize a non-leaf Tensor")
            if id(p) in seen:
                raise ValueError(f"{name}: parameters {seen[id(p)]} and {i} are the same tensor; "
                                 "it would be updated twice per step")
            seen[id(p)] = i
        self.defaults = dict(defaults)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def _gradients(self) -> list[tuple[Tensor, np.ndarray, dict[str, Any]]]:
        """(parameter, gradient array, its state dict) for every parameter that has a gradient.

        A ``.grad`` set by hand must be a Tensor of the parameter's shape: numpy
        would broadcast a (1,) gradient over a (2, 2) parameter without a word.
        """
        found = []
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is None:
                continue
            if not isinstance(p.grad, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} has .grad = {_describe(p.grad)}; "
                                "expected a Tensor or None")
            if p.grad.shape != p.shape:
                raise ValueError(f"{type(self).__name__}: parameter {i} of shape {p.shape} has a gradient of "
                                 f"shape {p.grad.shape}")
            found.append((p, p.grad.data, state))
        return found

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and a copy of every per-parameter state (arrays and step counts)."""
        return {"defaults": dict(self.defaults),
                "state": [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                          for s in self.state]}

    def _state_keys(self, defaults: dict[str, Any]) -> set[str]:
        """The keys of a non-empty per-parameter state under these hyper-parameters."""
        return set()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned. Everything is checked before anything is replaced."""
        self.defaults, self.state = self._check_state_dict(state_dict)

    def _check_state_dict(self, state_dict: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(hyper-parameters, per-parameter states) that ``state_dict`` would load; nothing is assigned."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"defaults", "state"} <= set(state_dict):
            got = sorted(state_dict) if isinstance(state_dict, dict) else _describe(state_dict)
            raise ValueError(f"{name}.load_state_dict needs a dict with keys 'defaults' and 'state' "
                             f"(from state_dict()), got {got}")
        defaults, states = state_dict["defaults"], state_dict["state"]
        if not isinstance(defaults, dict) or set(defaults) != set(self.defaults):
            got = sorted(defaults) if isinstance(defaults, dict) else _describe(defaults)
            raise ValueError(f"{name}.load_state_dict: the hyper-parameters {got} are not those of {name} "
                             f"{sorted(self.defaults)}; was the state saved from another optimizer?")
        if not isinstance(states, (list, tuple)) or len(states) != len(self.params):
            got = len(states) if isinstance(states, (list, tuple)) else _describe(states)
            raise ValueError(f"{name}.load_state_dict: the state has {got} parameters, "
                             f"this optimizer has {len(self.params)}")
        merged = {**self.defaults, **defaults}
        expected = self._state_keys(merged)
        for i, (p, s) in enumerate(zip(self.params, states)):
            if not isinstance(s, dict) or (s and set(s) != expected):
                got = sorted(s) if isinstance(s, dict) else _describe(s)
                raise ValueError(f"{name}.load_state_dict: the state of parameter {i} has keys {got}, "
                                 f"expected {sorted(expected)} (or none)")
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {i} has "
                                     f"shape {value.shape}, the parameter has {p.shape}")
                if isinstance(value, np.ndarray) and value.dtype.kind not in "fiu":
                    raise TypeError(f"{name}.load_state_dict: state {key!r} of parameter {i} has dtype "
                                    f"{value.dtype}; expected numbers")
        return merged, [{k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                        for p, s in zip(self.params, states)]

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({options})"


def _number(owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf,
            high_open: bool = False) -> float:
    """``value`` as a float after checking it is a real number in [low, high] (or [low, high))."""
    if not _is_number(value):
        raise TypeError(f"{owner}: {name} must be a number, got {_describe(value)}")
    inside = math.isfinite(value) and (low <= value < high if high_open else low <= value <= high)
    if not inside:
        if high != math.inf:
            allowed = f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            allowed = "non-negative (and finite)" if low == 0 else f"finite and at least {low:g}"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value}")
    return float(value)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


# %% [markdown]
# ## 2. SGD with momentum
#
# Plain gradient descent steps `p <- p - lr g`. On a long narrow valley it
# zig-zags across and crawls along. **Momentum** keeps a velocity, a running
# sum of past gradients, so consistent directions add up and oscillations
# cancel:
#
# $$b \leftarrow \mu\, b + (1 - d)\, g, \qquad p \leftarrow p - \text{lr}\, b$$
#
# (`d` is dampening; on the first step `b = g`.) **Nesterov** momentum looks
# ahead: it steps along `g + mu b` instead of `b`. **Weight decay** adds
# `wd * p` to the gradient (an L2 penalty `wd/2 ||p||^2`).
#
# Worked example, `lr = 0.1, mu = 0.9`, constant gradient 1: steps of
# 0.1, 0.19, 0.271, ... approaching `lr / (1 - mu) = 1` per step.

# %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay (PyTorch's rules)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        lr, momentum = _number("SGD", "lr", lr), _number("SGD", "momentum", momentum)
        dampening = _number("SGD", "dampening", dampening, high=1.0)
        weight_decay = _number("SGD", "weight_decay", weight_decay)
        _check(not nesterov or (momentum > 0 and dampening == 0),
               "SGD: nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    def _state_keys(self, defaults: dict[str, Any]) -> set[str]:
        return {"momentum_buffer"} if defaults["momentum"] else set()

    def step(self) -> None:
        lr, momentum, dampening = self.defaults["lr"], self.defaults["momentum"], self.defaults["dampening"]
        weight_decay, nesterov = self.defaults["weight_decay"], self.defaults["nesterov"]
        for p, g, state in self._gradients():
            # TODO (task 6.1): add weight decay to g (without changing
            # p.grad); update the momentum buffer in state
            # ("momentum_buffer": a copy of g on the first step); pick the
            # direction (Nesterov or not); subtract lr * direction from p.data.
            ### BEGIN SOLUTION
            if weight_decay:
                g = g + weight_decay * p.data
            if momentum:
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    buffer = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                else:
                    buffer *= momentum
                    buffer += g if dampening == 0 else (1.0 - dampening) * g  # no temporary in the usual case
                g = g + momentum * buffer if nesterov else buffer
            p.data -= lr * g
            ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_p = Tensor([0.0], requires_grad=True)
_opt = SGD([_p], lr=0.1, momentum=0.9)
_steps = []
for _ in range(3):
    _p.grad = Tensor([1.0])
    _before = _p.data.copy()
    _opt.step()
    _steps.append(float(_before[0] - _p.data[0]))
assert np.allclose(_steps, [0.1, 0.19, 0.271])
### BEGIN HIDDEN TESTS
_p = Tensor([1.0], requires_grad=True)
_opt = SGD([_p], lr=0.5, weight_decay=0.1)
_p.grad = Tensor([0.0])
_opt.step()
assert np.isclose(_p.data[0], 1.0 - 0.5 * 0.1)
assert np.allclose(_p.grad.data, 0.0)  # weight decay must not change the stored gradient
_p = Tensor([0.0], requires_grad=True)
_opt = SGD([_p], lr=1.0, momentum=0.5, nesterov=True)
_p.grad = Tensor([1.0])
_opt.step()
assert np.isclose(_p.data[0], -1.5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Adam
#
# Adam keeps two running averages per parameter: of the gradient (`m`, a
# momentum) and of its square (`v`, how large gradients typically are), and
# divides one by the square root of the other, so every parameter moves at
# a similar pace whatever the scale of its gradient:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2$$
# $$p \leftarrow p - \frac{\text{lr}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}$$
#
# Both averages start at 0, so early on they are biased toward 0; dividing
# by `1 - beta^t` corrects that. Worked example: step 1 with `g = 0.5`:
# `m = 0.05`, `v = 0.00025`, corrected `m_hat = 0.5`, `v_hat = 0.25`, step
# `lr * 0.5 / 0.5 = lr` -- the first step has size `lr` whatever the scale
# of g. `amsgrad=True` uses the running maximum of `v` instead of `v`.

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction, L2 weight decay and optional AMSGrad (PyTorch's rules)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        name = type(self).__name__
        lr, eps = _number(name, "lr", lr), _number(name, "eps", eps)
        weight_decay = _number(name, "weight_decay", weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {_describe(betas)}")
        betas = (_number(name, "betas[0]", betas[0], high=1.0, high_open=True),
                 _number(name, "betas[1]", betas[1], high=1.0, high_open=True))
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _state_keys(self, defaults: dict[str, Any]) -> set[str]:
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if defaults["amsgrad"] else set())

    def step(self) -> None:
        lr, (beta1, beta2), eps = self.defaults["lr"], self.defaults["betas"], self.defaults["eps"]
        weight_decay, amsgrad = self.defaults["weight_decay"], self.defaults["amsgrad"]
        for p, g, state in self._gradients():
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            t = state["step"]
            if weight_decay:
                g = self._weight_decay(p, g, lr, weight_decay)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            # TODO (task 6.2): update m and v in place; with amsgrad keep the
            # running maximum of v in state["max_exp_avg_sq"] and use it;
            # apply the bias-corrected step to p.data.
            ### BEGIN SOLUTION
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            if amsgrad:
                np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            step_size = lr / (1.0 - beta1 ** t)
            # math.sqrt: a numpy float64 scalar here would upcast float32 parameters
            denominator = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + eps
            p.data -= step_size * (m / denominator)
            ### END SOLUTION

    def _weight_decay(self, p: Tensor, g: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
        """Adam's L2 penalty: wd * p is added to the gradient (and later divided by sqrt(v))."""
        return g + weight_decay * p.data


# %% nbgrader={"grade": true, "grade_id": "test_adam", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_p = Tensor([1.0, -1.0], requires_grad=True)
_opt = Adam([_p], lr=0.01)
_p.grad = Tensor([0.5, -1000.0])
_opt.step()
assert np.allclose(_p.data, [0.99, -0.99], atol=1e-6)  # first step has size lr for any gradient scale
### BEGIN HIDDEN TESTS
_p.grad = Tensor([0.5, -1000.0])
_opt.step()
assert np.allclose(_p.data, [0.98, -0.98], atol=1e-6)
assert _opt.state[0]["step"] == 2
### END HIDDEN TESTS

# %% [markdown]
# ## 4. AdamW: weight decay, decoupled
#
# In Adam, an L2 term `wd * p` added to the gradient is then divided by
# `sqrt(v)`: parameters with large gradients are barely regularised.
# Loshchilov and Hutter (2019) apply the decay *directly* to the weights,
# `p <- p (1 - lr wd)`, before the Adam step. That is all AdamW changes;
# it is the default optimizer for transformers. Its default `weight_decay`
# is 0.01, as in PyTorch.

# %% nbgrader={"grade": false, "grade_id": "adamw", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p (1 - lr wd) before the Adam step."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _weight_decay(self, p: Tensor, g: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
        """Decoupled decay: shrink the weights directly; the gradient is left as it is."""
        # TODO (task 6.3): multiply p.data in place by (1 - lr * weight_decay)
        # and return g unchanged.
        ### BEGIN SOLUTION
        p.data *= 1.0 - lr * weight_decay
        return g
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adamw", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_p = Tensor([2.0], requires_grad=True)
_opt = AdamW([_p], lr=0.1, weight_decay=0.5)
_p.grad = Tensor([0.0])
_opt.step()
assert np.isclose(_p.data[0], 2.0 * (1 - 0.1 * 0.5))  # zero gradient: only the decay acts
### BEGIN HIDDEN TESTS
_q = Tensor([2.0], requires_grad=True)
_adam = Adam([_q], lr=0.1, weight_decay=0.5)
_q.grad = Tensor([0.0])
_adam.step()
assert np.isclose(_q.data[0], 2.0 - 0.1)  # L2 in the gradient: a full-size Adam step
### END HIDDEN TESTS

# %% [markdown]
# ## 5. A race on a narrow valley
#
# `f(x, y) = x^2 + 10 y^2` from `(-4, 2)`: plain SGD must use a small step
# (the steep y direction limits it) and crawls along x; momentum and Adam
# get there far faster.

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, make in [("SGD lr=0.05", lambda p: SGD(p, lr=0.05)),
                    ("SGD momentum 0.9", lambda p: SGD(p, lr=0.05, momentum=0.9)),
                    ("Adam lr=0.3", lambda p: Adam(p, lr=0.3))]:
    _xy = Tensor(np.array([-4.0, 2.0]), requires_grad=True)
    _opt = make([_xy])
    _path = [_xy.data.copy()]
    for _ in range(60):
        _opt.zero_grad()
        (_xy * _xy * Tensor(np.array([1.0, 10.0]))).sum().backward()
        _opt.step()
        _path.append(_xy.data.copy())
    _path = np.array(_path)
    ax.plot(_path[:, 0], _path[:, 1], ".-", label=label)
ax.legend()
ax.set_title("x^2 + 10 y^2 from (-4, 2), 60 steps")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Systems view
#
# Memory per parameter element: SGD 0 extra (1 with momentum), Adam 2
# (`m` and `v`), AMSGrad 3. For a 7-billion-parameter model in float32 that
# is 56 GB of Adam state -- why large models shard optimizer state.
# Every update above is a handful of in-place numpy passes over each
# parameter; no temporary the size of the model is kept between steps.
