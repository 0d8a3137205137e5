// Shared helpers of the addon: tensor handles, argument readers, error translation.
// Nothing model-specific lives in native/: only tensors, ops, autograd and in-place updates.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <string>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace atl {

// Subnormal floats flushed to zero (FTZ) and read as zero (DAZ) while libtorch computes, as
// torch.set_flush_denormal(True) does: a network whose weights or activations drift into the
// subnormal range otherwise runs several times slower on x86 (measured: a DVBPR resumed at epoch
// 12 on H&M trained at 152 instead of 668 images/s). Set around every call on the calling thread
// (and given back, so that JavaScript's own arithmetic keeps IEEE subnormals), and once on each
// intra-op worker (SetNumThreads). ATELIER_DENORMALS=keep turns it off.
extern bool g_flushDenormals;
#if defined(__x86_64__) || defined(__i386__)
struct DenormalScope {
  unsigned prev;
  bool on;
  DenormalScope() : prev(_mm_getcsr()), on(g_flushDenormals) {
    if (on) _mm_setcsr(prev | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
  }
  ~DenormalScope() {
    if (on) _mm_setcsr(prev);
  }
};
inline void FlushDenormalsOnThisThread() {
  if (g_flushDenormals) _mm_setcsr(_mm_getcsr() | 0x8040);
}
#else
struct DenormalScope {};
inline void FlushDenormalsOnThisThread() {}
#endif

// Every object handed to JS starts with a kind tag so that a wrong handle is an error, not a crash.
enum Kind : int32_t { kTensorKind = 0x7e5a, kGeneratorKind = 0x6e4a };

struct TensorHandle {
  int32_t kind = kTensorKind;
  bool alive = true;
  at::Tensor t;
};

struct GeneratorHandle {
  int32_t kind = kGeneratorKind;
  at::Generator g;
};

extern std::atomic<int64_t> g_live;
extern at::Device g_device;

Napi::Value Wrap(Napi::Env env, at::Tensor t);
at::Tensor& T(const Napi::Value& v);
at::Tensor OptT(const Napi::Value& v);  // undefined/null -> undefined tensor
c10::optional<at::Generator> OptGen(const Napi::Value& v);
std::vector<int64_t> Ints(const Napi::Value& v);
std::vector<at::Tensor> Tensors(const Napi::Value& v);
at::ScalarType Dtype(const Napi::Value& v);
const char* DtypeName(at::ScalarType s);
std::string ShapeStr(const at::Tensor& t);
Napi::Array ShapeArray(Napi::Env env, const at::Tensor& t);
double Num(const Napi::Value& v);
bool Bool(const Napi::Value& v);

// Converts libtorch errors (c10::Error) and other C++ exceptions into JS exceptions carrying the
// libtorch message, so that nothing aborts the process.
[[noreturn]] void Rethrow(Napi::Env env, std::exception_ptr p, const std::string& context);

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guard(const Napi::CallbackInfo& info) {
  DenormalScope denormals;
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    Rethrow(info.Env(), std::current_exception(), "");
  }
}

void InitOps(Napi::Env env, Napi::Object exports);
void InitDist(Napi::Env env, Napi::Object exports);

}  // namespace atl

#define ATL_FN(name) static Napi::Value name(const Napi::CallbackInfo& info)
#define ATL_EXPORT(name) exports.Set(#name, Napi::Function::New(env, atl::Guard<name>, #name))
