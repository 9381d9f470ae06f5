// The C++ API tour shown in README.md (kept here so it always compiles).
#include <iostream>

#include "forge.h"

int main() {
  using namespace forge;
  // Tensors: row-major, PyTorch-like shapes; views share storage.
  Tensor a = arange(0, 6).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  Tensor b = a.t();                         // a (3,2) view, no copy
  std::cout << matmul(a, b) << "\n";        // (2,2)

  // Autograd: mark leaves, compute, call backward().
  Generator gen(0);
  Tensor x = randn({4, 3}, 0, 1, &gen);                      // a batch of 4 inputs
  Tensor w = randn({5, 3}, 0, 1, &gen).set_requires_grad();  // Linear weight [out, in]
  Tensor bias = zeros({5}).set_requires_grad();
  Tensor loss = mean(square(relu(linear(x, w, bias))));
  loss.backward();
  std::cout << "loss " << loss.item() << ", dloss/dw " << shape_str(w.grad()) << "\n";

  // Errors name the op and the offending values.
  try {
    matmul(x, w);
  } catch (const Error& e) {
    std::cout << e.what() << "\n";  // [matmul] inner dimensions differ: (4,3) x (5,3)
  }
}
