// upline/server.hpp — `upline serve`: one process owns a data directory and sequences every
// client's events into it over HTTP/1.1 (docs/SERVER.md has the API).
//
// Threads: `threads` I/O threads run the connections (Boost.Asio/Beast); one sequencer thread owns
// the Store and applies every request in arrival order, reads included; one sync thread runs the
// fsyncs. With Durability::group, events that arrive while an fsync is in flight are applied and
// written, and the next single fsync acknowledges all of them. No response — a read's neither —
// leaves before the fsync covering the last event it reflects has returned (Durability::every
// fsyncs each event; Durability::none acknowledges once written).
//
// Shutdown: stop() (or SIGTERM/SIGINT with `handle_signals`) closes the listener, answers what is
// in flight, commits, writes a snapshot and returns from run().
#pragma once

#include "upline/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace upline {

struct ServerOptions {
  std::string data;                 // the data directory
  std::string plan_json;            // creates `data` when it holds no journal; for one that does,
                                    // empty or the plan it was created with (else ServerError)
  std::string host = "127.0.0.1";   // an IP address to listen on
  std::uint16_t port = 8080;        // 0: a free port (port() tells which)
  Durability durability = Durability::group;
  std::uint64_t snapshot_every = 0; // a snapshot after every N events (0: not by count)
  std::uint64_t snapshot_bytes = default_snapshot_bytes;  // …and after N journal bytes (0: not by size);
                                    // written in the background (store.hpp), and at shutdown
  std::uint64_t segment_bytes = default_segment_bytes;    // journal segment size (journal.hpp)
  unsigned threads = 2;             // I/O threads
  // Who may do what (empty: anyone). Tokens are compared in constant time and never logged.
  std::vector<std::string> tokens;        // needed for every /v1 request
  std::vector<std::string> admin_tokens;  // needed for plan, adjust, suspend, reactivate events
  // Limits.
  std::size_t max_body = 1u << 20;              // POST /v1/events
  std::size_t max_batch_body = 64u << 20;       // POST /v1/events/batch
  std::size_t max_batch_lines = 100'000;
  std::size_t max_header = 16u << 10;
  std::size_t max_connections = 10'000;
  std::size_t max_queue = 200'000;              // events waiting for the sequencer; beyond: 503
  std::uint32_t idle_timeout_ms = 60'000;       // a connection without a request
  std::uint32_t request_timeout_ms = 30'000;    // to receive one whole request
  std::uint32_t read_wait_ms = 10'000;          // the longest a ?min_seq= read waits
  std::size_t effects_retained = 100'000;       // recent results kept in memory for /v1/effects
  bool handle_signals = false;                  // SIGTERM and SIGINT stop the server
};

/// A server that could not start: a bad option, a plan that differs from the directory's, an
/// address in use. The message names the option and the value.
class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  /// Opens (or creates) the data directory and binds the listener. Throws ServerError or
  /// StoreError.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port bound (the real one when options.port was 0).
  std::uint16_t port() const noexcept;
  /// What recovery found when the directory was opened.
  const Recovery& recovery() const noexcept;
  /// Serves until stop(); then drains, commits, snapshots and returns the snapshot's file name
  /// (empty when it failed; the journal has everything). Call once.
  std::string run();
  /// Asks run() to finish. Thread-safe; returns at once.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace upline
