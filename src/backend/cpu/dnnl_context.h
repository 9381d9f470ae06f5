#pragma once
// The oneDNN engine and stream shared by every oneDNN primitive Forge runs on the CPU.
//
// One engine for the process. Streams are per thread: a oneDNN stream is not meant to be
// driven by several threads at once, and a CPU stream is cheap, so each calling thread gets
// its own (all on the same engine, so primitives created once are usable from any thread).
#include <oneapi/dnnl/dnnl.hpp>

namespace forge::cpu {

dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();

}  // namespace forge::cpu
