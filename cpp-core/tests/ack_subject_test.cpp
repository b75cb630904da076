// parse_ack_subject: the allocation-free reading of JetStream delivery
// metadata (the live path is covered by the engine pipeline tests, whose
// replay positions come from it).
#include "oms/core/ack_subject.hpp"

#include <gtest/gtest.h>

using oms::core::parse_ack_subject;

// Token layout of the JetStream ack subject (v1 and v2 with domain/account
// hash and optional trailing token), as nats.c parses it.
TEST(AckSubject, ParsesV1AndV2) {
  struct Case { const char* reply; std::uint64_t seq; std::int64_t ts; std::uint64_t pending; };
  const Case cases[] = {
      {"$JS.ACK.COMMANDS.oms-core-commands.1.4242.17.1764110305123456789.9", 4242, 1764110305123456789LL, 9},
      {"$JS.ACK.hub.ACCHASH.MARKETDATA.oms-core-tob.2.950001.950000.1764110305000000001.0", 950001,
       1764110305000000001LL, 0},
      {"$JS.ACK.hub.ACCHASH.ORDERS.oms-core-orders.1.7.7.1764110305000000002.12345.rnd", 7, 1764110305000000002LL,
       12345},
  };
  for (const auto& c : cases) {
    std::uint64_t seq = 0, pending = 0;
    std::int64_t ts = 0;
    ASSERT_TRUE(parse_ack_subject(c.reply, seq, ts, pending)) << c.reply;
    EXPECT_EQ(seq, c.seq) << c.reply;
    EXPECT_EQ(ts, c.ts) << c.reply;
    EXPECT_EQ(pending, c.pending) << c.reply;
  }
}

TEST(AckSubject, RejectsOtherSubjects) {
  std::uint64_t seq = 0, pending = 0;
  std::int64_t ts = 0;
  EXPECT_FALSE(parse_ack_subject(nullptr, seq, ts, pending));
  EXPECT_FALSE(parse_ack_subject("_INBOX.abc", seq, ts, pending));
  EXPECT_FALSE(parse_ack_subject("$JS.ACK.S.C.1.x.3.4.5", seq, ts, pending));
  EXPECT_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2", seq, ts, pending));
}
