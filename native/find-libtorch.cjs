// Locates libtorch for binding.gyp, the way the Rust crate tch does: LIBTORCH names any libtorch
// folder (a pytorch.org download, or <site-packages>/torch of a Python install, which is how a
// CUDA build gets used); otherwise Debian/Ubuntu's libtorch-dev paths.
// Usage: node find-libtorch.cjs include|libdir|libs|gloo|abi
// gloo: the defines that build native/src/dist.cc's c10d collectives, when the libtorch has c10d's
// ProcessGroupGloo and Gloo's headers are at hand (Debian: libgloo-dev; a Python torch ships them)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const HOWTO =
  'libtorch not found. Install it with `apt-get install libtorch-dev libopenblas0-pthread` ' +
  '(Debian/Ubuntu), or set LIBTORCH to a libtorch folder (one holding include/ and lib/, e.g. a ' +
  'pytorch.org libtorch download or the torch folder of a Python torch install), then run ' +
  '`npm run build:native`.';

function candidates() {
  const out = [];
  if (process.env.LIBTORCH) {
    const root = path.resolve(process.env.LIBTORCH);
    out.push({ root, include: path.join(root, 'include'), libdir: path.join(root, 'lib'), fromEnv: true });
  }
  for (const libdir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    out.push({ root: '/usr', include: '/usr/include', libdir, fromEnv: false });
  }
  return out;
}

function find() {
  for (const c of candidates()) {
    const header = path.join(c.include, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h');
    const lib = path.join(c.libdir, 'libtorch_cpu.so');
    const libAlt = path.join(c.libdir, 'libtorch.so');
    if (fs.existsSync(header) && (fs.existsSync(lib) || fs.existsSync(libAlt))) return c;
    if (c.fromEnv) {
      process.stderr.write(`LIBTORCH=${process.env.LIBTORCH} does not hold include/torch/csrc/api/include/torch/torch.h and lib/libtorch_cpu.so.\n${HOWTO}\n`);
      process.exit(1);
    }
  }
  return null;
}

const what = process.argv[2];
const found = find();
if (!found) {
  process.stderr.write(`\n*** ${HOWTO}\n\n`);
  process.exit(1);
}
const has = (name) => fs.existsSync(path.join(found.libdir, name));
if (what === 'include') {
  console.log([found.include, path.join(found.include, 'torch', 'csrc', 'api', 'include')].join(' '));
} else if (what === 'gloo') {
  const c10d = path.join(found.include, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp');
  const gloo = [path.join(found.include, 'gloo', 'algorithm.h'), '/usr/include/gloo/algorithm.h'].some((p) => fs.existsSync(p));
  console.log(fs.existsSync(c10d) && gloo ? 'ATL_HAVE_GLOO USE_C10D_GLOO' : 'ATL_NO_GLOO');
} else if (what === 'abi') {
  // the C++ ABI the libtorch was compiled with, read from the install (a Python torch wheel may use
  // the old one): its CMake config states it; else its libc10's symbols show it; Debian's own
  // libtorch (found without LIBTORCH) uses the compiler's default, so nothing is defined
  if (!found.fromEnv) process.exit(0);
  const cmake = path.join(found.root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  const m = fs.existsSync(cmake) && /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(fs.readFileSync(cmake, 'utf8'));
  let abi = m ? m[1] : null;
  if (abi === null && has('libc10.so')) abi = fs.readFileSync(path.join(found.libdir, 'libc10.so')).includes('__cxx11') ? '1' : '0';
  if (abi !== null) console.log(`_GLIBCXX_USE_CXX11_ABI=${abi}`);
} else if (what === 'libdir') {
  console.log(found.libdir);
} else if (what === 'libs') {
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  if (has('libtorch_cuda.so')) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  console.log(libs.join(' '));
} else {
  console.log(JSON.stringify(found));
}
