#include "oms/core/engine_host.hpp"

#include <pthread.h>
#include <sched.h>

namespace oms::core {

namespace {

// Placeholder (built with -DOMS_WITH_ENGINE=OFF) until oms_engine is wired: starts nothing, always healthy.
class NullEngineHost final : public EngineHost {
 public:
  const char* name() const noexcept override { return "null"; }
  nats::Status start(EngineContext& ctx) override {
    ctx.log.info("engine not wired; running without trading engine", {{"engine", name()}});
    return nats::Status::success();
  }
  void stop() noexcept override {}
};

}  // namespace

std::unique_ptr<EngineHost> make_engine_host(const config::Config& config) {
#if defined(OMS_HAVE_ENGINE)
  return make_risk_engine_host(config);
#else
  (void)config;
  return std::make_unique<NullEngineHost>();
#endif
}

int pin_current_thread(int cpu) {
  if (cpu < 0) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace oms::core
