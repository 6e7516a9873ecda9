#!/bin/sh
# Puts the image's PyTorch libtorch (CUDA) first on the library path when the image has one, then runs the command
# (flatlora-silo by default, or flatlora for the CLI).
set -eu
if [ "${FLATLORA_TORCH_FROM_PYTHON:-0}" = "1" ]; then
  torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null) || {
    echo "entrypoint: python3 cannot import torch; the gpu image needs PyTorch's libtorch" >&2
    exit 1
  }
  export LD_LIBRARY_PATH="${torch_lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$@"
