"""The one table of the course: modules, what they export, and what each milestone needs.

Everything in tito that speaks of a module number (export, status, start,
complete, test, nbgrader, milestone checks) reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tito_cli import CommandError


@dataclass(frozen=True)
class Module:
    number: str  # "04"
    name: str  # "losses"
    target: str  # package module the export cells are written to
    exports: tuple[str, ...]  # key names a later module or milestone relies on
    # more notebooks in the module's folder, read after the main one: provided code and demos, no
    # graded cell. Their export cells follow the main source's in the same target.
    companions: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        """Folder name and nbgrader assignment name, e.g. ``04_losses``."""
        return f"{self.number}_{self.name}"

    @property
    def source(self) -> Path:
        """The jupytext percent source with the graded tasks (the one a student works in), relative to the root."""
        return Path("modules") / self.slug / f"{self.name}.py"

    @property
    def sources(self) -> tuple[Path, ...]:
        """Every notebook of the module in reading order: the main source, then its companions."""
        return (self.source,) + tuple(Path("modules") / self.slug / f"{name}.py" for name in self.companions)

    @property
    def target_path(self) -> Path:
        return Path(*self.target.split(".")).with_suffix(".py")

    @property
    def tests(self) -> Path:
        return Path("tests") / f"test_{self.slug}.py"


@dataclass(frozen=True)
class Milestone:
    number: str
    name: str
    year: int
    script: str  # relative to the project root
    needs: tuple[str, ...]  # module numbers
    summary: str


MODULES: tuple[Module, ...] = (
    Module("01", "tensor", "tinytorch.core.tensor", ("Tensor", "Function")),
    Module("02", "activations", "tinytorch.core.activations", ("ReLU", "Sigmoid", "Tanh", "GELU", "Softmax")),
    Module("03", "layers", "tinytorch.core.layers", ("Module", "Linear", "Sequential", "Dropout")),
    Module("04", "losses", "tinytorch.core.losses", ("CrossEntropyLoss", "MSELoss", "log_softmax", "logsumexp"),
           companions=("losses_family", "losses_practice")),
    Module("05", "autograd", "tinytorch.core.autograd", ("backward", "no_grad", "gradcheck")),
    Module("06", "optimizers", "tinytorch.core.optimizers", ("Optimizer", "SGD", "Adam", "AdamW")),
    Module("07", "training", "tinytorch.core.training", ("Trainer",)),
    Module("08", "dataloader", "tinytorch.data.loader", ("Dataset", "TensorDataset", "DataLoader")),
    Module("09", "convolutions", "tinytorch.core.spatial",
           ("Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "conv2d", "max_pool2d", "avg_pool2d")),
    Module("10", "tokenization", "tinytorch.text.tokenization", ("CharTokenizer", "BPETokenizer")),
    Module("11", "embeddings", "tinytorch.core.embeddings",
           ("Embedding", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding")),
    Module("12", "attention", "tinytorch.core.attention", ("scaled_dot_product_attention", "MultiheadAttention")),
    Module("13", "transformers", "tinytorch.core.transformer",
           ("LayerNorm", "TransformerBlock", "GPT", "KVCache", "generate")),
)

MILESTONES: tuple[Milestone, ...] = (
    Milestone("01", "perceptron", 1957, "milestones/01_perceptron.py", ("01", "02", "03", "04", "05", "06"),
              "Rosenblatt's perceptron separates two linearly separable clouds."),
    Milestone("02", "xor", 1969, "milestones/02_xor.py", ("01", "02", "03", "04", "05", "06", "07", "08"),
              "Minsky and Papert's XOR: one layer fails, a hidden layer solves it."),
    Milestone("03", "mlp_digits", 1986, "milestones/03_mlp_digits.py", ("01", "02", "03", "04", "05", "06", "07", "08"),
              "Backpropagation trains an MLP on 8x8 handwritten digits to >= 97% test accuracy."),
    Milestone("04", "cnn_digits", 1998, "milestones/04_cnn_digits.py",
              ("01", "02", "03", "04", "05", "06", "07", "08", "09"),
              "LeNet's convolutions and pooling beat the MLP on the same digits: >= 98% test accuracy."),
    Milestone("05", "transformer", 2017, "milestones/05_transformer.py",
              ("01", "02", "03", "04", "05", "06", "10", "11", "12", "13"),
              "A transformer reverses digit strings (>= 99% exact) and learns a character language model "
              "(<= 0.8x the bigram's validation loss)."),
)


def find_module(number: str) -> Module:
    """Look a module up by number ("4", "04") or slug ("04_losses"); CommandError names the choices."""
    key = str(number).strip()
    for module in MODULES:
        if key in (module.number, module.slug, module.name) or (key.isdigit() and int(key) == int(module.number)):
            return module
    choices = ", ".join(m.slug for m in MODULES)
    raise CommandError(f"unknown module {number!r}; choose one of: {choices}")


def find_milestone(number: str) -> Milestone:
    key = str(number).strip()
    for milestone in MILESTONES:
        if key in (milestone.number, milestone.name) or (key.isdigit() and int(key) == int(milestone.number)):
            return milestone
    choices = ", ".join(f"{m.number} ({m.name})" for m in MILESTONES)
    raise CommandError(f"unknown milestone {number!r}; choose one of: {choices}")
