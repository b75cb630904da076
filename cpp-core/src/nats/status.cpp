#include "oms/nats/status.hpp"

namespace oms::nats {

std::string Status::message() const {
  if (ok()) return "ok";
  std::string out = op ? op : "nats";
  out += ": ";
  out += natsStatus_GetText(code);
  if (js_code != 0) {
    out += " (jetstream error ";
    out += std::to_string(js_code);
    out += ")";
  }
  return out;
}

}  // namespace oms::nats
