#pragma once
// The nn layer: Module, Sequential, initializers and Keras-named layers.
#include "nn/activation.h"
#include "nn/init.h"
#include "nn/layers/core.h"
#include "nn/module.h"
#include "nn/layers/attention.h"
#include "nn/layers/recurrent.h"
#include "nn/layers/conv.h"
#include "nn/layers/pool.h"
