// Tests for upline/matrix.hpp: upline::Matrix against a brute-force model of SPEC §5 written here
// (explicit child lists, breadth-first search for the first free position).
#include "upline/matrix.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

using upline::Fill;
using upline::Matrix;

namespace {

struct Lcg {
  std::uint64_t s;
  std::uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 33;
  }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

// The model: a width-ary tree with explicit child slots.
class Model {
 public:
  explicit Model(std::uint32_t w) : w_(w) {}

  std::size_t size() const { return parent_.size(); }
  int parent(std::size_t n) const { return parent_[n]; }
  std::uint32_t position(std::size_t n) const { return pos_[n]; }
  int child(std::size_t n, std::uint32_t p) const { return children_[n][p]; }

  // SPEC §5: visit the subtree rooted at `root` by depth, within a depth in the order of the
  // parents, children by position; the first visited node with a free position p (lowest p)
  // gets the new node as child p. An empty tree gets a root.
  std::size_t place(int root) {
    const std::size_t n = size();
    if (n == 0) {
      add(-1, 0);
      return n;
    }
    std::deque<int> queue{root < 0 ? 0 : root};
    while (!queue.empty()) {
      const int x = queue.front();
      queue.pop_front();
      for (std::uint32_t p = 0; p < w_; ++p) {
        if (children_[x][p] < 0) {
          add(x, p);
          children_[x][p] = static_cast<int>(n);
          return n;
        }
      }
      for (std::uint32_t p = 0; p < w_; ++p) queue.push_back(children_[x][p]);
    }
    FAIL("model: no free position found");
    return n;
  }

  // Number of nodes at each depth 1.. below n (index 0 unused).
  std::vector<std::uint64_t> level_counts(std::size_t n) const {
    std::vector<std::uint64_t> counts{0};
    std::vector<int> level{static_cast<int>(n)};
    while (true) {
      std::vector<int> next;
      for (int x : level)
        for (std::uint32_t p = 0; p < w_; ++p)
          if (children_[x][p] >= 0) next.push_back(children_[x][p]);
      if (next.empty()) break;
      counts.push_back(next.size());
      level = std::move(next);
    }
    return counts;
  }

 private:
  void add(int parent, std::uint32_t pos) {
    parent_.push_back(parent);
    pos_.push_back(pos);
    children_.emplace_back(w_, -1);
  }
  std::uint32_t w_;
  std::vector<int> parent_;
  std::vector<std::uint32_t> pos_;
  std::vector<std::vector<int>> children_;
};

int parent_or_minus1(const Matrix& m, Matrix::Node n) {
  const Matrix::Node p = m.parent(n);
  return p == Matrix::none ? -1 : static_cast<int>(p);
}

// Compares levels_filled (k = 0 .. depth + 2) and below() of every node with the model.
void compare_shape(const Matrix& m, const Model& model, std::uint32_t w) {
  REQUIRE(m.size() == model.size());
  for (std::size_t n = 0; n < model.size(); ++n) {
    const auto node = static_cast<Matrix::Node>(n);
    CAPTURE(n);
    const auto counts = model.level_counts(n);  // computed once per node
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    REQUIRE(m.below(node) == total);
    const auto depth = static_cast<std::uint32_t>(counts.size());
    bool filled = true;  // levels 1..k all full
    std::uint64_t full = 1;
    for (std::uint32_t k = 0; k <= depth + 2; ++k) {
      if (k > 0) {
        full *= w;
        if (k >= counts.size() || counts[k] != full) filled = false;
      }
      CAPTURE(k);
      REQUIRE(m.levels_filled(node, k) == filled);
    }
  }
}

}  // namespace

TEST_CASE("matrix: empty matrix and root") {
  for (Fill f : {Fill::breadth_first, Fill::under_sponsor}) {
    Matrix m(3, f, true);
    CHECK(m.empty());
    CHECK(m.size() == 0);
    CHECK(m.width() == 3);
    CHECK(m.fill() == f);
    CHECK(m.place(0) == 0);
    CHECK_FALSE(m.empty());
    CHECK(m.parent(0) == Matrix::none);
    CHECK(m.position(0) == 0);
    CHECK(m.below(0) == 0);
    CHECK(m.levels_filled(0, 0));
    CHECK_FALSE(m.levels_filled(0, 1));
  }
  // Entering an empty under_sponsor matrix ignores the subtree argument.
  Matrix m(2, Fill::under_sponsor, true);
  CHECK(m.place(0, 5) == 0);
  CHECK(m.parent(0) == Matrix::none);
}

TEST_CASE("matrix: breadth_first parent = (n-1)/w, position = (n-1) mod w, against the model") {
  for (std::uint32_t w : {2u, 3u, 4u, 5u, 7u, 64u}) {
    CAPTURE(w);
    Matrix m(w, Fill::breadth_first, true);
    Model model(w);
    const std::uint32_t count = w == 64 ? 4300 : 700;
    for (std::uint32_t n = 0; n < count; ++n) {
      // breadth_first ignores the subtree argument.
      CHECK(m.place(n, n % 3 == 0 ? Matrix::none : n / 2) == n);
      REQUIRE(model.place(-1) == n);
      CAPTURE(n);
      if (n == 0) {
        CHECK(m.parent(0) == Matrix::none);
        CHECK(m.position(0) == 0);
      } else {
        CHECK(m.parent(n) == (n - 1) / w);
        CHECK(m.position(n) == (n - 1) % w);
        CHECK(parent_or_minus1(m, n) == model.parent(n));
        CHECK(m.position(n) == model.position(n));
      }
    }
    compare_shape(m, model, w);
  }
}

TEST_CASE("matrix: breadth_first levels_filled and below at every size (small widths)") {
  for (std::uint32_t w : {2u, 3u, 4u}) {
    CAPTURE(w);
    Matrix m(w, Fill::breadth_first, true);
    Model model(w);
    for (std::uint32_t n = 0; n < 130; ++n) {
      m.place(n);
      model.place(-1);
      compare_shape(m, model, w);
    }
  }
}

TEST_CASE("matrix: breadth_first with sparse member ids (not dense)") {
  Matrix m(3, Fill::breadth_first, false);
  const std::uint32_t members[] = {40, 7, 19, 3, 100, 55};
  for (std::uint32_t i = 0; i < 6; ++i) CHECK(m.place(members[i]) == i);
  for (std::uint32_t i = 0; i < 6; ++i) {
    CHECK(m.member_at(i) == members[i]);
    CHECK(m.node_of(members[i]) == i);
  }
  CHECK(m.node_of(8) == Matrix::none);
  CHECK(m.parent(m.node_of(55)) == m.node_of(7));  // node 5 -> parent 1
  CHECK(m.position(m.node_of(55)) == 1);
}

TEST_CASE("matrix: dense node_of") {
  Matrix m(2, Fill::breadth_first, true);
  for (std::uint32_t i = 0; i < 4; ++i) m.place(i);
  CHECK(m.node_of(3) == 3);
  CHECK(m.node_of(4) == Matrix::none);
  CHECK(m.member_at(2) == 2);
}

TEST_CASE("matrix: breadth_first SPEC §11 width-3 example") {
  // Members 1..14 join in order; member k is node k-1.
  Matrix m(3, Fill::breadth_first, true);
  for (std::uint32_t k = 1; k <= 14; ++k) m.place(k - 1);
  auto member_parent = [&](std::uint32_t k) { return m.member_at(m.parent(k - 1)) + 1; };
  CHECK(member_parent(13) == 4);
  CHECK(m.position(12) == 2);
  CHECK(member_parent(4) == 1);
  CHECK(m.position(3) == 2);
  CHECK(member_parent(14) == 5);
  CHECK(m.position(13) == 0);
  CHECK(member_parent(5) == 2);
  CHECK(member_parent(2) == 1);
  CHECK(m.parent(0) == Matrix::none);
  // Below the root: level 1 is nodes 1..3, level 2 nodes 4..12 (full), level 3 only node 13.
  CHECK(m.levels_filled(0, 1));
  CHECK(m.levels_filled(0, 2));  // nodes 1..12 exist
  CHECK_FALSE(m.levels_filled(0, 3));
  CHECK(m.below(0) == 13);
  CHECK(m.below(1) == 4);   // nodes 4, 5, 6 and 13 (under 4)
  CHECK(m.below(3) == 3);   // nodes 10, 11, 12
  CHECK(m.below(4) == 1);   // node 13
  CHECK(m.levels_filled(3, 1));
  CHECK_FALSE(m.levels_filled(4, 1));
}

TEST_CASE("matrix: under_sponsor SPEC §11 width-2 example") {
  // All members join in order, so member k is node k-1; the subtree root is the sponsor's node.
  Matrix m(2, Fill::under_sponsor, true);
  CHECK(m.place(0) == 0);  // member 1
  struct Step {
    std::uint32_t member, sponsor, parent, position;
  };
  const Step steps[] = {{2, 1, 1, 0}, {3, 1, 1, 1}, {4, 1, 2, 0},  {5, 3, 3, 0},   {6, 3, 3, 1},  {7, 3, 5, 0},
                        {8, 1, 2, 1}, {9, 1, 4, 0}, {10, 6, 6, 0}, {11, 1, 4, 1}, {12, 1, 8, 0}};
  for (const Step& s : steps) {
    CAPTURE(s.member);
    const Matrix::Node n = m.place(s.member - 1, s.sponsor - 1);
    CHECK(n == s.member - 1);
    REQUIRE(m.parent(n) != Matrix::none);
    CHECK(m.member_at(m.parent(n)) + 1 == s.parent);
    CHECK(m.position(n) == s.position);
  }
  // Shape after the example: 1 has 2, 3; 2 has 4, 8; 3 has 5, 6; 4 has 9, 11; 5 has 7; 6 has 10; 8 has 12.
  CHECK(m.below(0) == 11);
  CHECK(m.below(1) == 5);  // 4, 8, 9, 11, 12
  CHECK(m.below(2) == 4);  // 5, 6, 7, 10
  CHECK(m.levels_filled(0, 2));
  CHECK_FALSE(m.levels_filled(0, 3));
  CHECK(m.levels_filled(1, 1));
  CHECK_FALSE(m.levels_filled(1, 2));
  CHECK(m.levels_filled(3, 1));  // member 4: 9 and 11
  CHECK_FALSE(m.levels_filled(4, 1));  // member 5: only 7
}

TEST_CASE("matrix: under_sponsor with sparse member ids") {
  Matrix m(2, Fill::under_sponsor, false);
  m.place(500);                       // node 0
  m.place(600, m.node_of(500));       // node 1
  m.place(700, m.node_of(500));       // node 2
  m.place(800, m.node_of(700));       // node 3, under 700
  CHECK(m.node_of(800) == 3);
  CHECK(m.member_at(m.parent(3)) == 700);
  CHECK(m.position(3) == 0);
  CHECK(m.node_of(900) == Matrix::none);
  m.place(900);                       // whole matrix: first free is under 600
  CHECK(m.member_at(m.parent(m.node_of(900))) == 600);
}

TEST_CASE("matrix: under_sponsor against a brute-force breadth-first search (randomized)") {
  Lcg rng{0x5eed1234abcdULL};
  for (std::uint32_t w = 2; w <= 4; ++w) {
    for (int round = 0; round < 2; ++round) {
      CAPTURE(w);
      CAPTURE(round);
      Matrix m(w, Fill::under_sponsor, true);
      Model model(w);
      const std::uint32_t count = 2000;
      for (std::uint32_t n = 0; n < count; ++n) {
        // Subtree root: none (whole matrix) sometimes; otherwise a random node, biased in the
        // second round towards recent (deep) nodes to grow long thin branches.
        Matrix::Node root = Matrix::none;
        int model_root = -1;
        if (n > 0 && rng.below(8) != 0) {
          std::uint32_t r = rng.below(n);
          if (round == 1 && rng.below(2) == 0) r = n - 1 - rng.below(std::min<std::uint32_t>(n, 10));
          root = r;
          model_root = static_cast<int>(r);
        }
        CAPTURE(n);
        CAPTURE(model_root);
        const Matrix::Node got = m.place(n, root);
        const std::size_t want = model.place(model_root);
        REQUIRE(got == want);
        REQUIRE(parent_or_minus1(m, got) == model.parent(want));
        REQUIRE(m.position(got) == model.position(want));
        if ((n + 1) % 250 == 0) compare_shape(m, model, w);
      }
      compare_shape(m, model, w);
    }
  }
}

TEST_CASE("matrix: under_sponsor whole-matrix placement equals breadth_first") {
  for (std::uint32_t w : {2u, 3u, 5u}) {
    Matrix us(w, Fill::under_sponsor, true);
    Matrix bf(w, Fill::breadth_first, true);
    for (std::uint32_t n = 0; n < 400; ++n) {
      us.place(n);
      bf.place(n);
      CAPTURE(n);
      REQUIRE(us.parent(n) == bf.parent(n));
      REQUIRE(us.position(n) == bf.position(n));
    }
    for (Matrix::Node n = 0; n < 400; ++n) {
      CHECK(us.below(n) == bf.below(n));
      for (std::uint32_t k = 0; k < 10; ++k) CHECK(us.levels_filled(n, k) == bf.levels_filled(n, k));
    }
  }
}
