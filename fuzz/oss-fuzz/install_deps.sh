#!/bin/bash -eu
# install_deps.sh: what heaplab's fuzz targets need in OSS-Fuzz's base-builder
# image (Ubuntu 20.04), beyond its clang: run once by fuzz/oss-fuzz/Dockerfile
# and .clusterfuzzlite/Dockerfile.  The Debian 12 packages heaplab uses
# elsewhere (README.md, "Set-up") have these Ubuntu 20.04 stand-ins:
#   libpython3.11-dev  not in focal: from the deadsnakes PPA
#                      (ppa:deadsnakes/ppa, which builds CPython 3.11 for
#                      focal); the `cpython` allocator links libpython3.11
#   zlib1g-dev         reading gzip-compressed traces (-lz)
#   libjemalloc-dev    jemalloc 5.2 (Debian 12 has 5.3): the jemalloc peer's
#                      header; libjemalloc.so.2 is dlopen()ed
#   libgoogle-perftools-dev  the tcmalloc peer (libtcmalloc_minimal.so.4)
#   mimalloc           not in focal: v2.0.9 (Debian 12's version) built from
#                      its release tag, installed to /usr/local (mimalloc.h,
#                      libmimalloc.so.2)
#   zip                the seed-corpus zips
# build.sh copies the run-time libraries into $OUT/lib (base-runner has none
# of them).  Peer libraries are built plainly, without sanitizers, as Debian's.
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends software-properties-common gnupg \
    zlib1g-dev libjemalloc-dev libgoogle-perftools-dev cmake zip
add-apt-repository -y ppa:deadsnakes/ppa
apt-get update
apt-get install -y --no-install-recommends libpython3.11-dev
git clone --depth 1 --branch v2.0.9 https://github.com/microsoft/mimalloc /tmp/mimalloc
cmake -S /tmp/mimalloc -B /tmp/mimalloc/build -DCMAKE_BUILD_TYPE=Release \
    -DMI_INSTALL_TOPLEVEL=ON -DMI_BUILD_TESTS=OFF -DMI_BUILD_STATIC=OFF -DMI_BUILD_OBJECT=OFF \
    -DCMAKE_C_FLAGS= -DCMAKE_CXX_FLAGS=
cmake --build /tmp/mimalloc/build -j"$(nproc)"
cmake --install /tmp/mimalloc/build --prefix /usr/local
ldconfig
rm -rf /tmp/mimalloc /var/lib/apt/lists/*
