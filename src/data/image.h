#pragma once
// Images (PNG, JPEG, BMP, GIF first frame, ...; decoded by stb_image from the Debian package
// libstb-dev). Bytes come from open_file()/ByteSource, so encrypted images can be decrypted
// by the source. Result: float32 [C, H, W] with values in [0, 1] (NCHW once batched).
#include <string>

#include "core/tensor.h"
#include "formats/byte_source.h"

namespace forge {

// `channels`: 0 keeps the file's channels; 1 (gray), 3 (RGB) or 4 (RGBA) converts.
// Throws "[image] NAME: cannot decode image: <reason>" for corrupt or unsupported data.
Tensor decode_image(const ByteSource& source, int channels = 0);
Tensor load_image(const std::string& path, int channels = 0);

}  // namespace forge
