#include "test_util.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace forge::test {

::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << "shapes differ: " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  }
  const auto va = a.to_vector<double>();
  const auto vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    const bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    if (!both_nan && !(std::fabs(va[i] - vb[i]) <= atol + rtol * std::fabs(vb[i]))) {
      return ::testing::AssertionFailure()
             << "element " << i << ": " << va[i] << " vs " << vb[i] << " (rtol " << rtol << ", atol " << atol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult grad_ok(const std::function<Tensor(const Tensors&)>& f, const Tensors& inputs,
                                   const GradcheckOptions& options) {
  GradcheckResult r = gradcheck(f, inputs, options);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "gradcheck failed: " << r.message;
}

Tensor randn_leaf(const Shape& shape, uint64_t seed, double scale) {
  Generator gen(seed);
  Tensor t = randn(shape, 0.0, 1.0, &gen);
  if (scale != 1.0) t = mul(t, scale);
  t.set_requires_grad(true);
  return t;
}

Tensor randn_tensor(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, 0.0, 1.0, &gen);
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

Tensor layer_by_layer(const nn::Sequential& net, Tensor x) {
  for (size_t i = 0; i < net.size(); ++i) x = net.at(i)->forward(x);
  return x;
}

std::string data_dir() { return FORGE_TEST_DATA_DIR; }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

::testing::AssertionResult bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  if (std::memcmp(ac.data<float>(), bc.data<float>(), sizeof(float) * static_cast<size_t>(a.numel())) != 0)
    return ::testing::AssertionFailure() << "values differ";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult two_threads_reproduce(const std::function<Tensor()>& fa, const Tensor& ea,
                                                 const std::function<Tensor()>& fb, const Tensor& eb, int iterations) {
  int bad[2] = {-1, -1};  // first iteration whose result differed
  auto worker = [&](int id) {
    NoGradGuard no_grad;  // grad mode is per thread
    for (int i = 0; i < iterations && bad[id] < 0; ++i) {
      if (!bitwise_equal(id == 0 ? fa() : fb(), id == 0 ? ea : eb)) bad[id] = i;
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  if (bad[0] < 0 && bad[1] < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "thread 0 first differed at iteration " << bad[0] << ", thread 1 at "
                                       << bad[1] << " (-1: never)";
}

}  // namespace forge::test
