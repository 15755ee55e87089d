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
# # Module 03 -- Layers
#
# A layer is a function with learnable parameters. A `Module` knows how to
# find its parameters (so an optimizer can update them), whether it is
# training or evaluating (Dropout behaves differently), and how to save and
# restore its state.
#
# | task | what | graded |
# |------|------|--------|
# | 3.1 | `Module.parameters`: find every learnable tensor, once | 3 pts |
# | 3.2 | `LinearBackward`: the fused layer `x @ W + b` and its three gradients | 2 pts |
# | 3.3 | `Dropout.forward`: inverted dropout in training, identity in eval | 3 pts |

# %%
#| export
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from tinytorch.core.tensor import Function, Tensor, _describe, _is_int, _is_number, matmul_backward
from tinytorch.random import default_generator

# %% [markdown]
# ## 1. Module: finding parameters
#
# A module stores its parameters and sub-modules as ordinary attributes
# (`self.weight = Tensor(..., requires_grad=True)`, `self.layers = [...]`).
# `parameters()` walks the attributes in the order they were set: a tensor
# that requires grad is a parameter, a module is searched recursively, and a
# list or tuple is searched item by item. A parameter shared by two layers
# is returned once -- otherwise an optimizer would update it twice.

# %% nbgrader={"grade": false, "grade_id": "module_parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _named_children(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(name, value) for a module attribute, expanding lists and tuples."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _named_children(item, f"{prefix}.{i}")
    else:
        yield prefix, value


class Module:
    """Base class of layers and models: parameters, train/eval mode, state."""

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """(dotted name, tensor) for every parameter, each tensor once, in attribute order."""
        found: list[tuple[str, Tensor]] = []
        seen: set[int] = set()
        # TODO (task 3.1): walk vars(self).items() (use _named_children to
        # expand lists); a Tensor with requires_grad is a parameter, a Module
        # contributes its own named_parameters(name + "."); skip ids in seen.
        ### BEGIN SOLUTION
        for attr, value in vars(self).items():
            for name, item in _named_children(value, prefix + attr):
                if isinstance(item, Tensor) and item.requires_grad:
                    candidates = [(name, item)]
                elif isinstance(item, Module):
                    candidates = item.named_parameters(name + ".")
                else:
                    continue
                for full_name, tensor in candidates:
                    if id(tensor) not in seen:
                        seen.add(id(tensor))
                        found.append((full_name, tensor))
        ### END SOLUTION
        return found

    def parameters(self) -> list[Tensor]:
        """Every learnable tensor, once, in a fixed order (optimizers rely on it)."""
        return [tensor for _, tensor in self.named_parameters()]

    def modules(self) -> list[Module]:
        """This module and every sub-module, depth first."""
        found = [self]
        for value in vars(self).values():
            for _, item in _named_children(value, ""):
                if isinstance(item, Module):
                    found.extend(item.modules())
        return found

    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, by name."""
        return {name: tensor.data.copy() for name, tensor in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values into the parameters in place; names, shapes and dtypes must fit.

        All or nothing: every entry is checked before the first is copied,
        so a failed load leaves the model as it was.
        """
        values = self._check_state_dict(state)
        for name, tensor in self.named_parameters():
            tensor.data[...] = values[name]

    def _check_state_dict(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        """The arrays of ``state`` by name, after checking names, dtypes and shapes (nothing is assigned)."""
        if not isinstance(state, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict takes a dict of arrays, got {_describe(state)}")
        own = dict(self.named_parameters())
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        values = {}
        for name, tensor in own.items():
            value = state[name].data if isinstance(state[name], Tensor) else np.asarray(state[name])
            if value.dtype.kind not in "fiu":
                raise TypeError(f"state_dict[{name!r}] has dtype {value.dtype}; expected numbers")
            if value.shape != tensor.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {value.shape}, the parameter has {tensor.shape}")
            values[name] = value
        return values


Layer = Module  # the name the original TinyTorch used

# %% nbgrader={"grade": true, "grade_id": "test_module_parameters", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
class _Pair(Module):
    def __init__(self):
        self.a = Tensor([1.0], requires_grad=True)
        self.constant = Tensor([2.0])
        self.blocks = [Module(), Module()]
        self.blocks[1].b = Tensor([3.0], requires_grad=True)


_pair = _Pair()
assert [name for name, _ in _pair.named_parameters()] == ["a", "blocks.1.b"]
### BEGIN HIDDEN TESTS
_pair.blocks[0].a = _pair.a  # shared parameter: listed once
assert len(_pair.parameters()) == 2
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Linear
#
# $$y = x W + b, \qquad x: (N, \text{in}),\ W: (\text{in}, \text{out}),\ b: (\text{out},)$$
#
# We store `W` as `(in, out)` so the forward pass is one matmul with no
# transpose (PyTorch stores `(out, in)` and computes `x W^T`).
#
# `x @ W + b` would record two nodes (a matmul and a broadcast add). A
# layer is the hot path of every network, so `Linear` records one fused
# node, `LinearBackward` -- PyTorch does the same with `addmm`. Its rule
# combines the two you know: with `g = dL/dy`,
#
# $$\frac{\partial L}{\partial x} = g W^\top, \qquad \frac{\partial L}{\partial W} = x^\top g, \qquad \frac{\partial L}{\partial b} = \sum_n g_n$$
#
# (the bias was added to every row, so its gradient sums over the rows).
# One node instead of two saves a graph edge and a broadcast reduction per
# layer per step; at classroom sizes that is a tenth of the step time.
# The gradients of `x W` are exactly those of a matmul, so the rule calls
# module 01's `matmul_backward` instead of repeating it: one place handles a
# single example `x: (in,)` (a row vector; `dW` is the outer product
# `x^T g`, not a dot product), a batch `(N, in)` and a sequence batch
# `(B, T, in)` (flattened to `B*T` rows for `dW`). `bias=False` uses the
# same node with two inputs.
#
# Initialisation: `W, b ~ U(-1/sqrt(in), 1/sqrt(in))`, PyTorch's default. It
# keeps the variance of `y` near that of `x` at the start, so signals neither
# vanish nor explode through a few layers. Randomness comes from an explicit
# seed or `np.random.Generator`, so a run can be repeated exactly.
#
# Worked example: `x = [[1, 2]]`, `W = [[1, 0, -1], [0, 1, 1]]`, `b = [0.5, 0.5, 0.5]`
# gives `y = [[1.5, 2.5, 1.5]]`; with `g = [[1, 1, 1]]`: `dx = [[0, 2]]`,
# `dW = [[1, 1, 1], [2, 2, 2]]`, `db = [1, 1, 1]`.

# %% nbgrader={"grade": false, "grade_id": "linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself, or a new generator seeded with it (None: fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None and not (_is_int(rng) and rng >= 0):
        raise ValueError(f"a seed must be a non-negative int, None or a numpy Generator, got {_describe(rng)}")
    return np.random.default_rng(rng)


class LinearBackward(Function):
    """out = x @ w (+ b), fused;  dx = g @ w^T, dw = x^T g, db = sum of g over the rows.

    Inputs (x, w) or (x, w, b); x of shape (in,), (N, in) or (..., in).
    """

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        # TODO (task 3.2): save x and w, return x @ w + b (or x @ w without b).
        ### BEGIN SOLUTION
        self.saved = (x, w)
        out = x @ w
        if b is not None:
            out += b  # in place: the matmul result is ours, no second buffer
        return out
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        x, w = self.saved
        needs = self.needs_input_grad
        # TODO (task 3.2): dx and dw are a matmul's gradients: call
        # matmul_backward (module 01); db sums g over every row (all axes
        # but the last). None where not needed; no db without a bias.
        ### BEGIN SOLUTION
        dx, dw = matmul_backward(x, w, grad_output, needs[0], needs[1])
        if len(needs) == 2:
            return dx, dw
        rows = grad_output.reshape(-1, grad_output.shape[-1])
        # column sums as ones @ rows: one BLAS call, several times faster than .sum(axis=0) here
        db = np.ones(len(rows), dtype=rows.dtype) @ rows if needs[2] else None
        return dx, dw, db
        ### END SOLUTION


def _positive_int(owner: str, name: str, value: Any) -> int:
    if not _is_int(value):
        raise TypeError(f"{owner}: {name} must be an int, got {_describe(value)}")
    if value <= 0:
        raise ValueError(f"{owner} needs positive sizes, got {name}={value}")
    return int(value)


class Linear(Module):
    """y = x @ weight + bias, with weight (in_features, out_features) and bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | int | None = None, dtype: Any = np.float32) -> None:
        in_features = _positive_int("Linear", "in_features", in_features)
        out_features = _positive_int("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        generator = _generator(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Tensor(generator.uniform(-bound, bound, (in_features, out_features)).astype(dtype),
                             requires_grad=True)
        self.bias = (Tensor(generator.uniform(-bound, bound, out_features).astype(dtype), requires_grad=True)
                     if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Linear expects a Tensor input, got {_describe(x)}; wrap it with Tensor(...)")
        if x.data.ndim == 0 or x.data.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects input (..., {self.in_features}), "
                             f"got shape {x.shape}")
        if self.bias is None:
            return LinearBackward.apply(x, self.weight)
        return LinearBackward.apply(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


# %% nbgrader={"grade": true, "grade_id": "test_linear", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_layer = Linear(2, 3, rng=0)
_layer.weight.data[...] = [[1, 0, -1], [0, 1, 1]]
_layer.bias.data[...] = 0.5
_x = Tensor([[1.0, 2.0]], requires_grad=True)
_y = _layer(_x)
assert np.allclose(_y.data, [[1.5, 2.5, 1.5]])
assert isinstance(_y.grad_fn, LinearBackward) and len(_layer.parameters()) == 2
_y.grad_fn.needs_input_grad = (True, True, True)
_dx, _dw, _db = _y.grad_fn.backward(np.ones((1, 3), dtype=np.float32))
assert np.allclose(_dx, [[0.0, 2.0]]) and np.allclose(_dw, [[1, 1, 1], [2, 2, 2]]) and np.allclose(_db, 1.0)
### BEGIN HIDDEN TESTS
assert Linear(2, 3, bias=False, rng=0)(Tensor(np.ones((4, 2), dtype=np.float32))).shape == (4, 3)
_one = Linear(3, 4, rng=0)(Tensor([1.0, 2.0, 3.0], requires_grad=True))  # one example, no batch axis
_one.grad_fn.needs_input_grad = (True, True, True)
_dx, _dw, _db = _one.grad_fn.backward(np.ones(4, dtype=np.float32))
assert _dx.shape == (3,) and _dw.shape == (3, 4) and _db.shape == (4,)
assert np.allclose(_dw, [[1.0] * 4, [2.0] * 4, [3.0] * 4])  # the outer product x^T g, not a dot product
assert np.array_equal(Linear(5, 4, rng=7).weight.data, Linear(5, 4, rng=7).weight.data)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Sequential and Flatten
#
# `Sequential(a, b, c)(x) = c(b(a(x)))`. It accepts any callable, so the
# activation classes of module 02 fit in.

# %%
#| export
class Sequential(Module):
    """Apply layers in order: Sequential(a, b)(x) == b(a(x))."""

    def __init__(self, *layers: Any) -> None:
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential item {i} is a {type(layer).__name__}, not a layer")
        self.layers = list(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Any:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


# %% [markdown]
# ## 4. Dropout
#
# During training, each activation is zeroed with probability `p`; the
# survivors are scaled by `1 / (1 - p)` so the expected value is unchanged
# ("inverted" dropout). At evaluation time the layer does nothing. The mask
# is a constant, so the multiplication `x * mask` reuses `MulBackward`:
# gradients flow only through the survivors, scaled the same way.
#
# Worked example: `p = 0.5`, `x = [2, 2, 2, 2]`, mask `[1, 0, 0, 1]`:
# training output `[4, 0, 0, 4]`, mean 2 as before.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dropout(Module):
    """Zero each element with probability p in training (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        if not _is_number(p):
            raise TypeError(f"Dropout probability p must be a number, got {_describe(p)}")
        if not 0.0 <= p <= 1.0:  # also refuses nan
            raise ValueError(f"Dropout probability p must be in [0, 1], got {p}")
        self.p = p
        self.rng = _generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        # TODO (task 3.3): identity when not training or p == 0; zeros when
        # p == 1; otherwise x * (random mask of keep / (1 - p)) in x's dtype.
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout expects a Tensor input, got {_describe(x)}; wrap it with Tensor(...)")
        if self.training and x.dtype.kind != "f":
            raise TypeError(f"Dropout in training needs a floating-point tensor, got dtype {x.dtype}")
        ### BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * Tensor._wrap(mask)
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


# %% nbgrader={"grade": true, "grade_id": "test_dropout", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_drop = Dropout(0.5, rng=0)
_y = _drop(Tensor(np.full(10000, 2.0, dtype=np.float32)))
assert set(np.unique(_y.data)) <= {0.0, 4.0}
assert abs(_y.data.mean() - 2.0) < 0.1
assert np.array_equal(_drop.eval()(Tensor([1.0, 2.0])).data, [1.0, 2.0])
### BEGIN HIDDEN TESTS
assert _y.dtype == np.float32
assert np.allclose(Dropout(1.0, rng=0)(Tensor([1.0, 2.0])).data, 0.0)
_drop.train()
assert _drop.training
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The functional forms
#
# PyTorch keeps a function beside each layer in `torch.nn.functional`, and
# `tinytorch.nn.functional` re-exports these two: `linear(x, weight, bias)`
# and `dropout(x, p, training)`. They take PyTorch's layout: `weight` is
# `(out_features, in_features)` and the result is `x @ weight.T + bias`.
# Our `Linear` stores its weight `(in, out)` so that the layer reads as
# `x @ W`; `linear(x, layer.weight.T, layer.bias)` equals `layer(x)`. The
# transpose is a view node, so the gradient reaches `weight` in its own
# layout. `dropout` draws its mask from the generator that
# `tinytorch.manual_seed` reseeds, as `F.dropout` does in PyTorch.

# %%
#| export
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """torch.nn.functional.linear: input (..., in) @ weight.T + bias, weight (out, in), bias (out,)."""
    for name, value in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor) and not (name == "bias" and value is None):
            raise TypeError(f"linear: {name} must be a Tensor, got {_describe(value)}")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: weight must be (out_features, in_features) matching input (..., in_features), "
                         f"got input {input.shape} and weight {weight.shape}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    weight_in_out = weight.transpose(0, 1)
    if bias is None:
        return LinearBackward.apply(input, weight_in_out)
    return LinearBackward.apply(input, weight_in_out, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch.nn.functional.dropout: in training, zero each element with probability p, scale the rest by 1/(1-p)."""
    if inplace:
        raise ValueError("dropout: inplace=True is not supported; use the returned tensor (inplace=False)")
    layer = Dropout(p, rng=default_generator)
    layer.training = bool(training)
    return layer(input)


# %% [markdown]
# ## Systems view
#
# A `Linear(in, out)` holds `in * out + out` parameters; in float32 that is
# 4 bytes each, and training with Adam keeps three more copies (gradient,
# first and second moment). Its forward pass costs `2 N in out` flops, its
# backward twice that. For the digits MLP `64 -> 128 -> 128 -> 10`:
# 8,320 + 16,512 + 1,290 = 26,122 parameters, about 100 KB.
