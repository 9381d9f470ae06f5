// Gradient checks, values and errors for ops/index and ops/embedding.
#include "ops/embedding.h"
#include "ops/index.h"
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

Tensor ids(const std::vector<int64_t>& v, const Shape& shape) { return from_vector<int64_t>(v, shape); }

TEST(Concat, ValuesAndGradcheck) {
  Tensor a = randn_leaf({2, 3}, 1), b = randn_leaf({2, 1}, 2), c = randn_leaf({2, 2}, 3);
  Tensor y = concat({a, b, c}, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 6}));
  EXPECT_EQ(y.select(1, 3).to_vector<float>(), b.reshape({2}).to_vector<float>());
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return concat(in, -1); }, {a, b, c}));
  Tensor d = randn_leaf({1, 3}, 4);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return concat(in, 0); }, {a, d}));
  // Integer tensors concatenate too (token ids).
  EXPECT_EQ(concat({ids({1, 2}, {2}), ids({3}, {1})}).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Stack, ValuesAndGradcheck) {
  Tensor a = randn_leaf({2, 3}, 1), b = randn_leaf({2, 3}, 2);
  EXPECT_EQ(stack({a, b}, 0).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(stack({a, b}, -1).shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(stack({a, b}, 2).select(2, 1).to_vector<float>(), b.to_vector<float>());
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return stack(in, 1); }, {a, b}));
}

TEST(Split, ViewsAndGradcheck) {
  Tensor x = randn_leaf({4, 6}, 5);
  Tensors parts = split(x, {1, 2, 3}, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].shape(), (Shape{4, 3}));
  EXPECT_EQ(parts[1].storage(), x.storage());  // a view, no copy
  EXPECT_TRUE(grad_ok(
      [](const Tensors& in) {
        Tensors p = split(in[0], {1, 2, 3}, 1);
        return concat({mul(p[0], 2.0), p[2], p[1]}, 1);
      },
      {x}));
  Tensors ch = chunk(x, 3, 1);
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch[0].shape(), (Shape{4, 2}));
  Tensors uneven = chunk(x, 4, 0);  // 4 rows in 4 chunks
  EXPECT_EQ(uneven.size(), 4u);
  Tensors fewer = chunk(x, 4, 1);  // 6 columns: sizes 2, 2, 2 (torch.chunk returns 3)
  EXPECT_EQ(fewer.size(), 3u);
  Tensors last_short = chunk(randn_leaf({5}, 1), 2);
  EXPECT_EQ(last_short[1].shape(), (Shape{2}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return mul(chunk(in[0], 2, 0)[1], 3.0); }, {x}));
}

TEST(IndexSelect, ValuesAndGradcheckWithRepeats) {
  Tensor x = randn_leaf({3, 4}, 6);
  Tensor idx = ids({2, 0, 2}, {3});
  Tensor y = index_select(x, 0, idx);
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(y.select(0, 0).to_vector<float>(), x.select(0, 2).to_vector<float>());
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return index_select(in[0], 0, idx); }, {x}));
  Tensor idx32 = from_vector<int32_t>({3, 1}, {2});
  EXPECT_TRUE(grad_ok([idx32](const Tensors& in) { return index_select(in[0], 1, idx32); }, {x}));
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return index_select(in[0].t(), 1, idx); }, {x}));
}

TEST(IndexAdd, ValuesAndGradcheck) {
  Tensor base = randn_leaf({4, 3}, 7), src = randn_leaf({3, 2}, 8);
  Tensor idx = ids({1, 3, 1}, {3});
  Tensor y = index_add(base, 1, ids({0, 2}, {2}), randn_leaf({4, 2}, 9));
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  Tensor out = index_add(zeros({2, 2}), 0, ids({1, 1}, {2}), ones({2, 2}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{0, 0, 2, 2}));
  Tensor base2 = randn_leaf({5, 2}, 10);
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return index_add(in[0], 0, idx, in[1]); }, {base2, src}));
}

TEST(Gather, ValuesAndGradcheck) {
  Tensor x = from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_EQ(gather(x, 1, ids({0, 0, 1, 0}, {2, 2})).to_vector<float>(), (std::vector<float>{1, 1, 4, 3}));
  EXPECT_EQ(gather(x, 0, ids({1, 0}, {1, 2})).to_vector<float>(), (std::vector<float>{3, 2}));
  Tensor xl = randn_leaf({3, 4, 2}, 11);
  Tensor idx = ids({0, 3, 3, 1, 2, 2, 0, 0, 1, 1, 3, 2}, {3, 2, 2});  // smaller than x along axis 1 and 2
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return gather(in[0], 1, idx); }, {xl}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return gather(in[0].permute({2, 1, 0}), 0, ids({1, 0, 1}, {1, 1, 3})); },
                      {xl}));
}

TEST(ScatterAdd, ValuesAndGradcheck) {
  Tensor out = scatter_add(zeros({2, 3}), 1, ids({0, 0, 2, 1}, {2, 2}), from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{3, 0, 0, 0, 4, 3}));
  Tensor base = randn_leaf({3, 4}, 12), src = randn_leaf({4, 3}, 13);  // source bigger than index
  Tensor idx = ids({0, 2, 2, 1, 0, 0}, {2, 3});
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return scatter_add(in[0], 0, idx, in[1]); }, {base, src}));
  Tensor s2 = randn_leaf({4, 3}, 14);
  sum(scatter_add(zeros({3, 4}), 0, idx, s2)).backward();
  EXPECT_EQ(s2.grad().select(0, 3).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(s2.grad().select(0, 0).to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST(OneHot, Values) {
  Tensor y = one_hot(ids({2, 0, 1, 2}, {2, 2}), 3);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.dtype(), DType::kF32);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(one_hot(ids({4}, {1}), -1).shape(), (Shape{1, 5}));
}

TEST(Embedding, ValuesAndGradcheckWithPadding) {
  Tensor w = randn_leaf({5, 3}, 15);
  Tensor idx = ids({4, 0, 2, 0, 4, 1}, {2, 3});
  Tensor y = embedding(idx, w);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(y.select(0, 1).select(0, 1).to_vector<float>(), w.select(0, 4).to_vector<float>());
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return embedding(idx, in[0]); }, {w}));
  // padding row 3 is never looked up, so its true gradient is 0 as well
  EXPECT_TRUE(grad_ok([idx](const Tensors& in) { return embedding(idx, in[0], 3); }, {w}));
  w.zero_grad();
  sum(embedding(idx, w, 4)).backward();
  EXPECT_EQ(w.grad().select(0, 4).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(w.grad().select(0, 0).to_vector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(w.grad().select(0, 3).to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Index, Errors) {
  Tensor x = zeros({3, 4});
  EXPECT_THROW_MSG(embedding(ids({1, 10000}, {2}), zeros({10000, 2})),
                   "[embedding] index 10000 out of range for 10000 rows");
  EXPECT_THROW_MSG(embedding(ids({-1}, {1}), zeros({4, 2})), "[embedding] index -1 out of range for 4 rows");
  EXPECT_THROW_MSG(embedding(ids({0}, {1}), zeros({4})), "[embedding] weight must be 2-d");
  EXPECT_THROW_MSG(embedding(zeros({2}), zeros({4, 2})), "[embedding] index must be int64 or int32, got float32");
  EXPECT_THROW_MSG(embedding(ids({0}, {1}), zeros({4, 2}), 4), "[embedding] padding_idx 4 out of range for 4 rows");
  EXPECT_THROW_MSG(index_select(x, 1, ids({4}, {1})), "[index_select] index 4 out of range for axis 1 of size 4");
  EXPECT_THROW_MSG(index_select(x, 0, ids({0, 1}, {1, 2})), "[index_select] index must be 1-d");
  EXPECT_THROW_MSG(index_select(x, 2, ids({0}, {1})), "[index_select] axis 2 out of range");
  EXPECT_THROW_MSG(gather(x, 1, ids({0, 5}, {1, 2})), "[gather] index 5 out of range for axis 1 of size 4");
  EXPECT_THROW_MSG(gather(x, 1, ids({0, 1}, {2})), "[gather] index has shape (2,) but input has shape (3,4)");
  EXPECT_THROW_MSG(gather(x, 1, ids({0, 0, 0, 0}, {4, 1})),
                   "[gather] index shape (4,1) exceeds input shape (3,4) at axis 0");
  EXPECT_THROW_MSG(scatter_add(x, 0, ids({3}, {1, 1}), zeros({1, 1})),
                   "[scatter_add] index 3 out of range for axis 0 of size 3");
  EXPECT_THROW_MSG(scatter_add(x, 0, ids({0, 0}, {1, 2}), zeros({1, 1})),
                   "[scatter_add] index shape (1,2) exceeds source shape (1,1) at axis 1");
  EXPECT_THROW_MSG(index_add(x, 0, ids({0, 3}, {2}), zeros({2, 4})),
                   "[index_add] index 3 out of range for axis 0 of size 3");
  EXPECT_THROW_MSG(index_add(x, 0, ids({0}, {1}), zeros({2, 4})), "[index_add] source has shape (2,4), expected (1,4)");
  EXPECT_THROW_MSG(one_hot(ids({3}, {1}), 3), "[one_hot] index 3 out of range for 3 classes");
  EXPECT_THROW_MSG(one_hot(ids({0}, {1}), 0), "[one_hot] num_classes must be positive");
  EXPECT_THROW_MSG(concat({}, 0), "[concat] needs at least one tensor");
  EXPECT_THROW_MSG(concat({x, zeros({3, 2, 1})}, 0), "[concat] tensor 1 has shape (3,2,1), tensor 0 has (3,4)");
  EXPECT_THROW_MSG(concat({x, zeros({2, 3})}, 0), "may differ only along axis 0");
  EXPECT_THROW_MSG(concat({x, ids({0, 0, 0, 0}, {1, 4})}, 0),
                   "[concat] tensor 1 has dtype int64, tensor 0 has float32");
  EXPECT_THROW_MSG(stack({x, zeros({4, 3})}, 0), "[stack] tensor 1 has shape (4,3), tensor 0 has (3,4)");
  EXPECT_THROW_MSG(stack({x}, 3), "[stack] axis 3 out of range");
  EXPECT_THROW_MSG(split(x, {1, 2}, 1), "[split] sizes (1,2) add up to 3, but axis 1 of (3,4) has size 4");
  EXPECT_THROW_MSG(split(x, {-1, 5}, 1), "[split] sizes must be non-negative");
  EXPECT_THROW_MSG(chunk(x, 0, 1), "[chunk] chunks must be positive, got 0");
}

}  // namespace
}  // namespace forge
