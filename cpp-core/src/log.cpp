#include "oms/log.hpp"

#include <array>
#include <chrono>
#include <ctime>

namespace oms {

namespace {
constexpr std::array<std::string_view, 7> kLevelNames = {
    "trace", "debug", "info", "notice", "warning", "error", "critical"};

// logfmt: quote values that contain spaces, quotes, '=' or are empty.
void append_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || c == '\n' || c == '\t') { quote = true; break; }
  }
  if (!quote) { out += v; return; }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  out += '"';
}
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == s) return static_cast<LogLevel>(i);
  }
  if (s == "warn") return LogLevel::warning;
  return std::nullopt;
}

std::string_view to_string(LogLevel l) { return kLevelNames[static_cast<size_t>(l)]; }

void Logger::log(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields) const {
  if (!enabled(l)) return;
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto micros = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));

  std::string line;
  line.reserve(160);
  line += "ts=";
  line += ts;
  line += " level=";
  line += to_string(l);
  line += " service=";
  append_value(line, service_);
  line += " msg=\"";
  for (char c : msg) {
    if (c == '"' || c == '\\') line += '\\';
    line += c;
  }
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    append_value(line, v);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace oms
