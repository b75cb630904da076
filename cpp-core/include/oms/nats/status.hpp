// Error reporting for the NATS wrapper: plain values, no exceptions, no
// allocation on success (the hot path only ever copies three words).
#pragma once

#include <nats/nats.h>

#include <optional>
#include <string>
#include <utility>

namespace oms::nats {

// Outcome of a nats.c call. `op` is a string literal naming the failing call
// so logs say *what* failed, not just "timeout".
struct [[nodiscard]] Status {
  natsStatus code = NATS_OK;
  int js_code = 0;             // jsErrCode from the server (0 if none)
  const char* op = nullptr;    // static string: never owned

  constexpr bool ok() const noexcept { return code == NATS_OK; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  bool timed_out() const noexcept { return code == NATS_TIMEOUT; }

  static constexpr Status success() noexcept { return {}; }
  static constexpr Status failure(natsStatus c, const char* what, int js = 0) noexcept {
    return Status{c, js, what};
  }

  // "js_PublishMsg: Timeout (js 0)" -- allocates; for logs only.
  std::string message() const;
};

// Minimal std::expected stand-in (GCC 12 has no <expected>): either a value
// or the Status explaining why not.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status error) : error_(error) {                 // NOLINT
    if (error_.ok()) error_ = Status::failure(NATS_ERR, "Result: error without code");
  }

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Status& status() const noexcept { return error_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status error_{};
};

}  // namespace oms::nats
