#include "data/image.h"

#include <limits>
#include <memory>

#include "core/error.h"

// stb_image is header-only; this is the one translation unit that holds its implementation.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // all bytes come through ByteSource
#define STBI_FAILURE_USERMSG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace forge {

Tensor decode_image(const ByteSource& source, int channels) {
  FORGE_CHECK(channels >= 0 && channels <= 4 && channels != 2,
              "[image] channels must be 0 (as stored), 1, 3 or 4, got {}", channels);
  FORGE_CHECK(source.size() > 0, "[image] {}: cannot decode image: the file is empty", source.name());
  FORGE_CHECK(source.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
              "[image] {}: file too large ({} bytes)", source.name(), source.size());
  int w = 0, h = 0, stored = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(source.data(), static_cast<int>(source.size()), &w, &h, &stored, channels),
      stbi_image_free);
  FORGE_CHECK(pixels != nullptr, "[image] {}: cannot decode image: {}", source.name(), stbi_failure_reason());
  const int c = channels == 0 ? stored : channels;
  Tensor out = empty({c, h, w});
  float* o = out.data<float>();
  const stbi_uc* p = pixels.get();
  const int64_t plane = static_cast<int64_t>(h) * w;
  // stb gives interleaved HWC bytes; Forge images are planar CHW floats.
  for (int64_t i = 0; i < plane; ++i) {
    for (int k = 0; k < c; ++k) o[k * plane + i] = static_cast<float>(p[i * c + k]) * (1.0f / 255.0f);
  }
  return out;
}

Tensor load_image(const std::string& path, int channels) { return decode_image(*open_file(path), channels); }

}  // namespace forge
