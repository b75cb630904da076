// Generates proto/testdata/pnl_vectors.json from oms-core's own position arithmetic.
#include "oms/engine/position.hpp"
#include <cstdio>
#include <vector>
#include <string>
using namespace oms::engine;
struct F { long long qty, px, fee; };
struct Case { std::string name; int ps, qs; std::vector<F> fills; long long mark; };
int main() {
  std::vector<Case> cases = {
    {"open_long_and_mark", 2, 5, {{100000, 6000000, 0}}, 6100000},
    {"scale_in_average_not_representable", 2, 5, {{100000, 6000000, 6000000}, {200000, 6000001, 0}, {-100000, 6000500, 0}}, 6000000},
    {"flip_long_to_short", 2, 5, {{100000, 6000000, 0}, {-150000, 6100000, 9150000}}, 6050000},
    {"flip_short_to_long", 1, 3, {{-2500, 650000, 0}, {4000, 640000, 0}}, 645000},
    {"partial_closes_with_fees", 4, 8, {{123456789, 31234567, 1000}, {-23456789, 31300000, 1000}, {-50000000, 31100000, 1000}}, 31200000},
    {"close_flat_drops_dust", 2, 3, {{1000, 10001, 0}, {2000, 10002, 0}, {-3000, 10010, 0}}, 10010},
    {"short_then_cover_loss", 0, 8, {{-100000000, 90000000, 0}, {100000000, 91000000, 0}}, 91000000},
  };
  printf("[\n");
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i]; Position p;
    printf("  {\"name\": \"%s\", \"price_scale\": %d, \"qty_scale\": %d, \"fills\": [", c.name.c_str(), c.ps, c.qs);
    for (size_t j = 0; j < c.fills.size(); ++j) {
      auto& f = c.fills[j];
      apply_fill(p, f.qty, f.px, c.ps, c.qs, f.fee);
      printf("%s{\"qty\": %lld, \"px\": %lld, \"fee\": %lld}", j ? ", " : "", f.qty, f.px, f.fee);
    }
    printf("],\n   \"expect\": {\"qty\": %lld, \"cost\": %lld, \"realised\": %lld, \"fees\": %lld, \"volume\": %lld, \"avg_price\": %lld, \"mark\": %lld, \"unrealised\": %lld}}%s\n",
      (long long)p.qty, (long long)p.cost, (long long)p.realised, (long long)p.fees, (long long)p.volume,
      (long long)average_price(p, c.ps, c.qs), c.mark, (long long)unrealised(p, c.mark, c.ps, c.qs), i + 1 < cases.size() ? "," : "");
  }
  printf("]\n");
}
