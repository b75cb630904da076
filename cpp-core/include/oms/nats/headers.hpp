// Header names shared by every mExOms producer/consumer (Swift and C++).
// Keep in sync with the Swift side; these strings are the wire contract.
#pragma once

namespace oms::nats::hdr {

inline constexpr const char* kMsgId = "Nats-Msg-Id";        // JetStream dedup key
inline constexpr const char* kType = "Oms-Type";            // "oms.v1.<Message>"
inline constexpr const char* kId = "Oms-Id";                // unique id of this message
inline constexpr const char* kTraceId = "Oms-Trace-Id";     // end-to-end correlation
inline constexpr const char* kProducer = "Oms-Producer";    // "oms-core", "oms-server", ...

}  // namespace oms::nats::hdr
