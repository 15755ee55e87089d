"""A loss comparison as a PyTorch tutorial writes it: nine sections, values and gradients on random data."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(1)


def leaf(*shape, scale=1.0):
    return torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float32, requires_grad=True)


# 1. regression losses with outliers
pred = leaf(8)
target = torch.tensor(rng.standard_normal(8), dtype=torch.float32)
target[0] = 12.0
target[5] = -9.0
for name, fn in [("mse", nn.MSELoss()), ("l1", nn.L1Loss()), ("huber", nn.HuberLoss(delta=1.0)),
                 ("smooth_l1", nn.SmoothL1Loss(beta=0.5))]:
    pred.grad = None
    loss = fn(pred, target)
    loss.backward()
    print(f"{name} {loss.item():.6f}", pred.grad.tolist())
print("sum/none", F.mse_loss(pred, target, reduction="sum").item(), F.l1_loss(pred, target, reduction="none").tolist())

# 2. cross-entropy stays finite at huge logits
logits = leaf(4, 5, scale=1e4)
labels = torch.tensor([0, 3, 4, 1])
ce = F.cross_entropy(logits, labels)
ce.backward()
print(f"stable_ce {ce.item():.4f}", logits.grad.sum(dim=1).tolist())
manual = -(logits - torch.logsumexp(logits, dim=1, keepdim=True)).gather(1, labels.unsqueeze(1)).mean()
print(f"manual_ce {manual.item():.4f}", F.log_softmax(logits, dim=1).max(dim=1).values.tolist())

# 3. focal loss, by hand from per-sample cross-entropy
logits = leaf(6, 3)
labels = torch.tensor([0, 2, 1, 1, 0, 2])
per_sample = F.cross_entropy(logits, labels, reduction="none")
pt = torch.exp(-per_sample)
focal = ((1 - pt) ** 2 * per_sample).mean()
focal.backward()
print(f"focal {focal.item():.6f} ce {per_sample.mean().item():.6f}", logits.grad[0].tolist())

# 4. label smoothing and class weights
logits.grad = None
smooth = nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels)
weighted = F.cross_entropy(logits, labels, weight=torch.tensor([1.0, 2.0, 0.5]))
(smooth + weighted).backward()
print(f"smoothing {smooth.item():.6f} weighted {weighted.item():.6f}", logits.grad[1].tolist())
nll = F.nll_loss(F.log_softmax(logits, dim=1), labels)
print(f"nll {nll.item():.6f}")

# 5. contrastive loss on pairs, distances by hand
a, b = leaf(5, 4), leaf(5, 4)
same = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])
d = ((a - b) ** 2).sum(dim=1).sqrt()
contrastive = (same * d ** 2 + (1 - same) * torch.clamp(2.0 - d, min=0.0) ** 2).mean() / 2
contrastive.backward()
cosine = (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1))
print(f"contrastive {contrastive.item():.6f}", d.tolist(), cosine.tolist(), a.grad[0].tolist())
a.grad = None
library = (F.pairwise_distance(a, b) + F.cosine_similarity(a, b, dim=1) + F.normalize(a, dim=1)[:, 0]).sum()
library.backward()
print(f"library_distances {library.item():.6f}", a.grad[1].tolist(), F.one_hot(labels, num_classes=3).tolist())

# 6. triplet margin
anchor, positive, negative = leaf(4, 3), leaf(4, 3), leaf(4, 3)
triplet = nn.TripletMarginLoss(margin=1.0)(anchor, positive, negative)
triplet.backward()
print(f"triplet {triplet.item():.6f}", anchor.grad.tolist())
ranking = F.margin_ranking_loss(anchor[:, 0], positive[:, 0], torch.tensor([1.0, -1.0, 1.0, -1.0]), margin=0.5)
print(f"ranking {ranking.item():.6f}")

# 7. Dice on a segmentation-like mask
mask_logits = leaf(2, 1, 4, 4)
mask = torch.tensor(rng.random((2, 1, 4, 4)) > 0.5, dtype=torch.float32)
probs = torch.sigmoid(mask_logits)
dice = 1 - (2 * (probs * mask).sum() + 1.0) / (probs.sum() + mask.sum() + 1.0)
bce = F.binary_cross_entropy_with_logits(mask_logits, mask)
(dice + bce).backward()
print(f"dice {dice.item():.6f} bce_logits {bce.item():.6f}", mask_logits.grad[0, 0, 0].tolist())
print(f"bce_probs {F.binary_cross_entropy(probs, mask).item():.6f}")

# 8. uncertainty weighting of two task losses
log_vars = torch.zeros(2, requires_grad=True)
task_losses = [F.mse_loss(pred, target), F.cross_entropy(logits, labels)]
total = sum(torch.exp(-log_vars[i]) * task_losses[i] + log_vars[i] for i in range(2))
total.backward()
print(f"uncertainty {total.item():.6f}", log_vars.grad.tolist())

# 9. a loss landscape: MSE of y = w x along a line of w
x = torch.tensor(rng.standard_normal(16), dtype=torch.float32)
y = 1.5 * x + torch.tensor(rng.standard_normal(16) * 0.1, dtype=torch.float32)
landscape = [F.mse_loss(w * x, y).item() for w in torch.linspace(-1.0, 3.0, 9)]
print("landscape", [round(v, 6) for v in landscape], int(torch.tensor(landscape).argmin()))

# distributions: KL divergence and Gaussian NLL
p_log = F.log_softmax(leaf(3, 4), dim=-1)
q = F.softmax(torch.tensor(rng.standard_normal((3, 4)), dtype=torch.float32), dim=-1)
print(f"kl {F.kl_div(p_log, q, reduction='batchmean').item():.6f}")
mean, var = leaf(5), torch.tensor(rng.random(5) + 0.5, dtype=torch.float32)
print(f"gaussian_nll {F.gaussian_nll_loss(mean, target[:5], var).item():.6f}")
