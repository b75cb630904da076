#include "oms/proto/codec.hpp"
#include "oms/v1/heartbeat.pb-c.h"
#include "oms/v1/orders.pb-c.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

TEST(Codec, HeartbeatRoundTripThroughArena) {
  Oms__V1__HeartbeatDetail d = OMS__V1__HEARTBEAT_DETAIL__INIT;
  d.key = const_cast<char*>("nats");
  d.value = const_cast<char*>("connected");
  Oms__V1__HeartbeatDetail* details[] = {&d};
  Oms__V1__Heartbeat hb = OMS__V1__HEARTBEAT__INIT;
  hb.service = const_cast<char*>("oms-core");
  hb.sequence = 42;
  hb.n_details = 1;
  hb.details = details;
  hb.pid_present_case = OMS__V1__HEARTBEAT__PID_PRESENT_PID;
  hb.pid = 1234;

  oms::proto::Encoder enc(4);  // tiny on purpose: must grow
  const auto bytes = enc.encode(&hb.base);
  ASSERT_GT(bytes.size(), 4u);

  oms::proto::Arena arena(256);
  auto* out = oms::proto::decode_as<Oms__V1__Heartbeat>(&oms__v1__heartbeat__descriptor, bytes, arena);
  ASSERT_NE(out, nullptr);
  EXPECT_STREQ(out->service, "oms-core");
  EXPECT_EQ(out->sequence, 42u);
  ASSERT_EQ(out->n_details, 1u);
  EXPECT_STREQ(out->details[0]->value, "connected");
  EXPECT_EQ(out->pid_present_case, OMS__V1__HEARTBEAT__PID_PRESENT_PID);
  EXPECT_EQ(out->pid, 1234);
  EXPECT_STREQ(oms::proto::type_name(&out->base), "oms.v1.Heartbeat");
}

TEST(Codec, ArenaReachesSteadyStateWithOneBlock) {
  oms::proto::Arena arena(128);
  for (int i = 0; i < 50; ++i) arena.allocate(100);  // forces several blocks
  EXPECT_GT(arena.block_count(), 1u);
  const size_t cap = arena.capacity();
  arena.reset();
  EXPECT_EQ(arena.block_count(), 1u);
  EXPECT_EQ(arena.capacity(), cap);
  for (int cycle = 0; cycle < 3; ++cycle) {
    for (int i = 0; i < 50; ++i) arena.allocate(100);
    EXPECT_EQ(arena.block_count(), 1u) << "steady state must not add blocks";
    arena.reset();
  }
}

TEST(Codec, ArenaAlignment) {
  oms::proto::Arena arena(1024);
  for (size_t n : {1u, 3u, 7u, 24u, 33u}) {
    auto p = reinterpret_cast<uintptr_t>(arena.allocate(n));
    EXPECT_EQ(p % alignof(std::max_align_t), 0u);
  }
}

TEST(Codec, MalformedInputReturnsNull) {
  const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};  // field 1, absurd length
  EXPECT_EQ(oms::proto::decode(&oms__v1__heartbeat__descriptor, junk, oms::proto::thread_arena()), nullptr);
}

}  // namespace
