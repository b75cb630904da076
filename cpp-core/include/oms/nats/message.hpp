// RAII natsMsg plus the standard mExOms headers.
#pragma once

#include "oms/nats/status.hpp"

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

namespace oms::nats {

// Standard headers of an mExOms message. Plain data; nullptr = header not
// set. Pointers must be NUL-terminated and live until Msg::create returns
// (nats.c copies them).
struct OmsHeaders {
  const char* msg_id = nullptr;    // Nats-Msg-Id (JetStream dedup)
  const char* type = nullptr;      // Oms-Type: "oms.v1.<Type>"
  const char* id = nullptr;        // Oms-Id
  const char* trace_id = nullptr;  // Oms-Trace-Id
  const char* producer = nullptr;  // Oms-Producer
};

// JetStream delivery metadata of a consumed message.
struct DeliveryInfo {
  uint64_t stream_seq = 0;
  uint64_t consumer_seq = 0;
  uint64_t num_delivered = 0;   // 1 on first delivery, >1 on redelivery
  uint64_t num_pending = 0;
  int64_t timestamp_ns = 0;
};

// Owns one natsMsg. Move-only. An empty Msg (raw()==nullptr) is valid and
// is what a moved-from or failed-create Msg looks like.
class Msg {
 public:
  Msg() = default;
  explicit Msg(natsMsg* m) noexcept : m_(m) {}
  ~Msg() { reset(); }
  Msg(Msg&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Msg& operator=(Msg&& o) noexcept {
    if (this != &o) { reset(); m_ = std::exchange(o.m_, nullptr); }
    return *this;
  }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;

  // nats.c copies `data` into the message.
  static Result<Msg> create(const char* subject, std::span<const uint8_t> data,
                            const OmsHeaders& headers = {}, const char* reply = nullptr);

  Status set_header(const char* key, const char* value);
  // nullptr if absent. Valid while this Msg lives.
  const char* header(const char* key) const;

  const char* subject() const { return natsMsg_GetSubject(m_); }
  const char* reply() const { return natsMsg_GetReply(m_); }
  std::span<const uint8_t> data() const {
    return {reinterpret_cast<const uint8_t*>(natsMsg_GetData(m_)),
            static_cast<size_t>(natsMsg_GetDataLength(m_))};
  }
  std::string_view text() const {
    return {natsMsg_GetData(m_), static_cast<size_t>(natsMsg_GetDataLength(m_))};
  }

  // JetStream acknowledgements (only for messages from a JetStream consumer).
  Status ack();                                   // fire-and-forget
  Status ack_sync(std::chrono::milliseconds wait);  // waits for the server's confirmation
  Status nak();                                   // redeliver now
  Status term();                                  // never redeliver
  Result<DeliveryInfo> delivery_info() const;

  natsMsg* raw() const noexcept { return m_; }
  natsMsg* release() noexcept { return std::exchange(m_, nullptr); }
  explicit operator bool() const noexcept { return m_ != nullptr; }

 private:
  void reset() noexcept {
    if (m_) natsMsg_Destroy(m_);
    m_ = nullptr;
  }
  natsMsg* m_ = nullptr;
};

}  // namespace oms::nats
