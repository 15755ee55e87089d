"""Tensor manipulation as a PyTorch user writes it: shapes, indexing, reductions, in-place, gradients."""

import numpy as np
import torch

rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((2, 3, 4)), dtype=torch.float32, requires_grad=True)
print("shape", list(x.shape), x.size(), x.size(1), x.numel(), x.dim())

t = x.transpose(0, 1)
p = x.permute(2, 0, 1)
print("transpose", list(t.shape), t[1, 0].tolist())
print("permute", list(p.shape), p[3, 1].tolist())
print("T", x[0].T.tolist())
print("view", x.view(6, 4)[5].tolist(), list(x.view(-1).shape), list(x.reshape(4, -1).shape))
print("unsqueeze", list(x.unsqueeze(0).shape), list(x.unsqueeze(-1).shape), list(x[:, :1].squeeze(1).shape))
print("flatten", list(x.flatten().shape), list(x.flatten(1).shape), list(x.flatten(0, 1).shape))

print(f"sum {x.sum().item():.6f}", x.sum(dim=1).tolist())
print("mean keepdim", x.mean(dim=-1, keepdim=True).tolist())
print("numpy aliases", x.sum(axis=2).tolist())
values, indices = x.max(dim=2)
print("max dim", values.tolist(), indices.tolist())
mins = torch.min(x, dim=0)
print("min dim", mins.values.tolist(), mins.indices.tolist())
print(f"max {x.max().item():.6f} min {x.min().item():.6f}")
print("argmax", x.argmax(dim=1).tolist(), x.argmax().item(), x.argmin(dim=-1, keepdim=True).tolist())
print("amax", x.amax(dim=(0, 2)).tolist())
print("var std", x.var(dim=2).tolist(), x.std().item())
print("norm", x.norm().item(), x.norm(dim=1).tolist())

y = torch.tensor(rng.standard_normal((2, 3, 4)), dtype=torch.float32)
print("maximum", torch.maximum(x, y)[0].tolist(), torch.max(x, y)[1].tolist())
print("where", torch.where(x > 0, x, y * 2)[1].tolist())
print("clamp", x.clamp(-0.5, 0.5)[0, 0].tolist(), torch.clamp(x, min=0.0)[1, 2].tolist())
print("masked_fill", x.masked_fill(x < 0, 0.0)[0, 1].tolist())

a = torch.tensor(rng.standard_normal((3, 4)), dtype=torch.float32)
b = torch.tensor(rng.standard_normal((4, 2)), dtype=torch.float32)
print("matmul", (a @ b).tolist(), torch.matmul(a, b).sum().item(), a.matmul(b)[0].tolist())
print("cat", torch.cat([a, a * 2], dim=0).sum(dim=0).tolist(), list(torch.cat([a, a], dim=1).shape))
print("stack", list(torch.stack([a, a, a], dim=1).shape), torch.stack([a[0], a[1]]).tolist())
index = torch.tensor([[0, 3], [2, 2], [1, 0]])
print("gather", a.gather(1, index).tolist())
labels = torch.tensor([2, 0, 3])
one_hot = torch.zeros(3, 4).scatter_(1, labels.unsqueeze(1), 1.0)
print("one-hot", one_hot.tolist())
print("expand", a[:, :1].expand(3, 4).tolist(), list(a[0].expand(2, 4).shape))
print("indexing", a[1:, ::2].tolist(), a[[0, 2]].tolist(), a[a > 0].tolist())
ordered = a.sort(dim=1, descending=True)
print("sort topk", ordered.values.tolist(), ordered.indices.tolist(), a.topk(2, dim=0).indices.tolist())
print("chunk split repeat", [c.sum().item() for c in a.chunk(2, dim=1)], [list(p.shape) for p in a.split(2)],
      a[0, :2].repeat(2, 2).tolist())
causal = torch.tril(torch.ones(4, 4))
print("tril", causal.tolist(), a.masked_fill(causal[:3] == 0, float("-inf")).softmax(dim=-1).tolist())

c = a.clone()
c += 1
c *= 2
c[0, 0] = -5.0
c[1] = 0.25
c.clamp_(-1.0, 3.0)
print("in place", c.tolist())
z = torch.zeros(2, 3)
z.fill_(0.5)
z.zero_()
print("zero_ fill_", z.tolist())

ints = torch.arange(6)
print("dtypes", ints.tolist(), ints.float().mean().item(), (ints * 2).sum().item(), ints.view(2, 3).sum(dim=0).tolist())
print("linspace eye full", torch.linspace(0, 1, 5).tolist(), torch.eye(3).sum().item(), torch.full((2, 2), 7).tolist())
print(f"format {x.sum():.4f} {a.mean():.3f}")
print("allclose", np.allclose(a, a.numpy()), torch.allclose(a, a + 1e-9))

loss = (x.transpose(1, 2).flatten(1) ** 2).sum() + torch.max(x, dim=1).values.sum() + x.gather(2, x.argmax(2, keepdim=True)).sum()
loss = loss + x.unsqueeze(0).expand(3, 2, 3, 4).mean() + torch.cat([x, x.exp()], dim=-1).std()
loss.backward()
print(f"loss {loss.item():.5f}")
print("grad", x.grad[0].tolist())

with torch.no_grad():
    x -= 0.1 * x.grad
print("after step", x[1, 2].tolist())
