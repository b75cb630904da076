#pragma once
// Registry of tradable instruments and their venue rules.
// Why: every order check needs tick/lot/min sizes and scales; a fixed table
// indexed by a small integer lets the rest of the engine refer to an
// instrument by uint32 (cheap keys for positions and limits).
#include <cstdint>
#include <cstring>
#include <string_view>
#include "oms/engine/fixed_point.hpp"
#include "oms/engine/fixed_string.hpp"
#include "oms/engine/flat_map.hpp"

namespace oms::engine {

inline constexpr std::uint32_t kMaxInstruments = 4096;

// Numbers equal proto oms.v1.InstrumentStatus.
enum class InstrumentStatus : std::uint8_t { Unspecified = 0, Trading = 1, Halted = 2, ReduceOnly = 3, Delisted = 4 };

struct InstrumentId {
    Str16 exchange;
    Str16 market;
    Str32 symbol;
};

struct InstrumentSpec {
    InstrumentId id;
    Str16 base_asset;
    Str16 quote_asset;
    std::int32_t price_scale = 0;
    std::int32_t qty_scale = 0;
    std::int64_t tick_size = 0;     // price units; 0: no tick rule
    std::int64_t lot_size = 0;      // qty units; 0: no lot rule
    std::int64_t min_qty = 0;       // qty units
    std::int64_t max_qty = 0;       // qty units; 0: no venue max
    std::int64_t min_notional = 0;  // kQuoteScale
    InstrumentStatus status = InstrumentStatus::Trading;
};

// Key "exchange|market|symbol" as one fixed string: one hash, one compare.
inline Str64 instrument_key(std::string_view exchange, std::string_view market, std::string_view symbol) {
    // Same bytes as appending char by char up to 63, with memcpy (this runs
    // for every order: the per-char loop was ~200 instructions).
    Str64 k;
    std::size_t n = 0;
    auto put = [&](const char* p, std::size_t len) {
        std::size_t room = Str64::capacity() - n;
        if (len > room) len = room;
        if (len) std::memcpy(k.data + n, p, len);
        n += len;
    };
    put(exchange.data(), exchange.size()); put("|", 1); put(market.data(), market.size()); put("|", 1);
    put(symbol.data(), symbol.size());
    k.data[n] = '\0';
    k.len = static_cast<std::uint8_t>(n);
    return k;
}

class InstrumentRegistry {
public:
    // Insert or update. Returns the stable index, or kNotFound when full or
    // the scales are invalid.
    static constexpr std::uint32_t kNotFound = 0xFFFFFFFFu;

    std::uint32_t upsert(const InstrumentSpec& s) {
        if (s.price_scale < 0 || s.price_scale > 18 || s.qty_scale < 0 || s.qty_scale > 18)
            return kNotFound;
        Str64 key = instrument_key(s.id.exchange.view(), s.id.market.view(), s.id.symbol.view());
        if (std::uint32_t* idx = by_key_.find(key)) { specs_[*idx] = s; return *idx; }
        if (count_ >= kMaxInstruments) return kNotFound;
        std::uint32_t idx = count_;
        if (!by_key_.insert(key, idx)) return kNotFound;
        specs_[idx] = s;
        ++count_;
        // Routed orders name exchange "auto": alias the first venue listing
        // the (market, symbol) so their rules/positions resolve somewhere.
        Str64 auto_key = instrument_key("auto", s.id.market.view(), s.id.symbol.view());
        by_key_.insert(auto_key, idx);
        return idx;
    }

    std::uint32_t find(std::string_view exchange, std::string_view market, std::string_view symbol) const {
        const std::uint32_t* idx = by_key_.find(instrument_key(exchange, market, symbol));
        return idx ? *idx : kNotFound;
    }
    std::uint32_t find(const InstrumentId& id) const {
        return find(id.exchange.view(), id.market.view(), id.symbol.view());
    }

    const InstrumentSpec& operator[](std::uint32_t i) const { return specs_[i]; }
    InstrumentSpec& operator[](std::uint32_t i) { return specs_[i]; }
    std::uint32_t size() const { return count_; }

private:
    std::uint32_t count_ = 0;
    FlatMap<Str64, std::uint32_t, kMaxInstruments * 4, FixedStringHash<64>> by_key_;
    InstrumentSpec specs_[kMaxInstruments];
};

}  // namespace oms::engine
