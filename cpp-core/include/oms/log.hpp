// Structured logfmt logger: `ts=... level=info service=oms-core msg="..." k=v`.
// Immutable after construction, so it is safe to share across threads
// (including nats.c callback threads): each line is formatted into a local
// buffer and written with one fwrite, which stdio serialises.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace oms {

enum class LogLevel { trace, debug, info, notice, warning, error, critical };

std::optional<LogLevel> parse_log_level(std::string_view s);
std::string_view to_string(LogLevel l);

using LogField = std::pair<std::string_view, std::string_view>;

class Logger {
 public:
  explicit Logger(std::string service, LogLevel min = LogLevel::info, std::FILE* out = stderr)
      : service_(std::move(service)), min_(min), out_(out) {}

  bool enabled(LogLevel l) const noexcept { return l >= min_; }
  void log(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields = {}) const;

  void info(std::string_view m, std::initializer_list<LogField> f = {}) const { log(LogLevel::info, m, f); }
  void warn(std::string_view m, std::initializer_list<LogField> f = {}) const { log(LogLevel::warning, m, f); }
  void error(std::string_view m, std::initializer_list<LogField> f = {}) const { log(LogLevel::error, m, f); }
  void debug(std::string_view m, std::initializer_list<LogField> f = {}) const { log(LogLevel::debug, m, f); }

 private:
  std::string service_;
  LogLevel min_;
  std::FILE* out_;
};

}  // namespace oms
