{
  "targets": [
    {
      "target_name": "atelier_torch",
      "sources": ["src/addon.cc", "src/ops.cc", "src/dist.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node find-libtorch.cjs include)"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "<!@(node find-libtorch.cjs gloo)", "<!@(node find-libtorch.cjs abi)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node find-libtorch.cjs libdir)",
        "<!@(node find-libtorch.cjs libs)",
        "-Wl,-rpath,<!(node find-libtorch.cjs libdir)"
      ]
    }
  ]
}
