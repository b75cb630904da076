#pragma once
// Protobuf <-> engine struct codec (protobuf-c underneath).
// Why an arena: protobuf_c_message_unpack allocates every submessage and
// string; with a bump allocator over a buffer reserved once at construction
// and reset per message, decoding costs zero heap allocations on the hot
// path. Encoding packs straight into a caller buffer (no allocation either).
//
// One Codec per thread (it owns its arena); it is not thread-safe.
#include <cstddef>
#include <cstdint>
#include <memory>
#include "oms/engine/instrument_registry.hpp"
#include "oms/engine/messages.hpp"

namespace oms::engine {

// Fast path of decode_command (src/command_wire.cpp): 1 / 0 decoded (true /
// false), -1 needs protobuf-c.
int decode_command_fast(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out);

// Direct encoders (src/command_wire_encode.cpp), byte-identical to protobuf-c.
std::size_t encode_decision_direct(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf, std::size_t cap);
std::size_t encode_command_direct(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap);

class Codec {
public:
    explicit Codec(std::size_t arena_bytes = 256 * 1024);
    ~Codec();
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    // ---- decode (false: malformed, oversized field, or arena exhausted) ----
    // `sequence` is the JetStream stream sequence of the message (0 unknown).
    // decode_command: hand-written wire decoder (src/command_wire.cpp) for
    // canonical input, protobuf-c (decode_command_reference) for anything
    // unusual; both give identical results (tests + fuzz check it). Inline:
    // on the order path it is one call into the fast decoder.
    bool decode_command(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out) {
        // Large inputs go to protobuf-c so arena exhaustion fails identically.
        if (len + 8192 <= arena_size_) {
            const int r = decode_command_fast(data, len, sequence, out);
            if (r >= 0) return r != 0;
        }
        return decode_command_fallback(data, len, sequence, out);
    }
    bool decode_command_reference(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out);
    // How many decode_command calls fell back to protobuf-c (tests / metrics).
    std::uint64_t command_fallbacks() const { return command_fallbacks_; }
    bool decode_fill(const std::uint8_t* data, std::size_t len, FillMsg& out);
    bool decode_order_event(const std::uint8_t* data, std::size_t len, OrderEventMsg& out);
    bool decode_top_of_book(const std::uint8_t* data, std::size_t len, TopOfBookMsg& out);
    // AccountUpdate (positions.>): the positions (hedge-mode LONG/SHORT legs merged per
    // instrument) and up to kMaxBalancesPerUpdate balances' free amounts.
    bool decode_account_update(const std::uint8_t* data, std::size_t len, AccountUpdateMsg& out);
    bool decode_risk_control(const std::uint8_t* data, std::size_t len, RiskControlMsg& out);
    // InstrumentList (startup / registry refresh): calls sink(spec) per entry.
    template <typename Sink>
    bool decode_instrument_list(const std::uint8_t* data, std::size_t len, Sink&& sink) {
        return decode_instrument_list_impl(data, len, &sink_thunk<Sink>, &sink);
    }
    // One Instrument message.
    bool decode_instrument(const std::uint8_t* data, std::size_t len, InstrumentSpec& out);

    // ---- encode: bytes written into buf, 0 if it does not fit --------------
    // RiskDecision for a Decision output; check_latency_ns is measured by the
    // caller (the engine never reads clocks).
    std::size_t encode_decision(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf, std::size_t cap);
    // OrderEvent(REJECTED) for an OrderRejected output (event_id = command_id + ":rej").
    std::size_t encode_rejected_event(const Output& o, std::int64_t ts_init_ns, std::uint8_t* buf, std::size_t cap);
    // OrderCommand for ForwardCommand / KillCancelAll outputs.
    std::size_t encode_command(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap);
    // oms.v1.Alert for an Alert output (alert_id = update_id + ":alert", source "oms-core").
    std::size_t encode_alert(const AlertMsg& a, std::uint8_t* buf, std::size_t cap);
    // A forwarded (accepted) command: its input bytes `in` verbatim when the
    // decode lost nothing (c.wire_lossless, NewOrder), else encode_command.
    std::size_t encode_forward(const OrderCommandMsg& c, const std::uint8_t* in, std::size_t in_len, std::uint8_t* buf,
                               std::size_t cap);
    // protobuf-c versions of the two above (reference for the direct ones).
    std::size_t encode_decision_reference(const Decision& d, std::int64_t check_latency_ns, std::uint8_t* buf,
                                          std::size_t cap);
    std::size_t encode_command_reference(const OrderCommandMsg& c, std::uint8_t* buf, std::size_t cap);
    // Dispatch on the output kind.
    std::size_t encode(const Output& o, std::int64_t check_latency_ns, std::int64_t ts_init_ns, std::uint8_t* buf,
                       std::size_t cap);

    // Arena introspection (tests / metrics).
    std::size_t arena_high_water() const { return high_water_; }

    struct Arena;  // implementation detail (protobuf-c allocator glue)

private:
    bool decode_command_fallback(const std::uint8_t* data, std::size_t len, std::uint64_t sequence, OrderCommandMsg& out);
    template <typename Sink>
    static void sink_thunk(void* ctx, const InstrumentSpec& s) { (*static_cast<Sink*>(ctx))(s); }
    bool decode_instrument_list_impl(const std::uint8_t* data, std::size_t len,
                                     void (*fn)(void*, const InstrumentSpec&), void* ctx);
    void reset_arena();

    std::unique_ptr<std::uint8_t[]> arena_;
    std::size_t arena_size_;
    std::size_t arena_used_ = 0;
    std::size_t high_water_ = 0;
    std::uint64_t command_fallbacks_ = 0;
    void* allocator_;  // ProtobufCAllocator (kept opaque to keep protobuf-c out of this header)
    friend struct Arena;
};

}  // namespace oms::engine
