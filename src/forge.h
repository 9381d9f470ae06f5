#pragma once
// The whole public C++ API of libforge.
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tensor.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/view.h"
#include "formats/safetensors.h"
