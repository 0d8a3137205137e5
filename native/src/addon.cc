// Tensor handles, creation, data transfer, autograd, Adam and threading.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>
#include <dlfcn.h>
#include <malloc.h>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace atl {

std::atomic<int64_t> g_live{0};

static void FinalizeTensor(Napi::Env, TensorHandle* h) {
  if (h->alive) g_live--;
  delete h;
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  auto* h = new TensorHandle();
  h->t = std::move(t);
  g_live++;
  return Napi::External<TensorHandle>::New(env, h, FinalizeTensor);
}

at::Tensor& T(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a tensor handle");
  auto* h = v.As<Napi::External<TensorHandle>>().Data();
  if (h == nullptr || h->kind != kTensorKind) throw Napi::TypeError::New(v.Env(), "expected a tensor handle");
  if (!h->alive) throw Napi::Error::New(v.Env(), "tensor used after dispose");
  return h->t;
}

at::Tensor OptT(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::Tensor();
  return T(v);
}

c10::optional<at::Generator> OptGen(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a generator handle");
  auto* h = v.As<Napi::External<GeneratorHandle>>().Data();
  if (h == nullptr || h->kind != kGeneratorKind) throw Napi::TypeError::New(v.Env(), "expected a generator handle");
  return h->g;
}

std::vector<int64_t> Ints(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

std::vector<at::Tensor> Tensors(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of tensors");
  auto a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(T(a.Get(i)));
  return out;
}

at::ScalarType Dtype(const Napi::Value& v) {
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  if (s == "bfloat16") return at::kBFloat16;
  throw Napi::TypeError::New(v.Env(), "unknown dtype '" + s + "' (float32, float64, int64, int32, uint8, bool, bfloat16)");
}

const char* DtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kBFloat16: return "bfloat16";
    default: return "other";
  }
}

std::string ShapeStr(const at::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); i++) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

Napi::Array ShapeArray(Napi::Env env, const at::Tensor& t) {
  auto a = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) a.Set(uint32_t(i), Napi::Number::New(env, double(t.size(i))));
  return a;
}

double Num(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
bool Bool(const Napi::Value& v) { return v.ToBoolean().Value(); }

void Rethrow(Napi::Env env, std::exception_ptr p, const std::string& context) {
  std::string msg;
  try {
    std::rethrow_exception(p);
  } catch (const c10::Error& e) {
    msg = e.what_without_backtrace();
  } catch (const std::exception& e) {
    msg = e.what();
  } catch (...) {
    msg = "unknown native error";
  }
  auto err = Napi::Error::New(env, context.empty() ? msg : context + ": " + msg);
  err.Set("code", Napi::String::New(env, "TORCH_ERROR"));
  throw err;
}

// ---- handles ---------------------------------------------------------------------------------

ATL_FN(Free) {
  auto v = info[0];
  if (!v.IsExternal()) return info.Env().Undefined();
  auto* h = v.As<Napi::External<TensorHandle>>().Data();
  if (h && h->kind == kTensorKind && h->alive) {
    h->alive = false;
    h->t = at::Tensor();
    g_live--;
  }
  return info.Env().Undefined();
}

ATL_FN(LiveCount) { return Napi::Number::New(info.Env(), double(g_live.load())); }

ATL_FN(Shape) { return ShapeArray(info.Env(), T(info[0])); }
ATL_FN(DtypeOf) { return Napi::String::New(info.Env(), DtypeName(T(info[0]).scalar_type())); }
ATL_FN(DeviceOf) { return Napi::String::New(info.Env(), T(info[0]).device().str()); }

// ---- creation and transfer ------------------------------------------------------------------

// Where tensors are made when a call names no device (setDefaultDevice; the CPU until then): with
// `--device cuda` every tensor a model makes, batches and loaded weights included, lands on the GPU.
at::Device g_device = at::kCPU;

static at::Device DeviceArg(const Napi::Value& device) {
  if (device.IsUndefined() || device.IsNull()) return g_device;
  return at::Device(device.As<Napi::String>().Utf8Value());
}

static at::TensorOptions Opts(const Napi::Value& dtype, const Napi::Value& device) {
  return at::TensorOptions().dtype(Dtype(dtype)).device(DeviceArg(device));
}

// A tensor made on the CPU moved where it belongs; host data for a GPU goes through pinned memory,
// copied without blocking (the caching host allocator keeps the buffer until the copy is done).
at::Tensor ToDeviceFromHost(at::Tensor t, at::Device d) {
  if (d.is_cpu()) return t;
  if (d.is_cuda()) return t.pin_memory().to(d, /*non_blocking=*/true);
  return t.to(d);
}

// fromBuffer(typedArray, shape, dtype[, device]): copies the bytes; the typed array's element type must
// match dtype (checked by the TypeScript side, and by the byte count here).
ATL_FN(FromBuffer) {
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = Ints(info[1]);
  auto st = Dtype(info[2]);
  auto t = at::empty(shape, at::TensorOptions().dtype(st));
  size_t bytes = size_t(t.numel()) * t.element_size();
  if (bytes != ta.ByteLength()) {
    throw Napi::RangeError::New(info.Env(), "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes given for shape " +
                                                ShapeStr(t) + " of " + DtypeName(st) + " (" + std::to_string(bytes) + " bytes)");
  }
  auto ab = ta.ArrayBuffer();
  if (bytes) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset(), bytes);
  return Wrap(info.Env(), ToDeviceFromHost(t, DeviceArg(info.Length() > 3 ? info[3] : info.Env().Undefined())));
}

ATL_FN(ToBuffer) {
  auto t = T(info[0]).detach().to(at::kCPU).contiguous();
  size_t bytes = size_t(t.numel()) * t.element_size();
  auto ab = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes) std::memcpy(ab.Data(), t.data_ptr(), bytes);
  return ab;
}

ATL_FN(Item) {
  auto& t = T(info[0]);
  if (t.numel() != 1) throw Napi::RangeError::New(info.Env(), "item: tensor of shape " + ShapeStr(t) + " is not a single value");
  return Napi::Number::New(info.Env(), t.item<double>());
}

ATL_FN(Zeros) { return Wrap(info.Env(), at::zeros(Ints(info[0]), Opts(info[1], info[2]))); }
ATL_FN(Ones) { return Wrap(info.Env(), at::ones(Ints(info[0]), Opts(info[1], info[2]))); }
ATL_FN(Full) { return Wrap(info.Env(), at::full(Ints(info[0]), Num(info[1]), Opts(info[2], info[3]))); }
ATL_FN(Arange) { return Wrap(info.Env(), at::arange(Num(info[0]), Num(info[1]), Num(info[2]), Opts(info[3], info[4]))); }

// Draws from a generator are made on the CPU (the generators are CPU ones) and moved, so that a seed
// gives the same numbers on every device; without a generator they are drawn where they live.
static at::Tensor Drawn(c10::optional<at::Generator> gen, at::TensorOptions o, const std::function<at::Tensor(at::TensorOptions)>& draw) {
  if (!gen || o.device().is_cpu()) return draw(o);
  return ToDeviceFromHost(draw(o.device(at::kCPU)), o.device());
}

ATL_FN(NewGenerator) {
  auto* h = new GeneratorHandle();
  h->g = at::make_generator<at::CPUGeneratorImpl>(uint64_t(info[0].As<Napi::Number>().Int64Value()));
  return Napi::External<GeneratorHandle>::New(info.Env(), h, [](Napi::Env, GeneratorHandle* p) { delete p; });
}

ATL_FN(GeneratorGetState) {
  auto g = *OptGen(info[0]);
  std::lock_guard<std::mutex> lock(g.mutex());
  return Wrap(info.Env(), g.get_state());
}

ATL_FN(GeneratorSetState) {
  auto g = *OptGen(info[0]);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(T(info[1]).to(at::kCPU));  // a state read back from a checkpoint may have landed on the GPU
  return info.Env().Undefined();
}

// randn(shape, gen, dtype, device); rand (uniform [0,1)); randint(low, high, shape, gen); randperm(n, gen)
ATL_FN(Randn) {
  auto shape = Ints(info[0]);
  auto gen = OptGen(info[1]);
  return Wrap(info.Env(), Drawn(gen, Opts(info[2], info[3]), [&](at::TensorOptions o) { return at::randn(shape, gen, o); }));
}
ATL_FN(Rand) {
  auto shape = Ints(info[0]);
  auto gen = OptGen(info[1]);
  return Wrap(info.Env(), Drawn(gen, Opts(info[2], info[3]), [&](at::TensorOptions o) { return at::rand(shape, gen, o); }));
}
ATL_FN(Randint) {
  auto low = info[0].As<Napi::Number>().Int64Value(), high = info[1].As<Napi::Number>().Int64Value();
  auto shape = Ints(info[2]);
  auto gen = OptGen(info[3]);
  auto o = at::TensorOptions().dtype(at::kLong).device(g_device);
  return Wrap(info.Env(), Drawn(gen, o, [&](at::TensorOptions o) { return at::randint(low, high, shape, gen, o); }));
}
ATL_FN(Randperm) {
  auto n = info[0].As<Napi::Number>().Int64Value();
  auto gen = OptGen(info[1]);
  auto o = at::TensorOptions().dtype(at::kLong).device(g_device);
  return Wrap(info.Env(), Drawn(gen, o, [&](at::TensorOptions o) { return at::randperm(n, gen, o); }));
}
// uniform_(t, low, high, gen) and normal_(t, mean, std, gen): in-place initialisers for parameters
// (drawn on the CPU and copied for a tensor elsewhere, as above).
static void FillDrawn(at::Tensor& t, c10::optional<at::Generator> gen, const std::function<void(at::Tensor&)>& fill) {
  at::NoGradGuard ng;
  if (!gen || t.device().is_cpu()) return fill(t);
  auto host = at::empty(t.sizes(), t.options().device(at::kCPU));
  fill(host);
  t.copy_(host);
}
ATL_FN(Uniform_) {
  auto gen = OptGen(info[3]);
  double lo = Num(info[1]), hi = Num(info[2]);
  FillDrawn(T(info[0]), gen, [&](at::Tensor& t) { t.uniform_(lo, hi, gen); });
  return info.Env().Undefined();
}
ATL_FN(Normal_) {
  auto gen = OptGen(info[3]);
  double mean = Num(info[1]), sd = Num(info[2]);
  FillDrawn(T(info[0]), gen, [&](at::Tensor& t) { t.normal_(mean, sd, gen); });
  return info.Env().Undefined();
}

// ---- autograd -------------------------------------------------------------------------------

ATL_FN(SetRequiresGrad) {
  T(info[0]).set_requires_grad(Bool(info[1]));
  return info.Env().Undefined();
}
ATL_FN(RequiresGrad) { return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad()); }
ATL_FN(Backward) {
  auto& t = T(info[0]);
  auto g = OptT(info[1]);
  t.backward(g, /*retain_graph=*/info.Length() > 2 && Bool(info[2]));
  return info.Env().Undefined();
}
ATL_FN(Grad) {
  auto g = T(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}
ATL_FN(ZeroGrad) {
  auto& t = T(info[0]);
  if (t.grad().defined()) t.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}
// gradients(outputs, inputs[, gradOutputs]): d outputs / d inputs without touching any .grad.
ATL_FN(Gradients) {
  auto outs = Tensors(info[0]);
  auto ins = Tensors(info[1]);
  std::vector<at::Tensor> gouts;
  if (info.Length() > 2 && info[2].IsArray()) gouts = Tensors(info[2]);
  auto gs = torch::autograd::grad(outs, ins, gouts, /*retain_graph=*/c10::nullopt, /*create_graph=*/false, /*allow_unused=*/true);
  auto arr = Napi::Array::New(info.Env(), gs.size());
  for (size_t i = 0; i < gs.size(); i++) arr.Set(uint32_t(i), gs[i].defined() ? Wrap(info.Env(), gs[i]) : info.Env().Null());
  return arr;
}
ATL_FN(SetGradEnabled) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(Bool(info[0]));
  return Napi::Boolean::New(info.Env(), prev);
}
ATL_FN(IsGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// ---- in-place updates -----------------------------------------------------------------------

ATL_FN(Copy_) {
  at::NoGradGuard ng;
  T(info[0]).copy_(T(info[1]));
  return info.Env().Undefined();
}
ATL_FN(Zero_) {
  at::NoGradGuard ng;
  T(info[0]).zero_();
  return info.Env().Undefined();
}
// indexCopy_(dst, dim, index, src): dst's rows at `index` (distinct) replaced by src's, in place
ATL_FN(IndexCopy_) {
  at::NoGradGuard ng;
  T(info[0]).index_copy_(info[1].As<Napi::Number>().Int64Value(), T(info[2]), T(info[3]));
  return info.Env().Undefined();
}

// adamStep(params, expAvg, expAvgSq, step, lr, beta1, beta2, eps, weightDecay, decoupled)
// The update of torch.optim.Adam (decoupled=false: L2 added to the gradient) and of AdamW
// (decoupled=true), written with the same in-place ops so the numbers match PyTorch's.
ATL_FN(AdamStep) {
  at::NoGradGuard ng;
  auto params = Tensors(info[0]);
  auto m = Tensors(info[1]);
  auto v = Tensors(info[2]);
  double step = Num(info[3]), lr = Num(info[4]), b1 = Num(info[5]), b2 = Num(info[6]), eps = Num(info[7]), wd = Num(info[8]);
  bool decoupled = Bool(info[9]);
  double bc1 = 1.0 - std::pow(b1, step);
  double bc2 = 1.0 - std::pow(b2, step);
  double stepSize = lr / bc1;
  double bc2Sqrt = std::sqrt(bc2);
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    if (wd != 0) {
      if (decoupled) p.mul_(1 - lr * wd);
      else g = g.add(p, wd);
    }
    m[i].lerp_(g, 1 - b1);
    v[i].mul_(b2).addcmul_(g, g.conj(), 1 - b2);
    auto denom = (v[i].sqrt() / bc2Sqrt).add_(eps);
    p.addcdiv_(m[i], denom, -stepSize);
  }
  return info.Env().Undefined();
}

// ---- threads --------------------------------------------------------------------------------

ATL_FN(SetNumThreads) {
  int n = info[0].As<Napi::Number>().Int32Value();
  at::set_num_threads(n);
  // each intra-op worker flushes subnormals from now on (its chunk of this loop runs on it; the
  // calling thread's setting is Guard's, restored when the call returns)
  at::parallel_for(0, n, 1, [](int64_t, int64_t) { FlushDenormalsOnThisThread(); });
  // OpenBLAS keeps its own pool; running it beside libtorch's threads oversubscribes the cores.
  using SetFn = void (*)(int);
  if (auto f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 1);
  return info.Env().Undefined();
}
ATL_FN(GetNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

// ---- devices and precision ------------------------------------------------------------------

// GPUs this libtorch sees (0 without CUDA)
static int Gpus() { return at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0; }

// setDefaultDevice('cpu' | 'cuda' | 'cuda:N'): checked against what this libtorch and machine have.
ATL_FN(SetDefaultDevice) {
  auto name = info[0].As<Napi::String>().Utf8Value();
  at::Device d(name);
  if (d.is_cuda()) {
    int gpus = Gpus();
    if (gpus == 0) {
      auto err = Napi::Error::New(info.Env(), "this libtorch has no CUDA, or sees no GPU");
      err.Set("code", Napi::String::New(info.Env(), "NO_CUDA"));
      throw err;
    }
    if (d.has_index() && d.index() >= gpus) {
      auto err = Napi::Error::New(info.Env(), "device " + name + " asked for, " + std::to_string(gpus) + " GPU(s) visible");
      err.Set("code", Napi::String::New(info.Env(), "NO_CUDA"));
      throw err;
    }
    if (!d.has_index()) d = at::Device(at::kCUDA, 0);
  } else if (!d.is_cpu()) {
    throw Napi::RangeError::New(info.Env(), "device " + name + ": only cpu and cuda are supported");
  }
  g_device = d;
  return Napi::String::New(info.Env(), d.str());
}
ATL_FN(DefaultDevice) { return Napi::String::New(info.Env(), g_device.str()); }
ATL_FN(GpuCount) { return Napi::Number::New(info.Env(), Gpus()); }

// setAutocast(dtype | null): mixed precision as torch.autocast(device_type, dtype) around everything
// that follows on this (the JS) thread, for the default device's type; null turns it off. Casts of
// weights are not cached (a cache would outlive the optimiser's in-place updates).
ATL_FN(SetAutocast) {
  bool on = !info[0].IsUndefined() && !info[0].IsNull();
  auto dtype = on ? Dtype(info[0]) : at::kFloat;
  at::autocast::set_autocast_cache_enabled(false);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  auto type = g_device.type();
  if (on) at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, on);
#else
  if (g_device.is_cuda()) {
    if (on) at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  } else {
    if (on) at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  }
#endif
  return info.Env().Undefined();
}

// synchronize(): waits for the default device's queued work (a no-op on the CPU); for timing.
ATL_FN(Synchronize) {
  if (g_device.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(g_device.index());
  return info.Env().Undefined();
}

ATL_FN(Info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", Napi::String::New(info.Env(), std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH)));
  o.Set("cuda", Napi::Boolean::New(info.Env(), at::hasCUDA()));
  o.Set("gpus", Napi::Number::New(info.Env(), Gpus()));
  o.Set("parallel", Napi::String::New(info.Env(), at::get_parallel_info()));
  using GetCfg = char* (*)();
  auto f = reinterpret_cast<GetCfg>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  o.Set("openblas", f ? Napi::String::New(info.Env(), f()) : info.Env().Null());
  return o;
}

}  // namespace atl

using namespace atl;

// glibc's malloc raises its mmap threshold dynamically and trims the heap top eagerly, so the
// large, short-lived activations of every training step are page-faulted in afresh: measured
// here, a DVBPR step runs at half speed that way (PyTorch too, under the same allocator). Fixed
// thresholds keep freed memory for the next step. With them, every thread's own arena also keeps
// up to the trim threshold, so peak RSS varied from run to run (measured: encoder inference 448 to
// 885 MB); one arena for all threads keeps it steady (438 to 466 MB). glibc fixes its arena limit
// once a second arena exists, which Node's own threads have made by the time the addon loads, so
// the npm scripts set MALLOC_ARENA_MAX=1 before node starts; the call below covers the rest.
// ATELIER_MALLOC=system keeps glibc's defaults; ATELIER_MALLOC=arenas keeps its per-thread arenas.
static void TuneAllocator() {
  const char* v = std::getenv("ATELIER_MALLOC");
  const std::string mode = v ? v : "";
  if (mode == "system") return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  if (mode != "arenas") mallopt(M_ARENA_MAX, 1);
}

bool atl::g_flushDenormals = true;

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneAllocator();
  const char* d = std::getenv("ATELIER_DENORMALS");
  g_flushDenormals = !(d && std::string(d) == "keep");
  ATL_EXPORT(Free);
  ATL_EXPORT(LiveCount);
  ATL_EXPORT(Shape);
  ATL_EXPORT(DtypeOf);
  ATL_EXPORT(DeviceOf);
  ATL_EXPORT(FromBuffer);
  ATL_EXPORT(ToBuffer);
  ATL_EXPORT(Item);
  ATL_EXPORT(Zeros);
  ATL_EXPORT(Ones);
  ATL_EXPORT(Full);
  ATL_EXPORT(Arange);
  ATL_EXPORT(NewGenerator);
  ATL_EXPORT(GeneratorGetState);
  ATL_EXPORT(GeneratorSetState);
  ATL_EXPORT(Randn);
  ATL_EXPORT(Rand);
  ATL_EXPORT(Randint);
  ATL_EXPORT(Randperm);
  ATL_EXPORT(Uniform_);
  ATL_EXPORT(Normal_);
  ATL_EXPORT(SetRequiresGrad);
  ATL_EXPORT(RequiresGrad);
  ATL_EXPORT(Backward);
  ATL_EXPORT(Grad);
  ATL_EXPORT(ZeroGrad);
  ATL_EXPORT(Gradients);
  ATL_EXPORT(SetGradEnabled);
  ATL_EXPORT(IsGradEnabled);
  ATL_EXPORT(Copy_);
  ATL_EXPORT(IndexCopy_);
  ATL_EXPORT(Zero_);
  ATL_EXPORT(AdamStep);
  ATL_EXPORT(SetNumThreads);
  ATL_EXPORT(GetNumThreads);
  ATL_EXPORT(Info);
  ATL_EXPORT(SetDefaultDevice);
  ATL_EXPORT(DefaultDevice);
  ATL_EXPORT(GpuCount);
  ATL_EXPORT(SetAutocast);
  ATL_EXPORT(Synchronize);
  InitOps(env, exports);
  InitDist(env, exports);
  return exports;
}

NODE_API_MODULE(atelier_torch, Init)
