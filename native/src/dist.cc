// Data-parallel collectives through libtorch's own c10d: a TCPStore for the rendezvous (rank 0
// serves it, as torchrun's MASTER_ADDR/MASTER_PORT say) and ProcessGroupGloo for the collectives.
// One process group per process. Tensors are flattened into one buffer per call (a single Gloo
// allreduce or broadcast, whatever the number of parameters) and copied back. Every wait has the
// group's timeout, so a rank that died ends the others with an error instead of a hang.
// Built only where the libtorch has c10d with Gloo (ATL_HAVE_GLOO, see find-libtorch.cjs gloo);
// elsewhere each function says so.
#include "common.h"

#ifdef ATL_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <memory>

namespace atl {

#ifdef ATL_HAVE_GLOO
namespace {
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{60000};
};
std::unique_ptr<Group> g_group;

Group& Need(Napi::Env env) {
  if (!g_group) throw Napi::Error::New(env, "distributed: no process group (call DistInit first)");
  return *g_group;
}

// the tensors' values side by side in one float buffer, and back
at::Tensor Flat(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> views;
  views.reserve(ts.size());
  for (auto& t : ts) views.push_back(t.detach().reshape({-1}));
  return at::cat(views);
}
void Unflat(const at::Tensor& flat, std::vector<at::Tensor>& ts) {
  int64_t o = 0;
  at::NoGradGuard ng;
  for (auto& t : ts) {
    auto n = t.numel();
    t.detach().copy_(flat.narrow(0, o, n).view(t.sizes()));
    o += n;
  }
}
void Wait(Group& g, const c10::intrusive_ptr<c10d::Work>& w) {
  w->wait(g.timeout);
}
}  // namespace

// DistInit(rank, size, masterAddr, masterPort, timeoutMs)
ATL_FN(DistInit) {
  auto env = info.Env();
  if (g_group) throw Napi::Error::New(env, "distributed: a process group exists already");
  auto g = std::make_unique<Group>();
  g->rank = static_cast<int>(Num(info[0]));
  g->size = static_cast<int>(Num(info[1]));
  std::string addr = info[2].As<Napi::String>().Utf8Value();
  auto port = static_cast<uint16_t>(Num(info[3]));
  g->timeout = std::chrono::milliseconds(static_cast<int64_t>(Num(info[4])));
  c10d::TCPStoreOptions so;
  so.port = port;
  so.isServer = g->rank == 0;
  so.numWorkers = g->size;
  so.waitWorkers = true;
  so.timeout = g->timeout;
  g->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  auto opts = c10d::ProcessGroupGloo::Options::create(g->timeout);
  // the interface Gloo listens on: GLOO_SOCKET_IFNAME as PyTorch reads it; for a rendezvous on
  // this machine (a loopback address) the loopback itself; otherwise this host's own address
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  const bool loopback = addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
  opts->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                          : loopback        ? c10d::ProcessGroupGloo::createDeviceForHostname(addr)
                                            : c10d::ProcessGroupGloo::createDefaultDevice());
  opts->threads = 1;
  g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, g->rank, g->size, opts);
  g_group = std::move(g);
  return env.Undefined();
}

// DistAllReduce(tensors, average): sums (or averages) each tensor over the ranks, in place
ATL_FN(DistAllReduce) {
  auto& g = Need(info.Env());
  auto ts = Tensors(info[0]);
  bool average = Bool(info[1]);
  if (ts.empty()) return info.Env().Undefined();
  std::vector<at::Tensor> bufs{Flat(ts)};
  Wait(g, g.pg->allreduce(bufs));
  if (average) bufs[0].div_(g.size);
  Unflat(bufs[0], ts);
  return info.Env().Undefined();
}

// DistBroadcast(tensors, root): every rank's tensors take the root's values, in place
ATL_FN(DistBroadcast) {
  auto& g = Need(info.Env());
  auto ts = Tensors(info[0]);
  if (ts.empty()) return info.Env().Undefined();
  std::vector<at::Tensor> bufs{Flat(ts)};
  c10d::BroadcastOptions o;
  o.rootRank = static_cast<int64_t>(Num(info[1]));
  Wait(g, g.pg->broadcast(bufs, o));
  Unflat(bufs[0], ts);
  return info.Env().Undefined();
}

ATL_FN(DistBarrier) {
  auto& g = Need(info.Env());
  Wait(g, g.pg->barrier());
  return info.Env().Undefined();
}

ATL_FN(DistDestroy) {
  g_group.reset();
  return info.Env().Undefined();
}

ATL_FN(DistAvailable) { return Napi::Boolean::New(info.Env(), true); }
#else
static Napi::Value NoGloo(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "distributed: this addon was built without c10d/Gloo (install libgloo-dev and rebuild: npm run build:native)");
}
ATL_FN(DistInit) { return NoGloo(info); }
ATL_FN(DistAllReduce) { return NoGloo(info); }
ATL_FN(DistBroadcast) { return NoGloo(info); }
ATL_FN(DistBarrier) { return NoGloo(info); }
ATL_FN(DistDestroy) { return info.Env().Undefined(); }
ATL_FN(DistAvailable) { return Napi::Boolean::New(info.Env(), false); }
#endif

void InitDist(Napi::Env env, Napi::Object exports) {
  ATL_EXPORT(DistInit);
  ATL_EXPORT(DistAllReduce);
  ATL_EXPORT(DistBroadcast);
  ATL_EXPORT(DistBarrier);
  ATL_EXPORT(DistDestroy);
  ATL_EXPORT(DistAvailable);
}

}  // namespace atl
