// oms-core: the C++ core engine process of mExOms.
//
//   oms-core [--config PATH] [--check-config] [--help]
//
// Signals: SIGTERM/SIGINT are blocked in every thread (including nats.c's,
// which inherit the mask) and consumed synchronously by the main thread
// with sigtimedwait, so shutdown runs in normal code, not a signal handler.
#include "oms/config.hpp"
#if OMS_HAVE_ENGINE
#include "oms/core/risk_config.hpp"
#endif
#include "oms/core/service.hpp"
#include "oms/log.hpp"

#include <nats/nats.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#ifndef OMS_VERSION
#define OMS_VERSION "dev"
#endif

namespace {

constexpr const char* kUsage =
    "usage: oms-core [--config PATH] [--check-config] [--help]\n"
    "\n"
    "  --config PATH    configuration file (default: configs/config.yaml)\n"
    "  --check-config   validate the configuration, print problems, exit 0 if\n"
    "                   valid and 1 otherwise; does not connect to NATS\n"
    "  --help           show this help\n"
    "\n"
    "environment overrides: OMS_NATS_URL, OMS_LOG_LEVEL, OMS_HTTP_PORT_OMS_CORE,\n"
    "OMS_DATA_DIR, OMS_JS_REPLICAS\n";

struct Args {
  std::string config = "configs/config.yaml";
  bool check_only = false;
  bool help = false;
  std::string error;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--check-config") {
      a.check_only = true;
    } else if (arg == "--config") {
      if (i + 1 >= argc) { a.error = "--config needs a PATH"; return a; }
      a.config = argv[++i];
    } else if (arg.starts_with("--config=")) {
      a.config = std::string(arg.substr(9));
    } else {
      a.error = "unknown argument: " + std::string(arg);
      return a;
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  if (args.help) { std::fputs(kUsage, stdout); return 0; }
  if (!args.error.empty()) { std::fprintf(stderr, "oms-core: %s\n%s", args.error.c_str(), kUsage); return 2; }

  oms::config::LoadResult loaded = oms::config::load_config(args.config);
#if OMS_HAVE_ENGINE
  // The engine's `risk:` and `instruments:` sections: every bad limit is
  // named (key, value, what was expected) before anything starts.
  if (std::filesystem::exists(args.config)) {
    const oms::core::RiskSettings risk = oms::core::load_risk_settings(args.config);
    for (const auto& e : risk.errors)  // unreadable/unparsable files are reported by load_config already
      if (e.key != "(file)" && e.key != "(yaml)") loaded.errors.push_back(e);
  }
#endif
  if (args.check_only) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s: %s\n", args.config.c_str(), e.to_string().c_str());
    if (loaded.ok()) {
      std::printf("%s: ok (%zu streams, nats %s, http port %d)\n", args.config.c_str(),
                  loaded.config.jetstream.streams.size(), loaded.config.nats_url.c_str(),
                  loaded.config.http_port);
    }
    return loaded.ok() ? 0 : 1;
  }

  const oms::config::Config& cfg = loaded.config;
  const oms::Logger log("oms-core", loaded.ok() ? cfg.log_level : oms::LogLevel::info);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) log.error("invalid configuration", {{"key", e.key}, {"problem", e.message}});
    return 1;
  }

  // Block before any thread exists so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);  // reload risk limits (see reload below)
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Sleeps up to `d`; false once a shutdown signal arrived. SIGHUP asks the
  // engine to re-read `risk:` / `instruments:` (svc is set once it exists).
  bool shutdown = false;
  oms::core::CoreService* live = nullptr;
  auto wait = [&](std::chrono::milliseconds d) {
    if (shutdown) return false;
    timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>((d.count() % 1000) * 1'000'000)};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGHUP && live != nullptr) live->reload();
    if (sig == SIGTERM || sig == SIGINT) {
      log.info("shutdown requested", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      shutdown = true;
    }
    return !shutdown;
  };

  log.info("starting", {{"config", args.config}, {"version", OMS_VERSION}});
  int rc = 0;
  {
    oms::core::CoreService svc(cfg, log, OMS_VERSION);
    live = &svc;
    if (!svc.start_http()) {
      rc = 1;
    } else if (svc.connect(wait)) {
      if (!svc.start_runtime()) rc = 1;
      while (rc == 0 && wait(std::chrono::hours(1))) {
      }
    }
    svc.stop();
    live = nullptr;
  }
  // Release nats.c's library threads and per-thread memory.
  nats_ReleaseThreadMemory();
  nats_CloseAndWait(500);
  log.info("stopped", {{"exit_code", std::to_string(rc)}});
  return rc;
}
