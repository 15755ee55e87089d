"""A small training loop as a PyTorch user writes it: a Module, a DataLoader, optimizers, eval mode."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(2)
X = rng.standard_normal((64, 4)).astype(np.float32)
y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(np.int64) + (X[:, 3] > 1.0)
loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=16, shuffle=False)


class MLP(nn.Module):
    """Two layers with weights in PyTorch's (out, in) layout, set from numpy draws."""

    def __init__(self, sizes):
        super().__init__()
        self.w1 = nn.Parameter(torch.tensor(rng.standard_normal((sizes[1], sizes[0])) * 0.5, dtype=torch.float32))
        self.b1 = nn.Parameter(torch.zeros(sizes[1]))
        self.w2 = nn.Parameter(torch.tensor(rng.standard_normal((sizes[2], sizes[1])) * 0.5, dtype=torch.float32))
        self.b2 = nn.Parameter(torch.zeros(sizes[2]))
        self.act = nn.Sequential(nn.Tanh(), nn.Dropout(0.0))

    def forward(self, x):
        h = self.act(x @ self.w1.T + self.b1)
        return h @ self.w2.transpose(0, 1) + self.b2


def accuracy(model, data):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for xb, yb in data:
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            total += yb.numel()
    model.train()
    return correct / total


for name, make in [("sgd", lambda p: optim.SGD(p, lr=0.1, momentum=0.9)),
                   ("adam", lambda p: optim.Adam(p, lr=0.02)),
                   ("adamw", lambda p: optim.AdamW(p, lr=0.02, weight_decay=0.1))]:
    model = MLP((4, 8, 3))
    optimizer = make(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    print(name, "parameters", sum(p.numel() for p in model.parameters()), len(list(model.parameters())))
    for epoch in range(4):
        running = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            optimizer.step()
            running += loss.item() * len(yb)
        print(f"{name} epoch {epoch} loss {running / len(loader.dataset):.6f} acc {accuracy(model, loader):.4f} "
              f"last_norm {float(norm):.5f}")
    print(name, "w1", model.w1.detach()[0].tolist(), "b2", model.b2.detach().tolist())

# a regression fitted by plain gradient descent, parameters updated in place under no_grad
w = torch.zeros(4, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
targets = torch.tensor(X @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32) + 0.25)
for step in range(30):
    loss = F.mse_loss(torch.tensor(X) @ w + b, targets)
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()
    if step % 10 == 9:
        print(f"regression step {step} loss {loss.item():.6f}", w.tolist(), b.tolist())
