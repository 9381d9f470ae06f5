#include "data/fashion_mnist.h"

#include "test_util.h"

namespace forge {
namespace {

TEST(FashionMnist, MissingDataSaysHowToInstall) {
  EXPECT_FALSE(fashion_mnist_available("/nonexistent"));
  EXPECT_THROW_MSG(load_fashion_mnist("/nonexistent"),
                   "[fashion_mnist] /nonexistent/train-images-idx3-ubyte(.gz) not found; install it with: sudo apt-get "
                   "install dataset-fashion-mnist");
}

// scripts/setup.sh installs dataset-fashion-mnist, so the real files are expected here.
TEST(FashionMnist, LoadsDebianPackage) {
  ASSERT_TRUE(fashion_mnist_available()) << "run scripts/setup.sh (apt-get install dataset-fashion-mnist)";
  const FashionMnist data = load_fashion_mnist();
  EXPECT_EQ(data.train_images.shape(), (Shape{60000, 784}));
  EXPECT_EQ(data.test_images.shape(), (Shape{10000, 784}));
  EXPECT_EQ(data.train_labels.dtype(), DType::kI64);
  EXPECT_EQ(data.test_labels.shape(), (Shape{10000}));
  EXPECT_EQ(max(data.train_images).item(), 1.0);
  EXPECT_EQ(min(data.train_images).item(), 0.0);
  EXPECT_EQ(max(data.train_labels).item(), 9.0);
  // Balanced classes: 6000 training images per class.
  EXPECT_EQ(sum(eq(data.train_labels, 3.0)).item(), 6000.0);
}

}  // namespace
}  // namespace forge
