// upline/matrix.hpp — placement (SPEC §5): one tier's matrix, a width-ary tree of nodes each holding
// one member, and place(), which puts a member into it.
//
// Nodes are numbered 0, 1, 2, … in the order members enter; a node never moves, so a member's
// upline never changes. The first node is the root (no parent).
//
// breadth_first: the tree is complete and filled left to right, top to bottom, so node n's parent
//   is (n-1)/width and its position (n-1) mod width. Only node → member is stored (4 bytes/node,
//   and nothing at all for tier 0, whose node n is member n); placing costs O(1).
// under_sponsor: a new node goes to the first free position, in breadth-first order, of the subtree
//   rooted at a given node (SPEC §5). Each node stores its parent, position, children and
//   `full_depth` — how many levels below it are completely occupied. The
//   first free position in breadth-first order is found by descending from the subtree root to the
//   first non-full level, always into the leftmost child whose subtree is not full down to that
//   level: O(D × width), D the depth of the first non-full level below the subtree root, instead
//   of a scan of the subtree. Updating full_depth stops at the first ancestor it does not change
//   (a node with a free position has full_depth 0), so a long sponsor chain costs O(1) per join.
//   below() walks the subtree (O(size)); it is a query, never on the event path.
#pragma once

#include "upline/effect.hpp"
#include "upline/members.hpp"
#include "upline/plan.hpp"
#include "upline/storage.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace upline {

/// x / d for every 32-bit x by one multiplication, for a divisor d in 2..2^32-1 fixed in advance
/// (Lemire, Kaser, Kurz: "Faster remainder by direct computation", 2019): with c = ceil(2^64 / d),
/// x / d = floor(c × x / 2^64) exactly. A matrix divides by its width for every parent it finds.
class Divisor {
 public:
  explicit Divisor(std::uint32_t d) noexcept : d_(d), c_(~std::uint64_t{0} / d + 1) {}
  std::uint32_t divisor() const noexcept { return d_; }
  std::uint32_t quotient(std::uint32_t x) const noexcept { return static_cast<std::uint32_t>((static_cast<u128>(c_) * x) >> 64); }
  std::uint32_t remainder(std::uint32_t x) const noexcept { return x - quotient(x) * d_; }

 private:
  std::uint32_t d_;
  std::uint64_t c_;  // ceil(2^64 / d)
};

class Matrix {
 public:
  using Node = std::uint32_t;
  static constexpr Node none = std::numeric_limits<Node>::max();

  /// `dense` means the engine numbers members exactly as they enter (true for tier 0, which every
  /// member enters on joining): node n then holds member n and no member → node map is kept.
  Matrix(std::uint32_t width, Fill fill, bool dense)
      : width_(width), divisor_(width), fill_(fill), dense_(dense) {}

  std::uint32_t width() const noexcept { return width_; }
  Fill fill() const noexcept { return fill_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  std::uint32_t member_at(Node n) const noexcept { return dense_ ? n : member_[n]; }

  /// The node that holds member `m`, or none.
  Node node_of(std::uint32_t m) const noexcept {
    if (dense_) return m < size_ ? m : none;
    return m < node_of_.size() ? node_of_[m] : none;
  }

  Node parent(Node n) const noexcept {
    if (n == 0) return none;
    return fill_ == Fill::breadth_first ? divisor_.quotient(n - 1) : parent_[n];
  }

  std::uint32_t position(Node n) const noexcept {
    if (n == 0) return 0;
    return fill_ == Fill::breadth_first ? divisor_.remainder(n - 1) : position_[n];
  }

  /// Places member `m` and returns its node. For under_sponsor, `subtree` is the root of the
  /// subtree to fill (none: the whole matrix); breadth_first ignores it.
  Node place(std::uint32_t m, Node subtree = none) {
    if (fill_ == Fill::under_sponsor && size_ != 0) {
      const Node p = first_free(subtree == none ? 0 : subtree);
      return attach(m, p, children_count(p));
    }
    return attach(m, size_ == 0 ? none : Node(0), 0);  // breadth_first: parent and position are implied
  }

  /// Appends a node at a known place (restoring a saved matrix). For breadth_first the place is
  /// implied and must equal what place() would choose; for under_sponsor `parent` must exist and
  /// `position` be its first free slot. Returns false (and changes nothing) otherwise.
  bool restore(std::uint32_t m, Node parent, std::uint32_t position) {
    const Node n = static_cast<Node>(size_);
    if (dense_ && m != n) return false;
    if (fill_ == Fill::breadth_first) {
      if (n == 0 ? parent != none : (parent != (n - 1) / width_ || position != (n - 1) % width_)) return false;
    } else if (n == 0 ? parent != none : (parent >= n || position != children_count(parent) || position >= width_)) {
      return false;
    }
    attach(m, parent, position);
    return true;
  }

  /// Snapshot format 3: fills an empty matrix with `count` nodes at once. `members`: node → member
  /// index (empty when dense: node n holds member n); for under_sponsor, `parents` and `positions`
  /// give every node's place as restore() takes it (breadth_first ignores them: places are
  /// implied). `member_count`: how many members there are. Returns false — the matrix is then
  /// unusable: discard it — unless the nodes hold distinct members, each at a valid place.
  bool restore_all(std::size_t count, big_vector<std::uint32_t>&& members, const Node* parents, const std::uint8_t* positions,
                   std::size_t member_count) {
    if (size_ != 0 || count > member_count || (dense_ ? !members.empty() : members.size() != count)) return false;
    if (fill_ == Fill::breadth_first) {
      if (!dense_) {
        node_of_.assign(member_count, none);
        for (std::size_t n = 0; n < count; ++n) {
          const std::uint32_t m = members[n];
          if (m >= member_count || node_of_[m] != none) return false;
          node_of_[m] = static_cast<Node>(n);
        }
        member_ = std::move(members);
      }
      size_ = count;
      return true;
    }
    parent_.reserve(count);
    position_.reserve(count);
    full_depth_.reserve(count);
    children_.reserve(count * width_);
    if (!dense_) {
      member_.reserve(count);
      node_of_.assign(member_count, none);
    }
    for (std::size_t n = 0; n < count; ++n) {
      const std::uint32_t m = dense_ ? static_cast<std::uint32_t>(n) : members[n];
      if (m >= member_count || node_of(m) != none || !restore(m, parents[n], positions[n])) return false;
    }
    return true;
  }

  /// Whether node n holds member n (tier 0): no node → member table is kept.
  bool dense() const noexcept { return dense_; }
  /// Node → member index, size() of them (not dense), for bulk writes.
  const std::uint32_t* members_data() const noexcept { return member_.data(); }
  /// Each node's parent (none for node 0) and position, size() of each (under_sponsor), for bulk writes.
  const Node* parents_data() const noexcept { return parent_.data(); }
  const std::uint8_t* positions_data() const noexcept { return position_.data(); }

  /// True when every one of the width + width^2 + … + width^k positions below `n` is occupied.
  bool levels_filled(Node n, std::uint32_t k) const noexcept {
    if (fill_ == Fill::under_sponsor) return full_depth_[n] >= k;
    // Complete tree: the levels are full iff the rightmost descendant at depth k exists.
    const std::uint64_t count = size_;
    std::uint64_t r = n;
    for (std::uint32_t i = 0; i < k; ++i) {
      r = r * width_ + width_;
      if (r >= count) return false;
    }
    return true;
  }

  /// Number of nodes below `n` (all depths). O(log n) for breadth_first, O(subtree) otherwise.
  std::uint64_t below(Node n) const {
    if (fill_ == Fill::under_sponsor) {
      std::uint64_t total = 0;
      std::vector<Node> stack{n};
      while (!stack.empty()) {
        const std::size_t base = static_cast<std::size_t>(stack.back()) * width_;
        stack.pop_back();
        for (std::uint32_t p = 0; p < width_ && children_[base + p] != none; ++p) {
          ++total;
          stack.push_back(children_[base + p]);
        }
      }
      return total;
    }
    const std::uint64_t count = size_;
    std::uint64_t lo = n, hi = n, total = 0;
    for (;;) {
      lo = lo * width_ + 1;
      hi = hi * width_ + width_;
      if (lo >= count) break;
      total += std::min(hi, count - 1) - lo + 1;
    }
    return total;
  }

 private:
  Node attach(std::uint32_t m, Node p, std::uint32_t pos) {
    const Node n = static_cast<Node>(size_);
    if (fill_ == Fill::under_sponsor) {
      push_tree_node(p, pos);
      if (p != none) {
        children_[static_cast<std::size_t>(p) * width_ + pos] = n;
        for (Node a = p; a != none; a = parent_[a]) {
          std::uint8_t fd = compute_full_depth(a);
          if (fd == full_depth_[a]) break;
          full_depth_[a] = fd;
        }
      }
    }
    if (!dense_) {
      member_.push_back(m);
      if (m >= node_of_.size()) node_of_.resize(std::max<std::size_t>(m + 1, node_of_.size() * 2), none);
      node_of_[m] = n;
    }
    ++size_;
    return n;
  }

  std::uint32_t children_count(Node p) const noexcept {
    std::uint32_t c = 0;
    const std::size_t base = static_cast<std::size_t>(p) * width_;
    while (c < width_ && children_[base + c] != none) ++c;
    return c;
  }

  std::uint8_t compute_full_depth(Node a) const noexcept {
    const std::size_t base = static_cast<std::size_t>(a) * width_;
    std::uint8_t m = std::numeric_limits<std::uint8_t>::max();
    for (std::uint32_t p = 0; p < width_; ++p) {
      Node c = children_[base + p];
      if (c == none) return 0;
      m = std::min(m, full_depth_[c]);
    }
    return m == std::numeric_limits<std::uint8_t>::max() ? m : static_cast<std::uint8_t>(m + 1);
  }

  // The node, in breadth-first order of the subtree at r, that first has a free position.
  // Levels 1..full_depth(r) below r are full, so the first free position is on level
  // D = full_depth(r) + 1: its parent is the lexicographically first node on level D-1 with a
  // free position, reached by always stepping into the leftmost child whose own subtree is not
  // full down to level D.
  Node first_free(Node r) const noexcept {
    const std::uint32_t target = full_depth_[r];  // depth of the parent-to-be, relative to r
    Node x = r;
    for (std::uint32_t j = 0; j < target; ++j) {
      const std::size_t base = static_cast<std::size_t>(x) * width_;
      const std::uint32_t need = target - j;  // the child's level that must be not full
      Node next = none;
      for (std::uint32_t p = 0; p < width_; ++p) {
        Node c = children_[base + p];
        if (full_depth_[c] < need) { next = c; break; }
      }
      x = next;  // exists: level D below r is not full
    }
    return x;
  }

  void push_tree_node(Node parent, std::uint32_t pos) {
    parent_.push_back(parent);
    position_.push_back(static_cast<std::uint8_t>(pos));
    full_depth_.push_back(0);
    children_.resize(children_.size() + width_, none);
  }

  std::uint32_t width_;
  Divisor divisor_;  // by width_: parent() and position() of breadth_first
  Fill fill_;
  bool dense_;
  std::size_t size_ = 0;                                 // nodes
  big_vector<std::uint32_t> member_;                     // node → member index (not dense)
  big_vector<Node> node_of_;                             // member index → node or none (not dense)
  // under_sponsor only:
  big_vector<Node> parent_;
  big_vector<std::uint8_t> position_;
  big_vector<std::uint8_t> full_depth_;
  big_vector<Node> children_;  // node*width + position → child node or none
};

/// SPEC §5: places member `m` into tier `t`'s matrix and reports it (effect `placed`). For
/// under_sponsor the subtree is rooted at the nearest member of m's sponsor line that has a node
/// in the matrix (its tier is >= t), whatever its status; if none has, the whole matrix.
inline Matrix::Node place(std::vector<Matrix>& matrices, const Members& members, std::uint32_t m, std::uint32_t t, std::vector<Effect>& fx) {
  Matrix& mx = matrices[t];
  Matrix::Node subtree = Matrix::none;
  if (mx.fill() == Fill::under_sponsor) {
    for (std::uint32_t s = members[m].sponsor; s != no_member; s = members[s].sponsor)
      if (members[s].tier >= t) {
        subtree = mx.node_of(s);
        break;
      }
  }
  const Matrix::Node n = mx.place(m, subtree);
  const Matrix::Node p = mx.parent(n);
  fx.push_back(Effect::placed(members[m].id, static_cast<std::uint8_t>(t), p == Matrix::none ? 0 : members[mx.member_at(p)].id, mx.position(n)));
  return n;
}

}  // namespace upline
