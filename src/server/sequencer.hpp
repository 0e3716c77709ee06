// sequencer.hpp — internal: the thread that owns the Store. Every request that touches the state
// (events, batches, reads) is a Job, queued here and run in arrival order; replies leave only
// once the fsync that covers what they reflect has returned (server.hpp).
#pragma once

#include "metrics.hpp"
#include "upline/door.hpp"
#include "upline/server.hpp"
#include "upline/store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace upline::server {

/// What a request gets back.
struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::uint64_t seq = 0;        // the sequence number the reply reflects (header Upline-Seq)
  unsigned retry_after = 0;     // seconds (503)
};

/// A JSON error reply: {"error":CODE,"message":MESSAGE}.
Reply error_reply(unsigned status, std::string_view code, std::string_view message);

class Sequencer;

struct Job {
  enum class Kind { event, batch, read } kind = Kind::read;
  std::string body;                 // the event line, or the batch's lines
  bool admin = true;                // may submit plan, adjust, suspend and reactivate events
  std::uint64_t min_seq = 0;        // a read waits until this sequence number is applied
  std::function<Reply(Sequencer&)> read;  // Kind::read: runs on the sequencer thread
  std::function<void(Reply&&)> done;      // called once, on the sequencer thread
  // The sequencer's.
  std::size_t weight = 1;           // events it counts for in the queue
  Reply reply;
  std::chrono::steady_clock::time_point deadline{};
};

/// The results of recent durable events, for GET /v1/effects: a window of the last
/// `retained` result lines, and callbacks waiting for the next ones.
class EffectsFeed {
 public:
  explicit EffectsFeed(std::size_t retained) : retained_(retained) {}
  /// The sequencer: appends the result line of event `seq` (not yet durable).
  void push(std::uint64_t seq, std::string line);
  /// The sequencer: events up to `seq` are durable; wakes the waiters.
  void publish(std::uint64_t seq);
  /// Ends every stream (shutdown).
  void close();

  enum class Read { lines, none, behind, closed };
  /// Appends the durable lines from `next` on (up to about `max_bytes`) to `out`, advancing `next`.
  /// `behind`: `next` left the window (read the journal); `none`: wait().
  Read read(std::uint64_t& next, std::string& out, std::size_t max_bytes);
  /// Calls `wake` (once, from any thread) when event `next` is durable or the feed closes; false
  /// when that is already the case.
  bool wait(std::uint64_t next, std::function<void()> wake);
  std::uint64_t published() const;

 private:
  mutable std::mutex mu_;
  std::size_t retained_;
  std::deque<std::pair<std::uint64_t, std::string>> lines_;
  std::uint64_t published_ = 0;
  bool closed_ = false;
  std::vector<std::function<void()>> waiters_;
};

class Sequencer {
 public:
  /// Hands finished jobs over, in reply order, once per round of the sequencer (so that a group of
  /// replies released by one fsync crosses to the I/O threads at once); called on the sequencer
  /// thread. Without it, each job's `done` is called there.
  using Deliver = std::function<void(std::vector<std::unique_ptr<Job>>&&)>;

  Sequencer(std::unique_ptr<Store> store, const ServerOptions& options, Metrics& metrics, Deliver deliver = {});
  ~Sequencer();

  /// Queues a job; false when the queue is full or the sequencer is stopping (the job is not
  /// taken: answer 503).
  bool submit(std::unique_ptr<Job>& job);
  /// Finishes the queued jobs, commits and writes a snapshot, then calls `finished` (on the
  /// sequencer thread) with the snapshot's name (empty when it failed).
  void stop(std::function<void(const std::string&)> finished);
  void join();

  // On the sequencer thread (Job::read):
  const Store& store() const noexcept { return *store_; }
  /// The digest of the current state, computed at most once per sequence number.
  const std::string& digest();

  EffectsFeed& feed() noexcept { return feed_; }
  /// Whether the store accepts writes (healthz); any thread.
  bool healthy() const noexcept { return healthy_.load(std::memory_order_relaxed); }
  std::uint64_t last_seq() const noexcept { return last_seq_.load(std::memory_order_relaxed); }
  std::uint64_t durable_seq() const noexcept { return durable_seq_.load(std::memory_order_relaxed); }

 private:
  void loop();
  void sync_loop();
  void process(std::unique_ptr<Job> job);
  void apply_events(Job& job);
  void run_read(std::unique_ptr<Job> job);
  void serve_parked(bool all);
  void advance();
  void finish_sync(const std::optional<std::string>& error);
  void release();
  void fail_pending(const std::string& why);
  void answer(std::unique_ptr<Job> job);
  Reply stopped_reply() const;
  void flush_answers();
  void note_progress();

  std::unique_ptr<Store> store_;
  const ServerOptions& options_;
  Metrics& metrics_;
  EffectsFeed feed_;
  Deliver deliver_;
  std::vector<std::unique_ptr<Job>> outbox_;  // answered this round
  EventReader reader_;  // admin checks
  std::string digest_;
  std::uint64_t digest_seq_ = UINT64_MAX;

  std::mutex mu_;
  std::condition_variable cv_;       // the sequencer: jobs, a finished fsync, stop
  std::condition_variable sync_cv_;  // the sync thread: an fsync to run
  std::vector<std::unique_ptr<Job>> queue_;
  std::size_t queued_ = 0;
  bool stop_ = false;
  bool sync_request_ = false, sync_done_ = false, sync_quit_ = false;
  std::optional<std::string> sync_error_;
  std::function<void(const std::string&)> finished_;

  // The sequencer thread's own.
  std::deque<std::unique_ptr<Job>> pending_;  // replies waiting for durability, in order
  std::vector<std::unique_ptr<Job>> parked_;  // reads waiting for min_seq
  bool sync_in_flight_ = false;
  std::uint64_t sync_target_ = 0;

  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> last_seq_{0}, durable_seq_{0};
  std::thread thread_, sync_thread_;
};

}  // namespace upline::server
