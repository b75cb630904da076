#include "oms/proto/codec.hpp"

#include <algorithm>

extern "C" {
extern const ProtobufCMessageDescriptor* const oms_message_descriptors[];
extern const size_t oms_message_descriptor_count;
}

namespace oms::proto {

namespace {
constexpr size_t kAlign = alignof(std::max_align_t);
constexpr size_t align_up(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }
}  // namespace

Arena::Arena(size_t initial_bytes) {
  alloc_.alloc = &Arena::c_alloc;
  alloc_.free = &Arena::c_free;
  alloc_.allocator_data = this;
  add_block(initial_bytes);
}

void Arena::add_block(size_t min_bytes) {
  // Geometric growth so a burst of large messages settles in a few blocks.
  const size_t last = blocks_.empty() ? 0 : blocks_.back().size;
  const size_t size = align_up(std::max({min_bytes, last * 2, size_t{4096}}));
  blocks_.push_back(Block{std::unique_ptr<std::byte[]>(new std::byte[size]), size});
}

void* Arena::allocate(size_t n) {
  n = align_up(n == 0 ? 1 : n);
  while (offset_ + n > blocks_[current_].size) {
    used_before_current_ += offset_;
    offset_ = 0;
    if (current_ + 1 == blocks_.size()) add_block(n);
    ++current_;
  }
  void* p = blocks_[current_].mem.get() + offset_;
  offset_ += n;
  return p;
}

void Arena::reset() noexcept {
  // After a cycle that needed several blocks, coalesce into one block of the
  // total size: the next cycle of the same shape then fits in a single block
  // and allocate() stops reaching add_block() (no malloc in steady state).
  if (blocks_.size() > 1) {
    const size_t total = capacity();
    blocks_.clear();
    blocks_.push_back(Block{std::unique_ptr<std::byte[]>(new std::byte[total]), total});
  }
  current_ = 0;
  offset_ = 0;
  used_before_current_ = 0;
}

size_t Arena::bytes_used() const noexcept { return used_before_current_ + offset_; }

size_t Arena::capacity() const noexcept {
  size_t c = 0;
  for (const auto& b : blocks_) c += b.size;
  return c;
}

void* Arena::c_alloc(void* self, size_t n) { return static_cast<Arena*>(self)->allocate(n); }

Arena& thread_arena() {
  thread_local Arena arena;
  return arena;
}

std::span<const uint8_t> Encoder::encode(const ProtobufCMessage* msg) {
  const size_t n = protobuf_c_message_get_packed_size(msg);
  if (buf_.size() < n) buf_.resize(std::max(n, buf_.size() * 2));
  const size_t written = protobuf_c_message_pack(msg, buf_.data());
  return {buf_.data(), written};
}

ProtobufCMessage* decode(const ProtobufCMessageDescriptor* desc, std::span<const uint8_t> bytes,
                         Arena& arena) {
  return protobuf_c_message_unpack(desc, arena.allocator(), bytes.size(), bytes.data());
}

std::span<const ProtobufCMessageDescriptor* const> all_descriptors() {
  return {oms_message_descriptors, oms_message_descriptor_count};
}

const ProtobufCMessageDescriptor* find_descriptor(std::string_view full_name) {
  for (const auto* d : all_descriptors()) {
    if (full_name == d->name) return d;
  }
  return nullptr;
}

}  // namespace oms::proto
