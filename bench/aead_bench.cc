// AEAD cost: Ironflow's MasterKey::Seal/Open against raw OpenSSL 3 EVP doing the same work.
//
// Both sides do, per operation: a fresh EVP_CIPHER_CTX, init with key and nonce, AAD, one update, final, tag.
// Seal draws a 12-byte nonce with RAND_bytes (MasterKey::Seal does this internally). The ciphers are fetched once,
// outside the loop, on both sides (Aes256Gcm fetches at construction). Payloads: 64 B, 1 KiB, 64 KiB; AAD is a
// realistic SecretAad of about 40 bytes. The raw functions are the reference: the ratio ours/raw is the overhead
// of the wrapper (allocation of result vectors, checks, wiping).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/master_key.h"
#include "secrets/secret_record.h"

namespace {

using ironflow::AsBytes;
using ironflow::server::Aes256Gcm;
using ironflow::server::MasterKey;

// "ironflow/secret/v1" NUL "production" NUL "STRIPE_LIVE_KEY": 45 bytes.
const std::string kAad = ironflow::server::SecretAad("production", "STRIPE_LIVE_KEY");

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "bench_aead: %s\n", what);
  std::abort();
}

struct Fixture {
  std::vector<uint8_t> key = ironflow::RandomBytes(Aes256Gcm::kKeyBytes);
  MasterKey master = MasterKey::FromBytes(key);
  std::vector<uint8_t> plaintext;
  explicit Fixture(size_t n) : plaintext(ironflow::RandomBytes(n)) {}
};

struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherFree>;

CipherPtr FetchGcm() {
  CipherPtr c(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!c) Die("EVP_CIPHER_fetch(AES-256-GCM) failed");
  return c;
}

// Raw EVP seal: out = ciphertext || tag, nonce drawn fresh. Returns false on any EVP failure.
bool RawSeal(const EVP_CIPHER* cipher, const std::vector<uint8_t>& key, const std::vector<uint8_t>& pt,
             const std::string& aad, uint8_t nonce[12], std::vector<uint8_t>& out) {
  if (RAND_bytes(nonce, 12) != 1) return false;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  out.resize(pt.size() + 16);
  int len = 0, total = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), nonce, nullptr) != 1) return false;
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, pt.data(), static_cast<int>(pt.size())) != 1) return false;
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, out.data() + pt.size()) == 1;
}

bool RawOpen(const EVP_CIPHER* cipher, const std::vector<uint8_t>& key, const uint8_t nonce[12],
             const std::vector<uint8_t>& sealed, const std::string& aad, std::vector<uint8_t>& out) {
  const size_t ct_len = sealed.size() - 16;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  out.resize(ct_len);
  int len = 0, total = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), nonce, nullptr) != 1) return false;
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(ct_len)) != 1) return false;
  total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(sealed.data() + ct_len)) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(ctx.get(), out.data() + total, &len) == 1;
}

void BM_IronflowSeal(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto box = f.master.Seal(f.plaintext, AsBytes(kAad));
    if (!box.ok()) Die("MasterKey::Seal failed");
    benchmark::DoNotOptimize(box->ciphertext.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_RawEvpSeal(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  CipherPtr cipher = FetchGcm();
  uint8_t nonce[12];
  for (auto _ : state) {
    // A fresh output buffer per op, as MasterKey::Seal returns a fresh vector.
    std::vector<uint8_t> out;
    if (!RawSeal(cipher.get(), f.key, f.plaintext, kAad, nonce, out)) Die("raw EVP seal failed");
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_IronflowOpen(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  auto box = f.master.Seal(f.plaintext, AsBytes(kAad));
  if (!box.ok()) Die("MasterKey::Seal failed");
  for (auto _ : state) {
    auto plain = f.master.Open(box.value(), AsBytes(kAad));
    if (!plain.ok()) Die("MasterKey::Open failed");
    benchmark::DoNotOptimize(plain->data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_RawEvpOpen(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  CipherPtr cipher = FetchGcm();
  uint8_t nonce[12];
  std::vector<uint8_t> sealed;
  if (!RawSeal(cipher.get(), f.key, f.plaintext, kAad, nonce, sealed)) Die("raw EVP seal failed");
  for (auto _ : state) {
    std::vector<uint8_t> out;
    if (!RawOpen(cipher.get(), f.key, nonce, sealed, kAad, out)) Die("raw EVP open failed");
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// Sanity check before timing anything: both paths must produce interoperable output, otherwise the comparison
// measures different work.
void CheckPathsAgree() {
  Fixture f(1024);
  CipherPtr cipher = FetchGcm();
  auto box = f.master.Seal(f.plaintext, AsBytes(kAad));
  if (!box.ok()) Die("MasterKey::Seal failed");
  std::vector<uint8_t> out;
  if (!RawOpen(cipher.get(), f.key, box->nonce.data(), box->ciphertext, kAad, out) || out != f.plaintext) {
    Die("raw EVP cannot open what MasterKey sealed");
  }
  uint8_t nonce[12];
  std::vector<uint8_t> sealed;
  if (!RawSeal(cipher.get(), f.key, f.plaintext, kAad, nonce, sealed)) Die("raw EVP seal failed");
  auto plain =
      f.master.Open(ironflow::server::SealedBox{std::vector<uint8_t>(nonce, nonce + 12), sealed}, AsBytes(kAad));
  if (!plain.ok() || plain->size() != f.plaintext.size() ||
      !std::equal(f.plaintext.begin(), f.plaintext.end(), plain->data())) {
    Die("MasterKey cannot open what raw EVP sealed");
  }
}

[[maybe_unused]] const bool kChecked = (CheckPathsAgree(), true);

#define IRONFLOW_SIZES Arg(64)->Arg(1024)->Arg(65536)
BENCHMARK(BM_IronflowSeal)->IRONFLOW_SIZES;
BENCHMARK(BM_RawEvpSeal)->IRONFLOW_SIZES;
BENCHMARK(BM_IronflowOpen)->IRONFLOW_SIZES;
BENCHMARK(BM_RawEvpOpen)->IRONFLOW_SIZES;

}  // namespace

BENCHMARK_MAIN();
