#pragma once
// Registry of tradable instruments and their venue rules.
// Why: every order check needs tick/lot/min sizes and scales; a fixed table
// indexed by a small integer lets the rest of the engine refer to an
// instrument by uint32 (cheap keys for positions and limits).
#include <cstdint>
#include <type_traits>
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
    std::uint8_t align_[3]{};  // explicit padding, zeroed (see reserved_)
    std::int32_t price_scale = 0;
    std::int32_t qty_scale = 0;
    std::int64_t tick_size = 0;     // price units; 0: no tick rule
    std::int64_t lot_size = 0;      // qty units; 0: no lot rule
    std::int64_t min_qty = 0;       // qty units
    std::int64_t max_qty = 0;       // qty units; 0: no venue max
    std::int64_t min_notional = 0;  // kQuoteScale
    InstrumentStatus status = InstrumentStatus::Trading;
    // Explicit padding, zeroed: the engine's snapshot is a byte copy of its state, and
    // implicit padding would carry whatever stack bytes a copied-from temporary held.
    std::uint8_t reserved_[7]{};
};
static_assert(std::has_unique_object_representations_v<InstrumentSpec>, "InstrumentSpec must have no implicit padding");

class InstrumentRegistry {
public:
    // Insert or update. Returns the stable index, or kNotFound when full or
    // the scales are invalid.
    static constexpr std::uint32_t kNotFound = 0xFFFFFFFFu;

    std::uint32_t upsert(const InstrumentSpec& s) {
        if (s.price_scale < 0 || s.price_scale > 18 || s.qty_scale < 0 || s.qty_scale > 18)
            return kNotFound;
        const std::string_view ex = s.id.exchange.view(), mkt = s.id.market.view(), sym = s.id.symbol.view();
        const std::uint64_t fp = fingerprint(ex, mkt, sym);
        if (std::uint32_t* idx = by_fp_.find(fp)) {
            if (!matches(*idx, ex, mkt, sym)) return kNotFound;  // 2^-64 fingerprint collision: refuse
            specs_[*idx] = s;
            return *idx;
        }
        if (count_ >= kMaxInstruments) return kNotFound;
        std::uint32_t idx = count_;
        if (!by_fp_.insert(fp, idx)) return kNotFound;
        specs_[idx] = s;
        ++count_;
        // Routed orders name exchange "auto": alias the first venue listing
        // the (market, symbol) so their rules/positions resolve somewhere.
        by_fp_.insert(fingerprint("auto", mkt, sym), idx);
        return idx;
    }

    // One hash over the three fields (no key string built) and a verified
    // hit: the fingerprint only picks the candidate, the stored id decides.
    std::uint32_t find(std::string_view exchange, std::string_view market, std::string_view symbol) const {
        const std::uint32_t* idx = by_fp_.find(fingerprint(exchange, market, symbol));
        return idx && matches(*idx, exchange, market, symbol) ? *idx : kNotFound;
    }
    std::uint32_t find(const InstrumentId& id) const {  // same fingerprint, no string_view round trip
        // Consecutive messages mostly name the same instrument: three short
        // compares instead of three hashes and a probe.
        if (last_ < count_) {
            const InstrumentId& s = specs_[last_].id;
            if (s.symbol == id.symbol && s.market == id.market && s.exchange == id.exchange) return last_;
        }
        const std::uint32_t* idx =
            by_fp_.find(hash_fs(id.symbol, hash_fs(id.market, hash_fs(id.exchange, kSeed))));
        if (!idx) return kNotFound;
        const InstrumentId& s = specs_[*idx].id;
        if (!(s.symbol == id.symbol && s.market == id.market)) return kNotFound;
        if (s.exchange == id.exchange) return last_ = *idx;
        return id.exchange.view() == "auto" ? *idx : kNotFound;
    }

    const InstrumentSpec& operator[](std::uint32_t i) const { return specs_[i]; }
    InstrumentSpec& operator[](std::uint32_t i) { return specs_[i]; }
    std::uint32_t size() const { return count_; }

private:
    static constexpr std::uint64_t kSeed = 0x1A570B0EF00D5EEDull;
    static std::uint64_t fingerprint(std::string_view ex, std::string_view mkt, std::string_view sym) {
        return hash_bytes(sym.data(), sym.size(),
                          hash_bytes(mkt.data(), mkt.size(), hash_bytes(ex.data(), ex.size(), kSeed)));
    }
    bool matches(std::uint32_t idx, std::string_view ex, std::string_view mkt, std::string_view sym) const {
        const InstrumentId& id = specs_[idx].id;
        return id.symbol == sym && id.market == mkt && (id.exchange == ex || ex == "auto");
    }

    std::uint32_t count_ = 0;
    // find()'s last exact hit (a lookup cache: engine thread only, and any
    // value below count_ is valid, so it may be snapshotted as it is).
    mutable std::uint32_t last_ = kNotFound;
    FlatMap<std::uint64_t, std::uint32_t, kMaxInstruments * 4, IdentityHash> by_fp_;  // fingerprint -> index
    InstrumentSpec specs_[kMaxInstruments];
};

}  // namespace oms::engine
