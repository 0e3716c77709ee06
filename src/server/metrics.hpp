// metrics.hpp — internal: the server's counters and their Prometheus text (GET /metrics).
#pragma once

#include "upline/rejection.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace upline::server {

/// A histogram with fixed upper bounds; observe() is lock-free.
template <std::size_t N>
class Histogram {
 public:
  explicit constexpr Histogram(std::array<double, N> bounds) : bounds_(bounds) {}
  void observe(double v) noexcept {
    std::size_t i = 0;
    while (i < N && v > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    // The sum in micro-units: an integer, so that concurrent adds need no CAS loop.
    sum_micro_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
  }
  void render(std::string& out, const char* name, const char* help) const {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < N; ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
    }
    cumulative += counts_[N].load(std::memory_order_relaxed);
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative, name,
                   static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6, name, cumulative);
  }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<std::uint64_t>, N + 1> counts_{};
  std::atomic<std::uint64_t> sum_micro_{0};
};

struct Metrics {
  static constexpr int codes = 23;  // Code values 0..22
  std::array<std::atomic<std::uint64_t>, codes> events{};
  Histogram<10> batch{{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}};  // events per fsync
  Histogram<12> fsync{{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.25, 1}};
  std::atomic<std::uint64_t> queue_depth{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused_busy{0};      // 503 for a full queue or too many connections
  std::atomic<std::uint64_t> bad_requests{0};      // 4xx
  std::atomic<std::uint64_t> effects_streams{0};

  void count_event(Code c) noexcept {
    const int i = static_cast<int>(c);
    if (i >= 0 && i < codes) events[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  }

  std::string render(std::uint64_t last_seq, std::uint64_t durable_seq) const {
    std::string out;
    auto it = std::back_inserter(out);
    out += "# HELP upline_events_total Events submitted, by status (ok or the rejection code).\n# TYPE upline_events_total counter\n";
    for (int i = 0; i < codes; ++i) {
      if (!known_code(i)) continue;
      fmt::format_to(it, "upline_events_total{{status=\"{}\"}} {}\n", code_name(static_cast<Code>(i)),
                     events[static_cast<std::size_t>(i)].load(std::memory_order_relaxed));
    }
    batch.render(out, "upline_commit_batch_events", "Events made durable by one fsync.");
    fsync.render(out, "upline_fsync_seconds", "Duration of each journal fsync.");
    auto gauge = [&](const char* name, const char* help, const char* type, std::uint64_t v) {
      fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
    };
    gauge("upline_queue_depth", "Events waiting for the sequencer.", "gauge", queue_depth.load(std::memory_order_relaxed));
    gauge("upline_open_connections", "Open HTTP connections.", "gauge", connections.load(std::memory_order_relaxed));
    gauge("upline_effects_streams", "Open GET /v1/effects streams.", "gauge", effects_streams.load(std::memory_order_relaxed));
    gauge("upline_http_requests_total", "HTTP requests received.", "counter", requests.load(std::memory_order_relaxed));
    gauge("upline_http_refused_busy_total", "Requests and connections refused with 503 (queue full, too many connections).", "counter",
          refused_busy.load(std::memory_order_relaxed));
    gauge("upline_http_client_errors_total", "Requests answered with a 4xx status.", "counter", bad_requests.load(std::memory_order_relaxed));
    gauge("upline_last_seq", "The last sequence number applied.", "gauge", last_seq);
    gauge("upline_durable_seq", "The last sequence number made durable.", "gauge", durable_seq);
    return out;
  }
};

}  // namespace upline::server
