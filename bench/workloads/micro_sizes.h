/* micro_sizes.h: the request-size distribution of CPython 3.11, for the
 * pymix microbenchmark (micro.c).
 *
 * A histogram, not a model: the number of requests of each size bucket in
 * the three Python traces bundled in corpus/traces/ (json_tool, pydoc,
 * difflib; corpus/traces/README.md says how each was recorded: Debian 12's
 * /usr/bin/python3, CPython 3.11.2, PYTHONMALLOC=malloc, so every object,
 * list, dict and string buffer request of the interpreter reaches malloc
 * and the trace).
 *
 * How it was computed (a throwaway /usr/bin/python3 script, run from the
 * repository root; no script file is kept):
 *   - read each of corpus/traces/{json_tool,pydoc,difflib}.mtrace.gz with
 *     gzip.open(..., "rt");
 *   - split each line on white space and drop a leading "@ CALLER" pair;
 *   - count the SIZE (hex) of every "+ PTR SIZE" record (malloc, calloc,
 *     realloc(NULL)) and every "> NEW SIZE" record (a realloc's result, at
 *     its new size), skipping PTR "(nil)" (there were none);
 *   - bucket the sizes by bisect_left on the upper bounds below (a size
 *     goes to the first bucket whose `hi` is >= it).
 * Result: 532580 requests (522074 "+" and 10506 ">"), none of size 0, the
 * largest 207552 bytes; mean request 119.0 bytes.  Per trace: json_tool
 * 126008, pydoc 168010, difflib 238562.
 *
 * Buckets: 16 bytes wide up to 512 (pymalloc's size classes are exactly
 * these: a request of lo..hi is served from the class of hi), then powers
 * of two to 16 KiB and two wide tails; the last bound, 256 KiB, is the
 * next power of two above the largest request seen.  micro.c draws a
 * bucket with probability count / total and a size uniformly in lo..hi, so
 * below 512 bytes every sampled size lands in the size class the traces
 * used; above it the spread inside a bucket is an assumption.  Sampled
 * mean: 127.4 bytes (68.2 from requests up to 512, 59.2 from larger ones)
 * against the traces' 119.0 (71.5 and 47.5): the uniform spread inside the
 * wide buckets overweights the tail's large end.
 */
#ifndef HL_BENCH_MICRO_SIZES_H
#define HL_BENCH_MICRO_SIZES_H

#include <stdint.h>

typedef struct hl_micro_bucket_s {
    uint32_t lo, hi;     /* requested sizes lo..hi, inclusive */
    uint32_t count;      /* requests in the three traces */
} hl_micro_bucket_t;

static const hl_micro_bucket_t hl_micro_pymix_buckets[] = {
    {1, 16, 10582},       {17, 32, 121068},     {33, 48, 85990},      {49, 64, 122231},
    {65, 80, 75818},      {81, 96, 24663},      {97, 112, 7454},      {113, 128, 6986},
    {129, 144, 1081},     {145, 160, 37227},    {161, 176, 1486},     {177, 192, 6089},
    {193, 208, 3695},     {209, 224, 5094},     {225, 240, 1231},     {241, 256, 1370},
    {257, 272, 984},      {273, 288, 1176},     {289, 304, 479},      {305, 320, 618},
    {321, 336, 366},      {337, 352, 288},      {353, 368, 261},      {369, 384, 289},
    {385, 400, 1568},     {401, 416, 450},      {417, 432, 1191},     {433, 448, 691},
    {449, 464, 1233},     {465, 480, 180},      {481, 496, 101},      {497, 512, 494},
    {513, 1024, 4625},    {1025, 2048, 3821},   {2049, 4096, 855},    {4097, 8192, 331},
    {8193, 16384, 310},   {16385, 65536, 161},  {65537, 262144, 43},
};

#define HL_MICRO_PYMIX_NBUCKETS \
    (sizeof hl_micro_pymix_buckets / sizeof hl_micro_pymix_buckets[0])
#define HL_MICRO_PYMIX_TOTAL 532580u   /* the sum of the counts */

#endif /* HL_BENCH_MICRO_SIZES_H */
