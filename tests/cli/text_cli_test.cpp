// `forge train / predict / eval` on raw text: a tiny label<TAB>text data set (a few seconds),
// trained with the Keras tokenizer preprocessing; the fitted tokenizer is saved with the model.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_util.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

TEST(CliText, TrainPredictEvalOnRawText) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("forge_cli_text_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    // Two separable topics: cats vs. code.
    std::ofstream data(dir / "pets_code.txt");
    const char* cats[] = {"the cat sleeps on the warm mat", "my kitten purrs and meows", "a cat chases the mouse",
                          "kittens love milk and naps", "the cat meows at night"};
    const char* code[] = {"the compiler reports a syntax error", "my program crashes with a segfault",
                          "a function returns the wrong value", "the build fails to link the library",
                          "compile the code and run the tests"};
    for (int r = 0; r < 8; ++r) {
      for (const char* t : cats) data << "pets\t" << t << "\n";
      for (const char* t : code) data << "code\t" << t << "\n";
    }
  }
  std::ofstream(dir / "text.toml") << R"(name = "text_tiny"
[data]
text_file = "pets_code.txt"
test_split = 0.25
validation_split = 0
[data.text]
num_words = 50
maxlen = 8
oov_token = "<OOV>"
[model]
layers = [
  { type = "Embedding", input_dim = 50, output_dim = 8 },
  { type = "LSTM", units = 8 },
  { type = "Dense", units = 1, activation = "sigmoid" },
]
[train]
optimizer = "adam"
lr = 0.02
loss = "binary_crossentropy"
metrics = ["accuracy"]
epochs = 15
batch_size = 8
threads = 1
)";
  int code = 0;
  const std::string out_dir = (dir / "run").string();
  std::string out;
  std::tie(code, out) =
      test::pair_of(test::run_forge(fmt::format("train {} --out {} -q", (dir / "text.toml").string(), out_dir)));
  ASSERT_EQ(code, 0) << out;
  // The tokenizer is saved with the model in Keras's JSON layout.
  std::ifstream model_json(fs::path(out_dir) / "model" / "model.json");
  ASSERT_TRUE(model_json.good());
  const auto j = nlohmann::json::parse(model_json);
  ASSERT_TRUE(j.dump().find("\\\"class_name\\\":\\\"Tokenizer\\\"") != std::string::npos) << j.dump().substr(0, 400);
  const auto metrics = nlohmann::json::parse(std::ifstream(fs::path(out_dir) / "metrics.json"));
  EXPECT_GE(metrics.dump().find("accuracy"), 0u);

  std::tie(code, out) = test::pair_of(test::run_forge(fmt::format(
      "predict {} \"my cat purrs\" \"the program crashes with a compiler error\" --json", out_dir + "/model")));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"label\":\"pets\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"label\":\"code\""), std::string::npos) << out;

  std::tie(code, out) = test::pair_of(test::run_forge(fmt::format("eval {}", out_dir + "/model")));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("accuracy"), std::string::npos) << out;

  // Bad input: an unknown class name in `classes`.
  std::ofstream(dir / "bad.toml")
      << "name = \"bad\"\n[data]\ntext_file = \"pets_code.txt\"\nclasses = [\"pets\", \"dogs\"]\n"
         "[model]\nlayers = [{ type = \"Dense\", units = 1 }]\n";
  std::tie(code, out) = test::pair_of(
      test::run_forge(fmt::format("train {} --out {} -q", (dir / "bad.toml").string(), (dir / "bad").string())));
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("unknown class 'dogs' (classes: code, pets)"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge
