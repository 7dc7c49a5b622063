/*
 * Native reference for the native_ratio line of `npm run bench:prover`: the same NTT (2^20, one
 * column, radix-2 DIF with Montgomery twiddles) and BLAKE3 Merkle commitment (2^20 keyed 64-byte
 * leaves, one compression per node) as the WASM kernels, in portable C compiled with -O3
 * -march=native, single-threaded. Prints one JSON object: {"ntt_ms": x, "merkle_ms": y} (medians).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P 2013265921u
#define MU 2281701377u /* p^-1 mod 2^32 */

static inline uint32_t mmul(uint32_t a, uint32_t b) {
  uint64_t ab = (uint64_t)a * b;
  uint32_t q = (uint32_t)ab * MU;
  uint64_t qp = (uint64_t)q * P;
  uint32_t t = (uint32_t)(ab >> 32) - (uint32_t)(qp >> 32);
  return (uint32_t)(ab >> 32) < (uint32_t)(qp >> 32) ? t + P : t;
}

static uint32_t powmod(uint64_t b, uint64_t e) {
  uint64_t r = 1;
  b %= P;
  while (e) {
    if (e & 1) r = r * b % P;
    b = b * b % P;
    e >>= 1;
  }
  return (uint32_t)r;
}

static void ntt_dif(uint32_t *a, int log_n, const uint32_t *tw) {
  size_t n = (size_t)1 << log_n;
  for (size_t len = n >> 1; len >= 1; len >>= 1) {
    for (size_t start = 0; start < n; start += 2 * len) {
      uint32_t *lo = a + start, *hi = lo + len;
      const uint32_t *t = tw + len;
      for (size_t j = 0; j < len; j++) {
        uint32_t u = lo[j], v = hi[j];
        uint32_t s = u + v;
        lo[j] = s >= P ? s - P : s;
        uint32_t d = u >= v ? u - v : u + P - v;
        hi[j] = mmul(d, t[j]);
      }
    }
  }
}

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
static const uint8_t PERM[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

#define G(a, b, c, d, x, y)                  \
  v[a] = v[a] + v[b] + (x);                  \
  v[d] = rotr(v[d] ^ v[a], 16);              \
  v[c] = v[c] + v[d];                        \
  v[b] = rotr(v[b] ^ v[c], 12);              \
  v[a] = v[a] + v[b] + (y);                  \
  v[d] = rotr(v[d] ^ v[a], 8);               \
  v[c] = v[c] + v[d];                        \
  v[b] = rotr(v[b] ^ v[c], 7);

/* Keyed BLAKE3 of one 64-byte block (one compression: CHUNK_START | CHUNK_END | ROOT | KEYED_HASH). */
static void hash64(const uint32_t key[8], const uint32_t block[16], uint32_t out[8]) {
  uint32_t v[16], m[16], t[16];
  memcpy(v, key, 32);
  memcpy(v + 8, IV, 16);
  v[12] = 0;
  v[13] = 0;
  v[14] = 64;
  v[15] = 1 | 2 | 8 | 16;
  memcpy(m, block, 64);
  for (int r = 0; r < 7; r++) {
    G(0, 4, 8, 12, m[0], m[1]);
    G(1, 5, 9, 13, m[2], m[3]);
    G(2, 6, 10, 14, m[4], m[5]);
    G(3, 7, 11, 15, m[6], m[7]);
    G(0, 5, 10, 15, m[8], m[9]);
    G(1, 6, 11, 12, m[10], m[11]);
    G(2, 7, 8, 13, m[12], m[13]);
    G(3, 4, 9, 14, m[14], m[15]);
    for (int i = 0; i < 16; i++) t[i] = m[PERM[i]];
    memcpy(m, t, 64);
  }
  for (int i = 0; i < 8; i++) out[i] = v[i] ^ v[i + 8];
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 5;
  const int log_n = 20;
  size_t n = (size_t)1 << log_n;
  uint32_t *tw = malloc(n * 4), *a = malloc(n * 4);
  uint32_t r32 = (uint32_t)(((uint64_t)1 << 32) % P);
  uint32_t w = powmod(31, (P - 1) >> log_n);
  uint64_t x = 1;
  for (size_t j = 0; j < n / 2; j++, x = x * w % P) tw[n / 2 + j] = (uint32_t)(x * r32 % P);
  for (size_t len = n / 4; len >= 1; len >>= 1)
    for (size_t j = 0; j < len; j++) tw[len + j] = tw[2 * len + 2 * j];
  srand(1);
  double *samples = malloc(sizeof(double) * (runs + 1));
  for (int r = 0; r <= runs; r++) {
    for (size_t i = 0; i < n; i++) a[i] = (uint32_t)rand() % P;
    double t = now_ms();
    ntt_dif(a, log_n, tw);
    samples[r] = now_ms() - t;
  }
  qsort(samples + 1, runs, sizeof(double), cmp);
  double ntt_ms = samples[1 + runs / 2];

  uint32_t key[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint32_t *leaves = malloc(n * 64), *layer = malloc(n * 32);
  for (size_t i = 0; i < n * 16; i++) leaves[i] = (uint32_t)rand();
  for (int r = 0; r <= runs; r++) {
    double t = now_ms();
    for (size_t i = 0; i < n; i++) hash64(key, leaves + 16 * i, layer + 8 * i);
    for (size_t count = n / 2; count >= 16; count /= 2)
      for (size_t i = 0; i < count; i++) hash64(key, layer + 16 * i, layer + 8 * i);
    samples[r] = now_ms() - t;
  }
  qsort(samples + 1, runs, sizeof(double), cmp);
  printf("{\"ntt_ms\": %.3f, \"merkle_ms\": %.3f}\n", ntt_ms, samples[1 + runs / 2]);
  return 0;
}
