// protobuf-c helpers: encode into a reusable buffer, decode into an arena so
// the steady-state hot path performs no malloc.
#pragma once

#include <protobuf-c/protobuf-c.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace oms::proto {

// Bump allocator exposed as a ProtobufCAllocator. free() is a no-op; memory
// comes back all at once with reset(). After warm-up the arena keeps its
// largest block, so decode → handle → reset cycles stop calling malloc.
// Not thread-safe: use one per thread (see thread_arena()).
class Arena {
 public:
  explicit Arena(size_t initial_bytes = 64 * 1024);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* allocate(size_t n);
  // Drop everything allocated so far. Messages decoded from this arena are
  // invalid afterwards.
  void reset() noexcept;

  ProtobufCAllocator* allocator() noexcept { return &alloc_; }
  size_t bytes_used() const noexcept;
  size_t capacity() const noexcept;
  size_t block_count() const noexcept { return blocks_.size(); }

 private:
  struct Block {
    std::unique_ptr<std::byte[]> mem;
    size_t size = 0;
  };
  static void* c_alloc(void* self, size_t n);
  static void c_free(void*, void*) {}
  void add_block(size_t min_bytes);

  std::vector<Block> blocks_;
  size_t current_ = 0;   // index of the block being filled
  size_t offset_ = 0;    // fill level of blocks_[current_]
  size_t used_before_current_ = 0;
  ProtobufCAllocator alloc_;
};

// The calling thread's decode arena (created on first use).
Arena& thread_arena();

// Serialises messages into one growing buffer; the returned span is valid
// until the next encode().
class Encoder {
 public:
  explicit Encoder(size_t reserve = 1024) { buf_.resize(reserve); }
  std::span<const uint8_t> encode(const ProtobufCMessage* msg);

 private:
  std::vector<uint8_t> buf_;
};

// Unpacks into `arena`; nullptr on malformed input. The message lives until
// arena.reset().
ProtobufCMessage* decode(const ProtobufCMessageDescriptor* desc, std::span<const uint8_t> bytes,
                         Arena& arena);

template <class T>
T* decode_as(const ProtobufCMessageDescriptor* desc, std::span<const uint8_t> bytes, Arena& arena) {
  return reinterpret_cast<T*>(decode(desc, bytes, arena));
}

// Every message descriptor in the generated code, looked up by full proto
// name ("oms.v1.Heartbeat"); nullptr if unknown.
const ProtobufCMessageDescriptor* find_descriptor(std::string_view full_name);
std::span<const ProtobufCMessageDescriptor* const> all_descriptors();

// "oms.v1.Heartbeat" for a message: the Oms-Type header value.
inline const char* type_name(const ProtobufCMessage* m) { return m->descriptor->name; }

}  // namespace oms::proto
