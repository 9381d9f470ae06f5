"""Goldens for nn/loss: regression, binary and categorical losses in every reduction.

The target is detached in the reference (targets never get gradients), so only grad0 is
stored. Keras-semantics probability cross entropies are written out by hand: renormalize
rows, clip to [1e-7, 1 - 1e-7], then -sum(t * log p).
"""
import torch
import torch.nn.functional as F

from golden_io import Family, rand, randn

REDUCTIONS = ["mean", "sum", "none"]
EPS = 1e-7


def keras_log_probs(p):
    p = p / p.sum(1, keepdim=True)
    return torch.log(torch.clamp(p, EPS, 1 - EPS))


def reduce(losses, reduction, weights=None):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weights.sum() if weights is not None else losses.mean()


def labels(n, classes, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, classes, (n,), generator=g, dtype=torch.int64)


def build():
    f = Family("losses")

    def case(name, fn, inputs, args, grad=True):
        # Inputs after the first are targets/weights: detached so they get no gradient.
        f.op(name, lambda x, *rest: fn(x, *[r.detach() for r in rest]), inputs, args, grad=grad)

    pred, target = randn(3, 4, seed=1), randn(3, 4, seed=2)
    big_pred = randn(3, 4, seed=3, scale=2.0)
    for r in REDUCTIONS:
        case(f"mse_{r}", lambda x, t: F.mse_loss(x, t, reduction=r), [pred, target], {"reduction": r})
        case(f"mae_{r}", lambda x, t: F.l1_loss(x, t, reduction=r), [pred, target], {"reduction": r})
        case(f"huber_{r}", lambda x, t: F.huber_loss(x, t, reduction=r, delta=1.0), [big_pred, target],
             {"reduction": r, "delta": 1.0})
    case("huber_delta", lambda x, t: F.huber_loss(x, t, delta=0.5), [big_pred, target], {"reduction": "mean", "delta": 0.5})

    probs = rand(3, 4, seed=4, low=0.02, high=0.98)
    soft = rand(3, 4, seed=5)
    weight = rand(4, seed=6, low=0.5, high=2.0)
    logits = randn(3, 4, seed=7, scale=3.0)
    extreme = torch.tensor([[80.0, -80.0, 0.5, -0.25], [-80.0, 80.0, 79.0, -79.5], [3.0, -3.0, 80.0, -80.0]])
    for r in REDUCTIONS:
        case(f"bce_{r}", lambda x, t: F.binary_cross_entropy(x, t, reduction=r), [probs, soft], {"reduction": r})
        case(f"bce_weight_{r}", lambda x, t, w: F.binary_cross_entropy(x, t, weight=w, reduction=r),
             [probs, soft, weight], {"reduction": r})
        case(f"bce_logits_{r}", lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=r), [logits, soft],
             {"reduction": r})
        case(f"bce_logits_weight_{r}",
             lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=r), [logits, soft, weight],
             {"reduction": r})
    case("bce_logits_extreme", lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
         [extreme, soft], {"reduction": "sum"})
    # p exactly 0 or 1: the clamped log gives 100 per element; forward only (PyTorch's
    # backward there divides by max(p(1-p), 1e-12) while the clamp's gradient is 0).
    hard_probs = torch.tensor([[0.0, 1.0, 0.5, 1.0], [1.0, 0.0, 0.25, 0.0], [0.5, 0.5, 0.5, 0.5]])
    case("bce_saturated", lambda x, t: F.binary_cross_entropy(x, t, reduction="none"), [hard_probs, soft],
         {"reduction": "none"}, grad=False)

    # Categorical: rows not normalized (Keras renormalizes), one entry at 0 (clipped).
    cprobs = rand(4, 5, seed=8, low=0.05, high=1.0)
    cprobs[1, 2] = 0.0
    ctarget = torch.softmax(randn(4, 5, seed=9).double(), 1).float()
    clogits = randn(4, 5, seed=10, scale=2.0)
    cextreme = torch.tensor([[80.0, -80.0, 0.0, 1.0, -1.0], [-80.0, -80.0, 80.0, 79.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0, 0.0], [80.0, 80.0, -80.0, 2.0, 3.0]])
    for r in REDUCTIONS:
        case(f"cce_{r}", lambda x, t: reduce(-(t * keras_log_probs(x)).sum(1), r), [cprobs, ctarget], {"reduction": r})
        case(f"cce_logits_{r}", lambda x, t: reduce(-(t * torch.log_softmax(x, 1)).sum(1), r), [clogits, ctarget],
             {"reduction": r})
    case("cce_logits_extreme", lambda x, t: reduce(-(t * torch.log_softmax(x, 1)).sum(1), "none"),
         [cextreme, ctarget], {"reduction": "none"})

    # Sparse: int64 class ids, optional class weights (PyTorch weighted mean).
    ids = labels(4, 5, seed=11)
    cw = rand(5, seed=12, low=0.2, high=3.0)
    for r in REDUCTIONS:
        case(f"scce_{r}", lambda x, y: reduce(-keras_log_probs(x).gather(1, y[:, None])[:, 0], r), [cprobs, ids],
             {"reduction": r})
        case(f"scce_weight_{r}",
             lambda x, y, w: reduce(-keras_log_probs(x).gather(1, y[:, None])[:, 0] * w[y], r, w[y]),
             [cprobs, ids, cw], {"reduction": r})
        case(f"scce_logits_{r}", lambda x, y: F.cross_entropy(x, y, reduction=r), [clogits, ids], {"reduction": r})
        case(f"scce_logits_weight_{r}", lambda x, y, w: F.cross_entropy(x, y, weight=w, reduction=r),
             [clogits, ids, cw], {"reduction": r})
    case("scce_logits_extreme", lambda x, y: F.cross_entropy(x, y, reduction="none"),
         [cextreme, torch.tensor([1, 0, 3, 2])], {"reduction": "none"})
    # A larger batch (many classes) so the fused kernel's row loop is exercised.
    case("scce_logits_large", lambda x, y: F.cross_entropy(x, y), [randn(64, 100, seed=13, scale=3.0),
                                                                  labels(64, 100, seed=14)], {"reduction": "mean"})
    return f
