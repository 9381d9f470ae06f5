#pragma once
// The nn layer: Module, Sequential, initializers and Keras-named layers.
#include "nn/activation.h"
#include "nn/init.h"
#include "nn/layers/attention.h"
#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "nn/layers/dropout.h"
#include "nn/layers/embedding.h"
#include "nn/layers/norm.h"
#include "nn/layers/pool.h"
#include "nn/layers/recurrent.h"
#include "nn/module.h"
