#pragma once
// The playground's static files, embedded in the binary at build time (cmake/embed_files.cmake:
// src/serve/web/* and Debian's libjs-chart.js), so `forge serve` needs no files or CDN.
#include <string_view>
#include <vector>

namespace forge::serve {

struct WebAsset {
  std::string_view url;           // "/", "/playground/app.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view data;
};

const std::vector<WebAsset>& web_assets();

}  // namespace forge::serve
