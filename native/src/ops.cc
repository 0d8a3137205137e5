// The ops the models need. Each goes through ATen's dispatcher, so autograd records it when an
// input requires grad; the TypeScript side decides nothing about gradients.
#include "common.h"

namespace atl {

// Binary ops take a tensor or a number as second operand. A shape error names both shapes.
template <typename FT, typename FS>
static Napi::Value Binary(const Napi::CallbackInfo& info, const char* name, FT ft, FS fs) {
  auto& a = T(info[0]);
  if (info[1].IsNumber()) return Wrap(info.Env(), fs(a, at::Scalar(Num(info[1]))));
  auto& b = T(info[1]);
  try {
    return Wrap(info.Env(), ft(a, b));
  } catch (const c10::Error& e) {
    auto err = Napi::Error::New(info.Env(), std::string(name) + ": shapes " + ShapeStr(a) + " and " + ShapeStr(b) +
                                                " do not match (" + e.what_without_backtrace() + ")");
    err.Set("code", Napi::String::New(info.Env(), "SHAPE_MISMATCH"));
    err.Set("shapes", [&] {
      auto arr = Napi::Array::New(info.Env(), 2);
      arr.Set(0u, ShapeArray(info.Env(), a));
      arr.Set(1u, ShapeArray(info.Env(), b));
      return arr;
    }());
    throw err;
  }
}

ATL_FN(Add) { return Binary(info, "add", [](auto& a, auto& b) { return a + b; }, [](auto& a, auto s) { return a + s; }); }
ATL_FN(Sub) { return Binary(info, "sub", [](auto& a, auto& b) { return a - b; }, [](auto& a, auto s) { return a - s; }); }
ATL_FN(Mul) { return Binary(info, "mul", [](auto& a, auto& b) { return a * b; }, [](auto& a, auto s) { return a * s; }); }
ATL_FN(Div) { return Binary(info, "div", [](auto& a, auto& b) { return a / b; }, [](auto& a, auto s) { return a / s; }); }
ATL_FN(Pow) { return Binary(info, "pow", [](auto& a, auto& b) { return at::pow(a, b); }, [](auto& a, auto s) { return at::pow(a, s); }); }
ATL_FN(Matmul) { return Binary(info, "matmul", [](auto& a, auto& b) { return at::matmul(a, b); }, [](auto& a, auto s) { return a * s; }); }
ATL_FN(Maximum) { return Binary(info, "maximum", [](auto& a, auto& b) { return at::maximum(a, b); }, [](auto& a, auto s) { return at::clamp_min(a, s); }); }
ATL_FN(Gt) { return Binary(info, "gt", [](auto& a, auto& b) { return at::gt(a, b); }, [](auto& a, auto s) { return at::gt(a, s); }); }
ATL_FN(Lt) { return Binary(info, "lt", [](auto& a, auto& b) { return at::lt(a, b); }, [](auto& a, auto s) { return at::lt(a, s); }); }
ATL_FN(Eq) { return Binary(info, "eq", [](auto& a, auto& b) { return at::eq(a, b); }, [](auto& a, auto s) { return at::eq(a, s); }); }

#define ATL_UNARY(Name, expr) \
  ATL_FN(Name) {              \
    auto& a = T(info[0]);     \
    return Wrap(info.Env(), expr); \
  }
ATL_UNARY(Neg, at::neg(a))
ATL_UNARY(Exp, at::exp(a))
ATL_UNARY(Log, at::log(a))
ATL_UNARY(Sqrt, at::sqrt(a))
ATL_UNARY(Square, at::square(a))
ATL_UNARY(Abs, at::abs(a))
ATL_UNARY(Sigmoid, at::sigmoid(a))
ATL_UNARY(LogSigmoid, at::log_sigmoid(a))
ATL_UNARY(Relu, at::relu(a))
ATL_UNARY(Tanh, at::tanh(a))
ATL_UNARY(Detach, a.detach())
ATL_UNARY(Clone, a.clone())
ATL_UNARY(Contiguous, a.contiguous())

ATL_FN(Softplus) { return Wrap(info.Env(), at::softplus(T(info[0]), Num(info[1]), Num(info[2]))); }
ATL_FN(LeakyRelu) { return Wrap(info.Env(), at::leaky_relu(T(info[0]), Num(info[1]))); }
ATL_FN(LogSoftmax) { return Wrap(info.Env(), at::log_softmax(T(info[0]), info[1].As<Napi::Number>().Int64Value())); }
ATL_FN(Softmax) { return Wrap(info.Env(), at::softmax(T(info[0]), info[1].As<Napi::Number>().Int64Value())); }
ATL_FN(Clamp) {
  c10::optional<at::Scalar> lo, hi;
  if (info[1].IsNumber()) lo = at::Scalar(Num(info[1]));
  if (info[2].IsNumber()) hi = at::Scalar(Num(info[2]));
  return Wrap(info.Env(), at::clamp(T(info[0]), lo, hi));
}
ATL_FN(ToDtype) { return Wrap(info.Env(), T(info[0]).to(Dtype(info[1]))); }
ATL_FN(ToDevice) { return Wrap(info.Env(), T(info[0]).to(at::Device(info[1].As<Napi::String>().Utf8Value()))); }

// sum(a, dims|null, keepdim), mean(...): null reduces every dim.
ATL_FN(Sum) {
  auto& a = T(info[0]);
  if (info[1].IsNull() || info[1].IsUndefined()) return Wrap(info.Env(), a.sum());
  return Wrap(info.Env(), a.sum(Ints(info[1]), Bool(info[2])));
}
ATL_FN(Mean) {
  auto& a = T(info[0]);
  if (info[1].IsNull() || info[1].IsUndefined()) return Wrap(info.Env(), a.mean());
  return Wrap(info.Env(), a.mean(Ints(info[1]), Bool(info[2])));
}
ATL_FN(Reshape) { return Wrap(info.Env(), T(info[0]).reshape(Ints(info[1]))); }
ATL_FN(Permute) { return Wrap(info.Env(), T(info[0]).permute(Ints(info[1]))); }
ATL_FN(Transpose) {
  return Wrap(info.Env(), T(info[0]).transpose(info[1].As<Napi::Number>().Int64Value(), info[2].As<Napi::Number>().Int64Value()));
}
ATL_FN(Expand) { return Wrap(info.Env(), T(info[0]).expand(Ints(info[1]))); }
ATL_FN(Cat) { return Wrap(info.Env(), at::cat(Tensors(info[0]), info[1].As<Napi::Number>().Int64Value())); }
ATL_FN(Stack) { return Wrap(info.Env(), at::stack(Tensors(info[0]), info[1].As<Napi::Number>().Int64Value())); }
ATL_FN(Narrow) {
  return Wrap(info.Env(), T(info[0]).narrow(info[1].As<Napi::Number>().Int64Value(), info[2].As<Napi::Number>().Int64Value(),
                                            info[3].As<Napi::Number>().Int64Value()));
}
ATL_FN(IndexSelect) {
  return Wrap(info.Env(), at::index_select(T(info[0]), info[1].As<Napi::Number>().Int64Value(), T(info[2])));
}
ATL_FN(Gather) { return Wrap(info.Env(), at::gather(T(info[0]), info[1].As<Napi::Number>().Int64Value(), T(info[2]))); }

ATL_FN(Linear) { return Wrap(info.Env(), at::linear(T(info[0]), T(info[1]), OptT(info[2]))); }

// conv2d(x, w, b|null, stride[2], padding[2], dilation[2], groups)
ATL_FN(Conv2d) {
  return Wrap(info.Env(), at::conv2d(T(info[0]), T(info[1]), OptT(info[2]), Ints(info[3]), Ints(info[4]), Ints(info[5]),
                                     info[6].As<Napi::Number>().Int64Value()));
}
// convTranspose2d(x, w, b|null, stride[2], padding[2], outputPadding[2], groups, dilation[2])
ATL_FN(ConvTranspose2d) {
  return Wrap(info.Env(), at::conv_transpose2d(T(info[0]), T(info[1]), OptT(info[2]), Ints(info[3]), Ints(info[4]), Ints(info[5]),
                                               info[6].As<Napi::Number>().Int64Value(), Ints(info[7])));
}
// maxPool2d(x, kernel[2], stride[2], padding[2], ceilMode)
ATL_FN(MaxPool2d) {
  return Wrap(info.Env(), at::max_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), {1, 1}, Bool(info[4])));
}
// batchNorm(x, weight|null, bias|null, runningMean|null, runningVar|null, training, momentum, eps)
// In training mode the running statistics are updated in place, as in PyTorch.
ATL_FN(BatchNorm) {
  return Wrap(info.Env(), at::batch_norm(T(info[0]), OptT(info[1]), OptT(info[2]), OptT(info[3]), OptT(info[4]), Bool(info[5]),
                                         Num(info[6]), Num(info[7]), /*cudnn_enabled=*/true));
}
// dropout(x, p, train, gen|null): inverted dropout; with a generator the mask is reproducible.
ATL_FN(Dropout) {
  auto& x = T(info[0]);
  double p = Num(info[1]);
  if (!Bool(info[2]) || p == 0) return Wrap(info.Env(), x.alias());
  auto gen = OptGen(info[3]);
  if (!gen) return Wrap(info.Env(), at::dropout(x, p, true));
  at::Tensor mask;
  {
    at::NoGradGuard ng;
    // drawn on the CPU (the generator's device) for a tensor elsewhere: the same mask on every device
    mask = x.device().is_cpu() ? at::empty_like(x).bernoulli_(1 - p, gen).div_(1 - p)
                               : at::empty(x.sizes(), x.options().device(at::kCPU)).bernoulli_(1 - p, gen).div_(1 - p).to(x.device());
  }
  return Wrap(info.Env(), x * mask);
}
// interpolate(x, size[2], mode, alignCorners): mode 'nearest' or 'bilinear'.
ATL_FN(Interpolate) {
  auto& x = T(info[0]);
  auto size = Ints(info[1]);
  std::string mode = info[2].As<Napi::String>().Utf8Value();
  if (mode == "nearest") return Wrap(info.Env(), at::upsample_nearest2d(x, size));
  if (mode == "bilinear") return Wrap(info.Env(), at::upsample_bilinear2d(x, size, Bool(info[3])));
  throw Napi::TypeError::New(info.Env(), "interpolate: unknown mode '" + mode + "' (nearest, bilinear)");
}
// topk(x, k, dim, largest) -> [values, indices]
ATL_FN(Topk) {
  auto r = at::topk(T(info[0]), info[1].As<Napi::Number>().Int64Value(), info[2].As<Napi::Number>().Int64Value(), Bool(info[3]), true);
  auto arr = Napi::Array::New(info.Env(), 2);
  arr.Set(0u, Wrap(info.Env(), std::get<0>(r)));
  arr.Set(1u, Wrap(info.Env(), std::get<1>(r)));
  return arr;
}
ATL_FN(Argmax) { return Wrap(info.Env(), at::argmax(T(info[0]), info[1].As<Napi::Number>().Int64Value(), Bool(info[2]))); }
ATL_FN(Max) { return Wrap(info.Env(), std::get<0>(at::max(T(info[0]), info[1].As<Napi::Number>().Int64Value(), Bool(info[2])))); }

// eigh(a) -> [eigenvalues ascending, eigenvectors as columns] of a symmetric matrix
ATL_FN(Eigh) {
  auto r = at::linalg_eigh(T(info[0]));
  auto arr = Napi::Array::New(info.Env(), 2);
  arr.Set(0u, Wrap(info.Env(), std::get<0>(r)));
  arr.Set(1u, Wrap(info.Env(), std::get<1>(r)));
  return arr;
}

void InitOps(Napi::Env env, Napi::Object exports) {
  ATL_EXPORT(Eigh);
  ATL_EXPORT(Add);
  ATL_EXPORT(Sub);
  ATL_EXPORT(Mul);
  ATL_EXPORT(Div);
  ATL_EXPORT(Pow);
  ATL_EXPORT(Matmul);
  ATL_EXPORT(Maximum);
  ATL_EXPORT(Gt);
  ATL_EXPORT(Lt);
  ATL_EXPORT(Eq);
  ATL_EXPORT(Neg);
  ATL_EXPORT(Exp);
  ATL_EXPORT(Log);
  ATL_EXPORT(Sqrt);
  ATL_EXPORT(Square);
  ATL_EXPORT(Abs);
  ATL_EXPORT(Sigmoid);
  ATL_EXPORT(LogSigmoid);
  ATL_EXPORT(Relu);
  ATL_EXPORT(Tanh);
  ATL_EXPORT(Detach);
  ATL_EXPORT(Clone);
  ATL_EXPORT(Contiguous);
  ATL_EXPORT(Softplus);
  ATL_EXPORT(LeakyRelu);
  ATL_EXPORT(LogSoftmax);
  ATL_EXPORT(Softmax);
  ATL_EXPORT(Clamp);
  ATL_EXPORT(ToDtype);
  ATL_EXPORT(ToDevice);
  ATL_EXPORT(Sum);
  ATL_EXPORT(Mean);
  ATL_EXPORT(Reshape);
  ATL_EXPORT(Permute);
  ATL_EXPORT(Transpose);
  ATL_EXPORT(Expand);
  ATL_EXPORT(Cat);
  ATL_EXPORT(Stack);
  ATL_EXPORT(Narrow);
  ATL_EXPORT(IndexSelect);
  ATL_EXPORT(Gather);
  ATL_EXPORT(Linear);
  ATL_EXPORT(Conv2d);
  ATL_EXPORT(ConvTranspose2d);
  ATL_EXPORT(MaxPool2d);
  ATL_EXPORT(BatchNorm);
  ATL_EXPORT(Dropout);
  ATL_EXPORT(Interpolate);
  ATL_EXPORT(Topk);
  ATL_EXPORT(Argmax);
  ATL_EXPORT(Max);
}

}  // namespace atl
