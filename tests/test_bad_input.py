"""Bad input across modules 01, 03 and 05-08: each case raises a clear error naming what came in.

Each test asserts the exception type and that the message names the
argument and the expected or actual value; none may pass by returning a
number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import GradcheckError, gradcheck
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Function, Tensor
from tinytorch.core.training import Trainer, accuracy, clip_grad_norm
from tinytorch.data.loader import DataLoader, Dataset, TensorDataset


# ---- module 01: what a Tensor is made of ---------------------------------------

@pytest.mark.parametrize("data, named", [
    (None, "None; expected a number"),
    ([1.0, None], r"element \(1,\) is None"),
    ("3.5", "str '3.5'"),
    (["1", "2"], r"list \['1', '2'\]"),
    (b"12", "bytes b'12'"),
    ([[1.0, 2.0], [3.0]], "list"),
    (np.array([1, None], dtype=object), r"element \(1,\) is None"),
    ({"a": 1}, "dict"),
])
def test_tensor_refuses_what_is_not_numbers(data, named):
    with pytest.raises(TypeError, match=f"cannot make a Tensor from .*{named}"):
        Tensor(data)


@pytest.mark.parametrize("other, named", [(None, "None"), ("2", "str '2'"), ([1.0, None], "None")])
def test_arithmetic_with_non_numbers_is_a_type_error(other, named):
    x = Tensor([1.0, 2.0])
    for op in (lambda: x + other, lambda: other * x, lambda: x - other, lambda: x / other):
        with pytest.raises(TypeError, match=named):
            op()


def test_equality_with_none_or_text_is_false_as_in_torch(torch):
    x, t = Tensor([1.0]), torch.tensor([1.0])
    for other in (None, "a"):
        assert (x == other) is (t == other) is False and (x != other) is (t != other) is True
    assert None not in [x] and x in [x]
    with pytest.raises(TypeError, match="'<' not supported|cannot make a Tensor from None"):
        x < None


def test_exponent_must_be_a_number_or_a_tensor():
    with pytest.raises(TypeError, match="exponent for Tensor .*str 'a'.*expected a number or a Tensor"):
        Tensor([1.0]) ** "a"
    with pytest.raises(TypeError, match="None"):
        Tensor([1.0]) ** None


def test_numbers_inside_objects_and_huge_ints_still_work():
    assert Tensor(np.array([1, 2.5], dtype=object)).dtype == np.float32
    assert Tensor([2 ** 70]).data[0] == np.float32(2.0 ** 70)
    assert Tensor([True, False]).dtype == np.float32


@pytest.mark.parametrize("bad, named", [(np.ones((1, 2)), "numpy.ndarray of shape \\(1, 2\\)"),
                                        ([[1.0, 2.0]], "list")])
def test_layers_and_ops_name_a_non_tensor_input(bad, named):
    with pytest.raises(TypeError, match=f"Linear expects a Tensor input, got {named}"):
        Linear(2, 3, rng=0)(bad)
    with pytest.raises(TypeError, match=f"ReLUBackward got {named}.*as input 0; expected a Tensor"):
        ReLU()(bad)
    with pytest.raises(TypeError, match=f"Dropout expects a Tensor input, got {named}"):
        Dropout(0.5, rng=0)(bad)


def test_a_non_tensor_second_input_is_named_by_position():
    from tinytorch.core.tensor import MulBackward

    with pytest.raises(TypeError, match="MulBackward got numpy.ndarray of shape \\(2,\\), dtype float64 as input 1"):
        MulBackward.apply(Tensor([1.0, 2.0], requires_grad=True), np.ones(2))


@pytest.mark.parametrize("args, error, named", [
    ((2.5, 3), TypeError, "in_features must be an int, got float 2.5"),
    (("3", 2), TypeError, "in_features must be an int, got str '3'"),
    ((3, True), TypeError, "out_features must be an int, got bool True"),
    ((0, 2), ValueError, "positive sizes, got in_features=0"),
])
def test_linear_sizes(args, error, named):
    with pytest.raises(error, match=named):
        Linear(*args)


@pytest.mark.parametrize("seed", [-1, "abc", 1.5])
def test_seeds_must_be_non_negative_ints(seed):
    with pytest.raises(ValueError, match=f"seed must be a non-negative int.*got {type(seed).__name__}"):
        Linear(2, 2, rng=seed)
    with pytest.raises(ValueError, match=f"seed must be a non-negative int.*got {type(seed).__name__}"):
        DataLoader(TensorDataset(np.zeros((4, 2))), seed=seed)


def test_dropout_refuses_integers_in_training_like_torch():
    ints = Tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="floating-point tensor, got dtype int64"):
        Dropout(0.5, rng=0)(ints)
    assert Dropout(0.5, rng=0).eval()(ints) is ints  # eval is the identity, as in torch
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\], got nan"):
        Dropout(float("nan"))
    with pytest.raises(TypeError, match="p must be a number, got str"):
        Dropout("0.5")


# ---- module 05: the engine and gradcheck ------------------------------------------

class _ScalarGrad(Function):
    """A broken rule: returns one number as the gradient of a (3,) input."""

    def forward(self, a):
        return a * 2

    def backward(self, grad_output):
        return (grad_output.sum(),)


class _WrongShape(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad_output):
        return (np.ones((2,)),)


class _TooFew(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad_output):
        return (grad_output,)


class _BareArray(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad_output):
        return grad_output * 2  # a bare array, not a tuple: zip would walk its rows


@pytest.mark.parametrize("rule, inputs, named", [
    (_ScalarGrad, 1, r"_ScalarGrad.backward returned a gradient of shape \(\) for input 0 of shape \(3,\)"),
    (_WrongShape, 1, r"_WrongShape.backward returned a gradient of shape \(2,\) for input 0 of shape \(3,\)"),
    (_TooFew, 2, "_TooFew.backward returned 1 gradients; expected a tuple of 2"),
    (_BareArray, 1, "_BareArray.backward returned numpy.ndarray of shape \\(3,\\).*expected a tuple of 1"),
])
def test_engine_checks_every_rule_and_names_the_node(rule, inputs, named):
    xs = [Tensor(np.ones(3), requires_grad=True) for _ in range(inputs)]
    with pytest.raises(RuntimeError, match=named):
        rule.apply(*xs).sum().backward()
    assert all(x.grad is None for x in xs)


def test_engine_still_sums_broadcast_gradients():
    class Broadcasting(Function):  # returns the output's shape for a (3,) input: summed, not an error
        def forward(self, a):
            return np.broadcast_to(a, (4, 3)).copy()

        def backward(self, grad_output):
            return (grad_output,)

    x = Tensor(np.ones(3), requires_grad=True)
    Broadcasting.apply(x).sum().backward()
    assert x.grad.shape == (3,) and np.allclose(x.grad.data, 4.0)


@pytest.mark.parametrize("gradient, error, named", [
    ("abc", TypeError, "gradient=.*str 'abc'"),
    (None, RuntimeError, r"one-element output, got shape \(2,\)"),
    ([1.0], ValueError, r"needs shape \(2,\).*got \(1,\)"),
    ({"a": 1}, TypeError, "dict"),
])
def test_backward_gradient_argument(gradient, error, named):
    with pytest.raises(error, match=named):
        (Tensor([1.0, 2.0], requires_grad=True) * 2).backward(gradient)


class _NanRule(Function):
    def forward(self, a):
        self.saved = a
        return a * a

    def backward(self, grad_output):
        return (grad_output * np.nan,)


def test_gradcheck_fails_on_nan_or_inf_on_either_side():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match="autograd nan vs finite difference"):
        gradcheck(lambda a: _NanRule.apply(a).sum(), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(-1) is nan, 0 ** -0.5 is inf
        with pytest.raises(GradcheckError, match="finite difference nan"):
            gradcheck(lambda a: a.log(), Tensor(np.array([-1.0]), requires_grad=True))
        with pytest.raises(GradcheckError, match="autograd inf"):
            gradcheck(lambda a: a ** 0.5, Tensor(np.array([0.0]), requires_grad=True))


@pytest.mark.parametrize("kwargs, fn, error, named", [
    ({"eps": 0}, lambda a: a * 2, ValueError, "eps must be a positive finite number, got 0"),
    ({"eps": float("nan")}, lambda a: a * 2, ValueError, "eps must be a positive finite number, got nan"),
    ({}, lambda a: 3.0, TypeError, "fn must return a Tensor, got float 3.0"),
    ({}, lambda a: Tensor(a.data * 2), ValueError, "does not depend on any input"),
])
def test_gradcheck_arguments(kwargs, fn, error, named):
    with pytest.raises(error, match=named):
        gradcheck(fn, Tensor(np.array([1.0]), requires_grad=True), **kwargs)
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda a: a * 2, Tensor(np.array([1.0])))


# ---- module 06: optimizers ------------------------------------------------------

def test_optimizer_refuses_a_gradient_of_the_wrong_shape_or_type():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    for opt in (SGD([w], lr=0.1), Adam([w])):
        w.grad = Tensor([1.0])
        with pytest.raises(ValueError, match=r"parameter 0 of shape \(2, 2\) has a gradient of shape \(1,\)"):
            opt.step()
        w.grad = np.ones((2, 2))
        with pytest.raises(TypeError, match=r"parameter 0 has .grad = numpy.ndarray.*expected a Tensor or None"):
            opt.step()
    assert np.array_equal(w.data, np.ones((2, 2)))


def test_optimizer_params_must_be_a_list_of_distinct_leaves():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=r"iterable of Tensors, got a Tensor of shape \(2, 2\).*\[w\]"):
        SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors, got None"):
        SGD(None, lr=0.1)
    with pytest.raises(ValueError, match="parameters 0 and 2 are the same tensor"):
        SGD([w, Tensor([1.0], requires_grad=True), w], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 is not a leaf.*MulBackward"):
        SGD([w * 2], lr=0.1)


@pytest.mark.parametrize("make, error, named", [
    (lambda p: SGD(p, lr="0.1"), TypeError, "SGD: lr must be a number, got str '0.1'"),
    (lambda p: SGD(p, lr=None), TypeError, "SGD: lr must be a number, got None"),
    (lambda p: SGD(p, lr=float("nan")), ValueError, "SGD: lr must be non-negative .*got nan"),
    (lambda p: SGD(p, lr=0.1, momentum=float("inf")), ValueError, "momentum must be non-negative .*got inf"),
    (lambda p: SGD(p, lr=0.1, dampening=2.0), ValueError, r"dampening must be in \[0, 1\], got 2.0"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, r"betas must be a pair \(beta1, beta2\), got tuple \(0.9,\)"),
    (lambda p: Adam(p, betas=0.9), ValueError, "betas must be a pair.*float 0.9"),
    (lambda p: Adam(p, betas=(0.9, "0.99")), TypeError, r"betas\[1\] must be a number, got str"),
    (lambda p: Adam(p, eps=-1.0), ValueError, "eps must be non-negative"),
])
def test_optimizer_hyper_parameters(make, error, named):
    with pytest.raises(error, match=named):
        make([Tensor([1.0], requires_grad=True)])


def test_optimizer_load_state_dict_is_checked_before_it_assigns():
    p = Tensor([1.0, 2.0], requires_grad=True)
    adam = Adam([p], lr=0.01)
    with pytest.raises(ValueError, match=r"needs a dict with keys 'defaults' and 'state'.*got \[\]"):
        adam.load_state_dict({})
    sgd_state = SGD([Tensor([1.0, 2.0], requires_grad=True)], lr=0.5, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="hyper-parameters .*dampening.* are not those of Adam"):
        adam.load_state_dict(sgd_state)
    bad = adam.state_dict()
    bad["state"] = [{"step": 1, "exp_avg": np.zeros(2)}]
    with pytest.raises(ValueError, match=r"parameter 0 has keys \['exp_avg', 'step'\], expected \['exp_avg', "):
        adam.load_state_dict(bad)
    assert adam.defaults["lr"] == 0.01 and adam.state == [{}]


# ---- module 07: training ----------------------------------------------------------

def test_accuracy_refuses_labels_of_another_shape():
    logits = Tensor(np.eye(4, 3))
    with pytest.raises(ValueError, match=r"logits of shape \(4, 3\) need class indices of shape \(4,\).*got "
                                         r"targets of shape \(4, 1\)"):
        accuracy(logits, Tensor(np.zeros((4, 1), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"4 single logits.*targets of shape \(3,\)"):
        accuracy(Tensor(np.zeros((4, 1))), Tensor(np.zeros(3)))


@pytest.mark.parametrize("n", [3, 5])
def test_accuracy_with_one_hot_and_probability_targets_also_when_n_equals_c(n):
    logits = np.random.default_rng(n).standard_normal((n, 3))
    labels = np.arange(n) % 3
    expected = float((logits.argmax(axis=1) == labels).mean())
    one_hot = np.eye(3)[labels]
    probabilities = 0.8 * one_hot + 0.2 / 3
    assert accuracy(Tensor(logits), Tensor(labels)) == expected
    assert accuracy(Tensor(logits), Tensor(one_hot)) == expected
    assert accuracy(Tensor(logits), Tensor(probabilities)) == expected


def test_fit_with_one_hot_targets_when_n_equals_c_reports_the_true_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3)).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)  # N == C: a broadcast would compare a 3 x 3 table
    model = Linear(3, 3, rng=0)
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.0))
    trainer.fit([(Tensor(x), Tensor(targets))], epochs=1, progress=False)
    expected = float(((x @ model.weight.data + model.bias.data).argmax(axis=1) == np.arange(3)).mean())
    assert trainer.history["train_accuracy"] == [expected]


def test_clip_grad_norm_refuses_nan_and_non_numbers():
    p = Tensor([0.0], requires_grad=True)
    p.grad = Tensor([10.0])
    with pytest.raises(ValueError, match="max_norm must be positive, got nan"):
        clip_grad_norm([p], float("nan"))
    with pytest.raises(TypeError, match="max_norm must be a number, got str '1'"):
        clip_grad_norm([p], "1")
    assert clip_grad_norm(p, 1.0) == 10.0 and np.isclose(p.grad.data[0], 1.0, atol=1e-6)  # a single tensor


@pytest.mark.parametrize("epochs, error, named", [(2.5, TypeError, "epochs must be an int, got float 2.5"),
                                                   ("2", TypeError, "epochs must be an int, got str '2'"),
                                                   (-1, ValueError, "epochs must be non-negative, got -1")])
def test_fit_epochs(epochs, error, named):
    model = Linear(2, 2, rng=0)
    with pytest.raises(error, match=named):
        Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1)).fit([], epochs=epochs, progress=False)


# ---- module 08: data ----------------------------------------------------------------

def test_tensor_dataset_refuses_strings_and_objects():
    with pytest.raises(TypeError, match=r"TensorDataset: array 1 must hold numbers.*list \['a', 'b'\]"):
        TensorDataset(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(TypeError, match=r"array 0 must hold numbers.*element \(1,\) is None"):
        TensorDataset(np.array([1.0, None], dtype=object))
    assert TensorDataset([[1, 2], [3, 4]]).arrays[0].dtype == np.float32


def test_data_loader_refuses_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="dataset must have __len__ and __getitem__.*got None"):
        DataLoader(None)
    with pytest.raises(TypeError, match="got int 5"):
        DataLoader(5)


class _Ragged(Dataset):
    def __init__(self, examples):
        self.examples = examples

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, i):
        return self.examples[i]


@pytest.mark.parametrize("examples, error, named", [
    ([(np.zeros(2), 0), (np.zeros(3), 1)], ValueError,
     r"field 0 of example 1 has shape \(3,\), but example 0 has \(2,\)"),
    ([(np.zeros(2), 0), (np.zeros(2),)], ValueError, "example 1 is tuple.*example 0 has 2 fields"),
    ([(np.zeros(2), "cat"), (np.zeros(2), "dog")], TypeError, "field 1 of example 0 is str 'cat'"),
    ([([1.0, [2.0]], 0), ([1.0, 2.0], 1)], ValueError, "field 0 of example 0 is ragged"),
])
def test_data_loader_names_the_examples_that_do_not_stack(examples, error, named):
    with pytest.raises(error, match=named):
        list(DataLoader(_Ragged(examples), batch_size=2))


def test_int_labels_of_a_python_dataset_stay_integers():
    (x, y), = DataLoader(_Ragged([(np.zeros(2), 0), (np.ones(2), 1)]), batch_size=2)
    assert y.dtype.kind == "i" and x.shape == (2, 2)


def test_sequential_with_relu_on_a_list_names_the_layer():
    with pytest.raises(TypeError, match="Linear expects a Tensor input, got list"):
        Sequential(Linear(2, 2, rng=0), ReLU())([[1.0, 2.0]])


def test_module_load_state_dict_names_keys_and_loads_all_or_nothing():
    model = Sequential(Linear(3, 4, rng=0), Linear(4, 2, rng=1))
    before = [p.data.copy() for p in model.parameters()]
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"missing keys \['layers.1.weight'\], unexpected keys \['extra'\]"):
        model.load_state_dict({**{k: v for k, v in state.items() if k != "layers.1.weight"}, "extra": np.zeros(1)})
    with pytest.raises(TypeError, match="takes a dict of arrays, got list"):
        model.load_state_dict([1, 2])
    wrong_last = {k: (v + 1 if k != "layers.1.bias" else np.zeros(3)) for k, v in state.items()}
    with pytest.raises(ValueError, match=r"state_dict\['layers.1.bias'\] has shape \(3,\), the parameter has \(2,\)"):
        model.load_state_dict(wrong_last)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))  # nothing was copied
