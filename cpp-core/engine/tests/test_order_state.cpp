#include <gtest/gtest.h>
#include <set>
#include <utility>
#include "oms/engine/order_state.hpp"

using namespace oms::engine;
using S = OrderStatus;

namespace {
// Written independently of the table in order_state.hpp.
const std::set<std::pair<S, S>> kExpectedLegal = {
    {S::Unspecified, S::PendingNew}, {S::Unspecified, S::Rejected},
    {S::PendingNew, S::Accepted}, {S::PendingNew, S::PartiallyFilled}, {S::PendingNew, S::Filled},
    {S::PendingNew, S::Canceled}, {S::PendingNew, S::Rejected}, {S::PendingNew, S::Expired},
    {S::PendingNew, S::PendingCancel},
    {S::Accepted, S::PartiallyFilled}, {S::Accepted, S::Filled}, {S::Accepted, S::Canceled},
    {S::Accepted, S::Expired}, {S::Accepted, S::PendingCancel}, {S::Accepted, S::PendingReplace},
    {S::PartiallyFilled, S::PartiallyFilled}, {S::PartiallyFilled, S::Filled}, {S::PartiallyFilled, S::Canceled},
    {S::PartiallyFilled, S::Expired}, {S::PartiallyFilled, S::PendingCancel}, {S::PartiallyFilled, S::PendingReplace},
    {S::PendingCancel, S::Accepted}, {S::PendingCancel, S::PartiallyFilled}, {S::PendingCancel, S::Filled},
    {S::PendingCancel, S::Canceled}, {S::PendingCancel, S::Expired},
    {S::PendingReplace, S::Accepted}, {S::PendingReplace, S::PartiallyFilled}, {S::PendingReplace, S::Filled},
    {S::PendingReplace, S::Canceled}, {S::PendingReplace, S::Expired}, {S::PendingReplace, S::PendingCancel},
};
}  // namespace

class Transitions : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(Transitions, MatchesSpec) {
    auto [f, t] = GetParam();
    S from = static_cast<S>(f), to = static_cast<S>(t);
    bool legal = kExpectedLegal.count({from, to}) > 0;
    EXPECT_EQ(is_legal_transition(from, to), legal) << to_string(from) << " -> " << to_string(to);
    S s = from;
    TransitionError e = transition(s, to);
    if (legal) {
        EXPECT_EQ(e, TransitionError::Ok);
        EXPECT_EQ(s, to);
    } else {
        EXPECT_NE(e, TransitionError::Ok);
        EXPECT_EQ(s, from);  // unchanged on error
        if (is_terminal(from)) EXPECT_EQ(e, TransitionError::FromTerminal);
    }
}

static std::vector<std::pair<int, int>> all_pairs() {
    std::vector<std::pair<int, int>> v;
    for (int f = 0; f < kOrderStatusCount; ++f)
        for (int t = 0; t < kOrderStatusCount; ++t) v.emplace_back(f, t);
    return v;
}

INSTANTIATE_TEST_SUITE_P(AllPairs, Transitions, ::testing::ValuesIn(all_pairs()),
                         [](const auto& info) {
                             return std::string(to_string(static_cast<S>(info.param.first))) + "_to_" +
                                    to_string(static_cast<S>(info.param.second));
                         });

TEST(OrderState, OutOfRangeStatusIsAnErrorNotACrash) {
    S s = S::Accepted;
    EXPECT_EQ(transition(s, static_cast<S>(42)), TransitionError::BadStatus);
    EXPECT_EQ(s, S::Accepted);
    S bad = static_cast<S>(200);
    EXPECT_EQ(transition(bad, S::Accepted), TransitionError::BadStatus);
    EXPECT_FALSE(is_legal_transition(static_cast<S>(200), S::Accepted));
}

TEST(OrderState, TerminalAndLive) {
    for (S s : {S::Filled, S::Canceled, S::Rejected, S::Expired}) { EXPECT_TRUE(is_terminal(s)); EXPECT_FALSE(is_live(s)); }
    for (S s : {S::PendingNew, S::Accepted, S::PartiallyFilled, S::PendingCancel, S::PendingReplace}) {
        EXPECT_FALSE(is_terminal(s)); EXPECT_TRUE(is_live(s));
    }
}
