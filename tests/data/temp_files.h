#pragma once
// Temporary files for data-layer tests: each test writes its fixtures into its own directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace forge::test {

inline std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() / (std::string("forge_data_") + std::to_string(::getpid()) + "_" +
                                                       info->test_suite_name() + "_" + info->name());
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline std::string write_temp(const std::string& name, const std::string& contents) {
  const std::string path = (std::filesystem::path(temp_dir()) / name).string();
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

}  // namespace forge::test
