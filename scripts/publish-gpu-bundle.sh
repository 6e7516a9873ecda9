#!/usr/bin/env bash
# Builds the self-contained linux-x64 bundle for GPU nodes (no .NET needed there; shared/GPU_NODE.md):
#   scripts/publish-gpu-bundle.sh [--with-silo]  -> .bundle/flatlora-linux-x64/ and .bundle/flatlora-linux-x64.tar.xz
# The CLI alone (train, bench, generate, robustness) packs to about 40 MB; --with-silo adds the silo host (+45 MB).
# The CPU libtorch the build carries is left out: on the node, PyTorch's CUDA libtorch is used instead
# (scripts/bench_gpu.sh and deploy/docker/entrypoint.sh put it on LD_LIBRARY_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.bundle/flatlora-linux-x64
with_silo=""
[ "${1:-}" = "--with-silo" ] && with_silo=1
rm -rf "$out" "$out.tar.xz"
dotnet publish src/Client -c Release -r linux-x64 --self-contained -o "$out" -v quiet -nologo
[ -n "$with_silo" ] && dotnet publish src/Silo -c Release -r linux-x64 --self-contained -o "$out/silo" -v quiet -nologo
for dir in "$out" "$out/silo"; do
  [ -d "$dir" ] && rm -f "$dir"/libtorch*.so "$dir"/libc10*.so "$dir"/libgomp*
done
cp scripts/bench_reference.py scripts/bench_gpu.sh "$out/"
tar -C .bundle -cJf "$out.tar.xz" flatlora-linux-x64
echo "$(du -sh "$out" | cut -f1) in $out, $(du -sh "$out.tar.xz" | cut -f1) compressed: $out.tar.xz"
