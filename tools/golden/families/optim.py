"""Goldens for optim: optimizer trajectories, LR schedules, gradient clipping.

Optimizers: two parameters ("fc.weight" [3,4], "fc.bias" [4]) start from stored values; at
each of 3 steps the gradient is a fixed function of the current parameters (a quadratic
pull toward a target plus a sin term), rounded to float32 and stored, so C++ feeds exactly
the same gradients. Stored roles: "fc.weight" / "fc.bias" (initial), "grad<k>/<name>"
(gradient at step k, absent = no gradient that step), "final/<name>" (after 3 steps) and
"state/<name>.<slot>" (PyTorch's optimizer state after 3 steps, for slots Forge keeps).
"""
import math

import torch

from golden_io import Family, randn

NAMES = ["fc.weight", "fc.bias"]
STEPS = 3

SLOTS = {
    "SGD": ["momentum_buffer"],
    "Adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    "AdamW": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    "RMSprop": ["square_avg", "momentum_buffer", "grad_avg"],
    "Adagrad": ["sum"],
}


def gradient(p, target):
    g = 2.0 * (p - target) + 0.5 * torch.sin(3.0 * p)
    return g.to(torch.float32).to(torch.float64)


def make_optimizer(kind, groups, options):
    opts = dict(options)
    if kind == "SGD":
        return torch.optim.SGD(groups, **opts)
    if kind in ("Adam", "AdamW"):
        betas = (opts.pop("beta1", 0.9), opts.pop("beta2", 0.999))
        return getattr(torch.optim, kind)(groups, betas=betas, **opts)
    return getattr(torch.optim, kind)(groups, **opts)


def trajectory(f, case, kind, options, groups=None, skip=None):
    """groups: [{"params": [names], "weight_decay": x, "lr_scale": s}]; skip: {step: [names]}."""
    init = {"fc.weight": randn(3, 4, seed=1), "fc.bias": randn(4, seed=2)}
    targets = {"fc.weight": randn(3, 4, seed=3).double(), "fc.bias": randn(4, seed=4).double()}
    params = {n: init[n].double().clone().requires_grad_(True) for n in NAMES}
    lr = options.get("lr")
    if groups:
        torch_groups = []
        for g in groups:
            tg = {"params": [params[n] for n in g["params"]]}
            if "weight_decay" in g:
                tg["weight_decay"] = g["weight_decay"]
            if "lr_scale" in g:
                tg["lr"] = lr * g["lr_scale"]
            torch_groups.append(tg)
    else:
        torch_groups = [params[n] for n in NAMES]
    opt = make_optimizer(kind, torch_groups, options)
    record = dict(init)
    for k in range(STEPS):
        for n in NAMES:
            p = params[n]
            if skip and n in skip.get(k, []):
                p.grad = None
                continue
            p.grad = gradient(p.detach(), targets[n])
            record[f"grad{k}/{n}"] = p.grad
        opt.step()
    for n in NAMES:
        record[f"final/{n}"] = params[n]
        state = opt.state[params[n]]
        for slot in SLOTS[kind]:
            if slot in state and torch.is_tensor(state[slot]) and state[slot] is not None:
                record[f"state/{n}.{slot}"] = state[slot]
    args = {"optimizer": kind, "options": options, "steps": STEPS}
    if groups:
        args["groups"] = groups
    f.add(case, record, args)


def schedules(f):
    steps = 13
    base = 0.1

    def run(name, make, args):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base)
        sched = make(opt)
        lrs = []
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        f.add(name, {"lr": torch.tensor(lrs, dtype=torch.float64)}, dict(args, base_lr=base, steps=steps))

    S = torch.optim.lr_scheduler
    run("sched_step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), {"step_size": 3, "gamma": 0.5})
    run("sched_exponential", lambda o: S.ExponentialLR(o, gamma=0.9), {"gamma": 0.9})
    # CosineAnnealingLR with T_max = total; only steps <= total are compared (torch then rises again).
    run("sched_cosine", lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.001), {"total": 12, "min_lr": 0.001})

    # Hugging Face's warmup schedules (transformers.optimization) as LambdaLR, with a floor.
    warmup, total, floor = 3, 10, 0.01

    def linear(step):
        if step < warmup:
            return step / warmup
        return floor / base + (1 - floor / base) * max(0.0, (total - step) / (total - warmup))

    def cosine(step):
        if step < warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / (total - warmup))
        return floor / base + (1 - floor / base) * 0.5 * (1.0 + math.cos(math.pi * progress))

    args = {"warmup": warmup, "total": total, "min_lr": floor}
    run("sched_warmup_linear", lambda o: S.LambdaLR(o, linear), args)
    run("sched_warmup_cosine", lambda o: S.LambdaLR(o, cosine), args)


def clipping(f):
    grads = {"a": randn(3, 4, seed=5, scale=2.0), "b": randn(5, seed=6, scale=2.0)}

    def run(name, clip, args):
        params = {n: torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for n, g in grads.items()}
        for n, p in params.items():
            p.grad = grads[n].double().clone()
        total = clip(list(params.values()))
        record = {f"grad/{n}": g for n, g in grads.items()}
        record.update({f"clipped/{n}": p.grad for n, p in params.items()})
        if total is not None:
            record["total_norm"] = torch.as_tensor(total, dtype=torch.float64).reshape(1)
        f.add(name, record, args)

    U = torch.nn.utils
    run("clip_norm", lambda ps: U.clip_grad_norm_(ps, 1.0), {"max_norm": 1.0, "norm_type": 2.0})
    run("clip_norm_noop", lambda ps: U.clip_grad_norm_(ps, 100.0), {"max_norm": 100.0, "norm_type": 2.0})
    run("clip_norm_inf", lambda ps: U.clip_grad_norm_(ps, 0.5, norm_type=math.inf),
        {"max_norm": 0.5, "norm_type": "inf"})
    run("clip_norm_p1", lambda ps: U.clip_grad_norm_(ps, 2.0, norm_type=1.0), {"max_norm": 2.0, "norm_type": 1.0})
    run("clip_value", lambda ps: U.clip_grad_value_(ps, 0.75), {"clip": 0.75})


def build():
    f = Family("optim")
    t = trajectory
    t(f, "sgd", "SGD", {"lr": 0.1})
    t(f, "sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9})
    t(f, "sgd_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3})
    t(f, "sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True})
    t(f, "sgd_weight_decay", "SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.05})
    t(f, "sgd_groups", "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
      groups=[{"params": ["fc.weight"]}, {"params": ["fc.bias"], "weight_decay": 0.0, "lr_scale": 0.5}])
    t(f, "adam", "Adam", {"lr": 0.01})
    t(f, "adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True, "beta1": 0.8, "beta2": 0.99})
    t(f, "adam_weight_decay", "Adam", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-6})
    t(f, "adam_skip", "Adam", {"lr": 0.01}, skip={1: ["fc.bias"]})
    t(f, "adamw", "AdamW", {"lr": 0.01, "weight_decay": 0.1})
    t(f, "adamw_amsgrad", "AdamW", {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True})
    t(f, "adamw_groups", "AdamW", {"lr": 0.01, "weight_decay": 0.1},
      groups=[{"params": ["fc.weight"], "lr_scale": 2.0}, {"params": ["fc.bias"], "weight_decay": 0.0}])
    t(f, "rmsprop", "RMSprop", {"lr": 0.01})
    t(f, "rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True})
    t(f, "rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9})
    t(f, "rmsprop_all", "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True,
                                    "weight_decay": 0.1, "eps": 1e-6})
    t(f, "adagrad", "Adagrad", {"lr": 0.1})
    t(f, "adagrad_decay", "Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1,
                                      "weight_decay": 0.05})
    schedules(f)
    clipping(f)
    return f
