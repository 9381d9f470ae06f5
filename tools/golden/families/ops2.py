"""Goldens for ops/softmax, ops/index, ops/embedding and ops/norm."""
import torch
import torch.nn.functional as F

from golden_io import Family, rand, randn


def ids(values):
    return torch.tensor(values, dtype=torch.int64)


def rms_norm_ref(x, w, eps, dims):
    # torch 1.13 has no rms_norm: x * rsqrt(mean(x^2) + eps) * weight, written out.
    y = x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + eps)
    return y if w is None else y * w


def batch_norm_case(f, name, x, training, momentum=0.1, eps=1e-5, seed=0):
    """Stores x/weight/bias (in0..2), the running stats before (rm, rv) and after (rm_after,
    rv_after), the output and the gradients. Running stats never require grad, so this case
    is written by hand rather than with Family.op."""
    c = x.shape[1]
    w = randn(c, seed=seed + 1) * 0.5 + 1.0
    b = randn(c, seed=seed + 2)
    rm = randn(c, seed=seed + 3) * 0.3
    rv = rand(c, seed=seed + 4, low=0.5, high=2.0)
    leaves = [t.to(torch.float64).requires_grad_(True) for t in (x, w, b)]
    rm64, rv64 = rm.to(torch.float64), rv.to(torch.float64)
    out = F.batch_norm(leaves[0], rm64, rv64, leaves[1], leaves[2], training=training, momentum=momentum, eps=eps)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1000), dtype=torch.float64)
    g = g.to(torch.float32).to(torch.float64)
    out.backward(g)
    f.add(name, {"in0": x, "in1": w, "in2": b, "rm": rm, "rv": rv, "rm_after": rm64, "rv_after": rv64, "out": out,
                 "gout": g, "grad0": leaves[0].grad, "grad1": leaves[1].grad, "grad2": leaves[2].grad},
          {"training": training, "momentum": momentum, "eps": eps})


def build():
    f = Family("ops2")
    x3 = randn(3, 4, 5, seed=1)
    # ---- softmax family (several axes, and large magnitudes that overflow a naive exp)
    f.op("softmax_last", lambda t: torch.softmax(t, -1), [x3])
    f.op("softmax_axis0", lambda t: torch.softmax(t, 0), [x3])
    f.op("softmax_axis1", lambda t: torch.softmax(t, 1), [x3])
    big = randn(4, 6, seed=2, scale=300.0) + 1000.0
    f.op("softmax_large", lambda t: torch.softmax(t / 30.0, -1), [big])
    f.op("softmax_large_raw", lambda t: torch.softmax(t, 0), [randn(3, 4, seed=3, scale=50.0) - 800.0])
    f.op("log_softmax_last", lambda t: torch.log_softmax(t, -1), [x3])
    f.op("log_softmax_axis0", lambda t: torch.log_softmax(t, 0), [x3])
    f.op("log_softmax_axis1", lambda t: torch.log_softmax(t, 1), [x3])
    f.op("log_softmax_large", lambda t: torch.log_softmax(t, -1), [big])
    # ---- joining and splitting
    f.op("concat_axis1", lambda a, b, c: torch.cat([a, b, c], 1),
         [randn(2, 3, 2, seed=4), randn(2, 1, 2, seed=5), randn(2, 4, 2, seed=6)])
    f.op("stack_axis1", lambda a, b: torch.stack([a, b], 1), [randn(3, 2, seed=7), randn(3, 2, seed=8)])
    f.op("split_axis1", lambda t: torch.split(t, [1, 2, 3], 1), [randn(2, 6, seed=9)])
    f.op("chunk_axis0", lambda t: torch.chunk(t, 3, 0), [randn(5, 2, seed=10)])
    # ---- indexing
    f.op("index_select_axis0", lambda t, i: torch.index_select(t, 0, i), [randn(4, 3, seed=11), ids([3, 0, 3, 1, 2])])
    f.op("index_select_axis1", lambda t, i: torch.index_select(t, 1, i), [randn(2, 4, 3, seed=12), ids([2, 2, 0])])
    f.op("gather_axis1", lambda t, i: torch.gather(t, 1, i),
         [randn(3, 4, 2, seed=13), ids([[[0, 1], [3, 3]], [[2, 0], [1, 1]], [[3, 2], [0, 0]]])])
    f.op("gather_axis0", lambda t, i: torch.gather(t, 0, i), [randn(3, 4, seed=14), ids([[2, 0, 1, 2], [0, 0, 2, 1]])])
    f.op("index_add_axis0", lambda b, i, s: torch.index_add(b, 0, i, s),
         [randn(4, 3, seed=15), ids([1, 3, 1]), randn(3, 3, seed=16)])
    f.op("scatter_add_axis1", lambda b, i, s: torch.scatter_add(b, 1, i, s),
         [randn(2, 4, seed=17), ids([[0, 3, 0], [1, 1, 2]]), randn(2, 3, seed=18)])
    f.op("embedding_padding", lambda i, w: F.embedding(i, w, padding_idx=1),
         [ids([[1, 4, 0], [1, 2, 4]]), randn(5, 3, seed=19)], {"padding_idx": 1})
    f.op("embedding", lambda i, w: F.embedding(i, w), [ids([3, 0, 3]), randn(4, 2, seed=20)])
    f.op("one_hot", lambda i: F.one_hot(i, 4).double(), [ids([[3, 0], [1, 1]])], grad=False)
    # ---- normalization
    batch_norm_case(f, "batch_norm_train", randn(4, 3, 2, 2, seed=21) * 2.0 + 0.5, True, seed=30)
    batch_norm_case(f, "batch_norm_train_2d", randn(6, 3, seed=22) + 3.0, True, momentum=0.3, seed=40)
    batch_norm_case(f, "batch_norm_eval", randn(4, 3, 2, 2, seed=23), False, seed=50)
    xl = randn(2, 3, 4, seed=24) * 2.0 + 1.0
    f.op("layer_norm_last", lambda t, w, b: F.layer_norm(t, [4], w, b, 1e-5),
         [xl, randn(4, seed=25), randn(4, seed=26)], {"eps": 1e-5})
    f.op("layer_norm_last2_noaffine", lambda t: F.layer_norm(t, [3, 4], eps=1e-5), [xl])
    f.op("rms_norm_last", lambda t, w: rms_norm_ref(t, w, 1e-6, [-1]), [xl, randn(4, seed=27)], {"eps": 1e-6})
    f.op("rms_norm_last2_noweight", lambda t: rms_norm_ref(t, None, 1e-5, [-2, -1]), [xl], {"eps": 1e-5})
    return f
