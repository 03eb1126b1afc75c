#!/bin/bash -eu
# ClusterFuzzLite's build: the OSS-Fuzz one (fuzz/oss-fuzz/build.sh).
exec "$SRC/heaplab/fuzz/oss-fuzz/build.sh"
