// JetStream delivery metadata from a message's ack (reply) subject.
#pragma once

#include <cstdint>
#include <cstring>

namespace oms::core {

// Stream sequence, store timestamp and pending count straight from the ack
// subject, without natsMsg_GetMetaData's allocations (it strdup's the stream
// and consumer names for every message):
//   v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
//   v2: $JS.ACK.<domain>.<acchash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
// False for anything else (the caller then asks nats.c).
inline bool parse_ack_subject(const char* reply, std::uint64_t& sseq, std::int64_t& ts, std::uint64_t& pending) {
  if (!reply || std::strncmp(reply, "$JS.ACK.", 8) != 0) return false;
  const char* tok[16];
  std::size_t len[16];
  int n = 0;
  const char* p = reply + 8;
  while (n < 16) {
    const char* e = std::strchr(p, '.');
    tok[n] = p;
    len[n] = e ? static_cast<std::size_t>(e - p) : std::strlen(p);
    ++n;
    if (!e) break;
    p = e + 1;
  }
  int base;  // index of <delivered>
  if (n == 7) base = 2;
  else if (n == 9 || n == 10) base = 4;
  else return false;
  auto num = [&](int i, std::uint64_t& v) {
    if (len[i] == 0 || len[i] > 20) return false;
    v = 0;
    for (std::size_t k = 0; k < len[i]; ++k) {
      const char c = tok[i][k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  std::uint64_t t = 0;
  if (!num(base + 1, sseq) || !num(base + 3, t) || !num(base + 4, pending)) return false;
  ts = static_cast<std::int64_t>(t);
  return true;
}

}  // namespace oms::core
