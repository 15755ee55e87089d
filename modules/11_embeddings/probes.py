"""Probes of module 11's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. Probes are keyed by the graded cell's grade_id.
"""

import numpy as np


def embedding_lookup_and_scatter_add(nb):
    weight = nb.Tensor(np.arange(15, dtype=np.float32).reshape(5, 3) / 7, requires_grad=True)
    ids = np.array([[2, 0, 2], [4, 2, 1]])
    out = nb.EmbeddingBackward.apply(weight, ids=ids)
    out.backward(np.arange(18, dtype=np.float32).reshape(2, 3, 3) - 4)
    return {"out": out, "grad": weight.grad, "dtype": str(weight.grad.dtype)}


def embedding_padding(nb):
    weight = nb.Tensor(np.ones((6, 2)), requires_grad=True)
    out = nb.EmbeddingBackward.apply(weight, ids=np.array([5, 5, 1, 3, 5]), padding_idx=5)
    out.backward(np.linspace(-1, 1, 10).reshape(5, 2))
    return {"shape": np.array(out.shape), "grad": weight.grad}


def sinusoidal_values(nb):
    table = nb.sinusoidal_table(40, 6)
    odd = nb.sinusoidal_table(9, 5)
    return {"table": table, "dtype": str(table.dtype), "odd": odd, "odd_shape": np.array(odd.shape),
            "float64": nb.sinusoidal_table(3, 4, dtype=np.float64)}


PROBES = {
    "test_embedding_backward": [embedding_lookup_and_scatter_add, embedding_padding],
    "test_sinusoidal_table": [sinusoidal_values],
}
