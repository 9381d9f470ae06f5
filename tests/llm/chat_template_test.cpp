#include "llm/chat_template.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace forge::llm {
namespace {

// SmolLM2-135M-Instruct's tokenizer.chat_template, verbatim from the GGUF.
const std::string kSmolTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

TEST(ChatTemplate, SmolLM2RendersExpectedPrompt) {
  const auto t = ChatTemplate::detect(kSmolTemplate);
  EXPECT_EQ(t.name(), "chatml");
  ASSERT_TRUE(t.default_system().has_value());
  EXPECT_EQ(*t.default_system(), "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(t.render({{"user", "What is 2+2?"}}),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  // an explicit system message replaces the default; history renders turn by turn
  EXPECT_EQ(t.render({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}}, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n");
  EXPECT_EQ(t.stop_strings(), std::vector<std::string>{"<|im_end|>"});
}

TEST(ChatTemplate, OtherFormats) {
  const auto l3 = ChatTemplate::detect("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}...");
  EXPECT_EQ(l3.render({{"user", "Hi"}}),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const auto z = ChatTemplate::detect("{% if message['role'] == 'user' %}{{ '<|user|>\n' }}...<|assistant|>");
  EXPECT_EQ(z.render({{"system", "S"}, {"user", "Hi"}}), "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
  const auto m = ChatTemplate::detect("{{ bos_token }}{% for m in messages %}[INST] ... [/INST]");
  EXPECT_EQ(m.render({{"system", "S"}, {"user", "Hi"}, {"assistant", "Yo"}, {"user", "Q"}}),
            "<s>[INST] S\n\nHi [/INST]Yo</s>[INST] Q [/INST]");
  EXPECT_EQ(ChatTemplate::from_name("chatml").render({{"user", "x"}}),
            "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, Errors) {
  EXPECT_THROW_MSG(ChatTemplate::detect("{{ messages | tojson }}"), "unknown chat template format");
  EXPECT_THROW_MSG(ChatTemplate::from_name("alpaca"), "unknown template name 'alpaca'");
  const auto t = ChatTemplate::from_name("chatml");
  EXPECT_THROW_MSG(t.render({{"tool", "x"}}), "message 0 has role 'tool'");
  EXPECT_THROW_MSG(t.render({{"user", "x"}, {"system", "y"}}), "message 1: a system message may only come first");
}

}  // namespace
}  // namespace forge::llm
