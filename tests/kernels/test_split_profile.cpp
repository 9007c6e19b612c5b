// SplitProfile's arithmetic on made-up timelines: what each line of the profile reports.
#include "split_profile.hpp"

#include <gtest/gtest.h>

namespace accelab::cpu {
namespace {

using Clock = SplitProfile::Clock;
Clock::time_point at_us(double us) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::micro>(us)));
}

TEST(SplitProfile, NothingRecordedSaysNothing) {
  EXPECT_EQ(SplitProfile(2).summary(), "");
}

TEST(SplitProfile, AveragesEachPartOfTheProductsTime) {
  SplitProfile p(2);
  // Product 1: input ready after 2 us; thread 0 runs two ranges from 3 to 43 us (1 MB), thread 1
  // one range from 7 to 47 us (1 MB); the join returns at 48 us.
  p.begin(at_us(0));
  p.forked(at_us(2));
  p.grain(0, at_us(3), at_us(20), 5e5);
  p.grain(1, at_us(7), at_us(47), 1e6);
  p.grain(0, at_us(20), at_us(43), 5e5);
  p.end(at_us(48));
  // Product 2: thread 0 alone, 4 MB from 102 to 202 us, joined at 204.
  p.begin(at_us(100));
  p.forked(at_us(101));
  p.grain(0, at_us(102), at_us(202), 4e6);
  p.end(at_us(204));
  const std::string s = p.summary();
  // 6 MB in 48 + 104 us of wall time.
  EXPECT_NE(s.find("decode products: 2 on 2 threads, 3.00 MB of weights and 76.0 us each (39.5 "
                   "GB/s over the wall time)"),
            std::string::npos)
      << s;
  // Before the fork (2 + 1) / 2; apart (4 + 0) / 2; joined (1 + 2) / 2.
  EXPECT_NE(s.find("input prepared in 1.5 us before the fork; the threads finish 2.0 us apart "
                   "(median 2.0 us; 100% of it in the 1% of products furthest apart) and are "
                   "joined 1.5 us after the last"),
            std::string::npos)
      << s;
  // Thread 0: starts (1 + 1) / 2, busy (40 + 100) / 2, 5 MB in 140 us.
  EXPECT_NE(s.find("thread 0: starts 1.0 us after the fork, busy 70.0 us at 35.7 GB/s (in 100.0% "
                   "of the products)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("thread 1: starts 5.0 us after the fork, busy 40.0 us at 25.0 GB/s (in 50.0% of "
                   "the products)"),
            std::string::npos)
      << s;
}

TEST(SplitProfile, GivesTheMedianSpreadBesideAMeanThatOneStallDominates) {
  SplitProfile p(2);
  // 200 products whose threads finish 1 us apart, then two where one thread stalled 899 us.
  for (int i = 0; i < 202; ++i) {
    const double t = 1000.0 * i, spread = i < 200 ? 1 : 899;
    p.begin(at_us(t));
    p.forked(at_us(t));
    p.grain(0, at_us(t), at_us(t + 10), 1e4);
    p.grain(1, at_us(t), at_us(t + 10 + spread), 1e4);
    p.end(at_us(t + 10 + spread));
  }
  // Mean (200 + 2 * 899) / 202; the 2 largest (1% of 202) hold 1798 of the 1998 us.
  EXPECT_NE(p.summary().find("the threads finish 9.9 us apart (median 1.0 us; 90% of it in the 1% "
                             "of products furthest apart)"),
            std::string::npos)
      << p.summary();
}

TEST(SplitProfile, AThreadThatNeverRanSaysSo) {
  SplitProfile p(3);
  p.begin(at_us(0));
  p.forked(at_us(1));
  p.grain(0, at_us(1), at_us(11), 1e5);
  p.end(at_us(12));
  EXPECT_NE(p.summary().find("thread 2: ran no part of any product"), std::string::npos)
      << p.summary();
}

}  // namespace
}  // namespace accelab::cpu
