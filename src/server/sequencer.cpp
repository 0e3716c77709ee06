// sequencer.cpp — the thread that owns the Store, group commit, the effects feed (sequencer.hpp).
#include "sequencer.hpp"

#include "upline/json_text.hpp"

#include <algorithm>

namespace upline::server {

Reply error_reply(unsigned status, std::string_view code, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = R"({"error":")";
  r.body += code;
  r.body += R"(","message":)";
  r.body += json_quote(message);
  r.body += "}\n";
  return r;
}

// ---- the effects feed ------------------------------------------------------------------------------

void EffectsFeed::push(std::uint64_t seq, std::string line) {
  std::lock_guard g(mu_);
  lines_.emplace_back(seq, std::move(line));
  while (lines_.size() > retained_ && lines_.front().first <= published_) lines_.pop_front();
}

void EffectsFeed::publish(std::uint64_t seq) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard g(mu_);
    if (seq <= published_) return;
    published_ = seq;
    while (lines_.size() > retained_ && lines_.front().first <= published_) lines_.pop_front();
    wake.swap(waiters_);
  }
  for (auto& w : wake) w();
}

void EffectsFeed::close() {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard g(mu_);
    closed_ = true;
    wake.swap(waiters_);
  }
  for (auto& w : wake) w();
}

EffectsFeed::Read EffectsFeed::read(std::uint64_t& next, std::string& out, std::size_t max_bytes) {
  std::lock_guard g(mu_);
  if (next > published_) return closed_ ? Read::closed : Read::none;
  // The window holds every event from its first line's sequence number on (rejections too).
  if (lines_.empty() || next < lines_.front().first) return Read::behind;
  std::size_t i = static_cast<std::size_t>(next - lines_.front().first);
  const std::size_t start = out.size();
  for (; i < lines_.size() && lines_[i].first <= published_ && out.size() - start < max_bytes; ++i) {
    out += lines_[i].second;
    out += '\n';
    next = lines_[i].first + 1;
  }
  return Read::lines;
}

bool EffectsFeed::wait(std::uint64_t next, std::function<void()> wake) {
  std::lock_guard g(mu_);
  if (closed_ || next <= published_) return false;
  waiters_.push_back(std::move(wake));
  return true;
}

std::uint64_t EffectsFeed::published() const {
  std::lock_guard g(mu_);
  return published_;
}

// ---- the sequencer -----------------------------------------------------------------------------------

namespace {

bool is_admin_event(const Event& e) {
  return std::holds_alternative<PlanChange>(e) || std::holds_alternative<Adjust>(e) || std::holds_alternative<Suspend>(e) ||
         std::holds_alternative<Reactivate>(e);
}

// Calls f(line) for each non-blank line of a body (a trailing CR belongs to the line ending).
template <class F>
void for_each_line(std::string_view body, F&& f) {
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (blank_line(line)) continue;
    if (!f(line)) return;
  }
}

}  // namespace

Sequencer::Sequencer(std::unique_ptr<Store> store, const ServerOptions& options, Metrics& metrics, Deliver deliver)
    : store_(std::move(store)), options_(options), metrics_(metrics), feed_(options.effects_retained), deliver_(std::move(deliver)) {
  last_seq_ = durable_seq_ = store_->last_seq();
  feed_.publish(store_->durable_seq());
  sync_thread_ = std::thread([this] { sync_loop(); });
  thread_ = std::thread([this] { loop(); });
}

Sequencer::~Sequencer() { join(); }

void Sequencer::join() {
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard g(mu_);
    sync_quit_ = true;
  }
  sync_cv_.notify_one();
  if (sync_thread_.joinable()) sync_thread_.join();
}

bool Sequencer::submit(std::unique_ptr<Job>& job) {
  {
    std::lock_guard g(mu_);
    if (stop_) return false;
    if (queued_ > 0 && queued_ + job->weight > options_.max_queue) return false;
    queued_ += job->weight;
    metrics_.queue_depth.store(queued_, std::memory_order_relaxed);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void Sequencer::stop(std::function<void(const std::string&)> finished) {
  {
    std::lock_guard g(mu_);
    if (stop_) return;
    stop_ = true;
    finished_ = std::move(finished);
  }
  cv_.notify_one();
}

const std::string& Sequencer::digest() {
  if (digest_seq_ != store_->last_seq()) {
    digest_ = store_->engine().digest();
    digest_seq_ = store_->last_seq();
  }
  return digest_;
}

void Sequencer::loop() {
  std::vector<std::unique_ptr<Job>> jobs;
  for (;;) {
    bool stopping = false, synced = false;
    std::optional<std::string> sync_error;
    {
      std::unique_lock lk(mu_);
      // Stopping with an fsync in flight: wait for it (not spin).
      auto ready = [&] { return !queue_.empty() || sync_done_ || (stop_ && !sync_in_flight_); };
      if (parked_.empty()) {
        cv_.wait(lk, ready);
      } else {
        auto first = std::min_element(parked_.begin(), parked_.end(), [](const auto& a, const auto& b) { return a->deadline < b->deadline; });
        cv_.wait_until(lk, (*first)->deadline, ready);
      }
      jobs.swap(queue_);
      queued_ = 0;
      metrics_.queue_depth.store(0, std::memory_order_relaxed);
      if (sync_done_) {
        synced = true;
        sync_done_ = false;
        sync_error = std::move(sync_error_);
        sync_error_.reset();
      }
      stopping = stop_;
    }
    if (synced) {
      finish_sync(sync_error);
      release();  // what that fsync made durable leaves before the new jobs are applied
      flush_answers();
    }
    for (auto& j : jobs) process(std::move(j));
    jobs.clear();
    serve_parked(false);
    advance();
    if (store_->failure()) fail_pending(*store_->failure());  // reads included: nothing waits for a durability that cannot come
    release();
    flush_answers();
    if (stopping && !sync_in_flight_) {
      std::lock_guard g(mu_);
      if (queue_.empty()) break;
    }
  }
  // Shutdown: the reads still waiting for their min_seq are answered, everything is committed.
  serve_parked(true);
  std::string snapshot;
  if (!store_->failure()) {
    try {
      store_->commit();
      note_progress();
      release();
      snapshot = store_->snapshot();
    } catch (const StoreError& e) {
      fail_pending(e.what());
    }
  }
  fail_pending("the server stopped");
  flush_answers();
  std::function<void(const std::string&)> finished;
  {
    std::lock_guard g(mu_);
    finished.swap(finished_);
  }
  // The directory is free once run() returns.
  store_.reset();
  if (finished) finished(snapshot);
}

void Sequencer::sync_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_request_ || sync_quit_; });
    if (!sync_request_) return;
    sync_request_ = false;
    lk.unlock();
    std::optional<std::string> error;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      store_->sync_written();
    } catch (const StoreError& e) {
      error = e.what();
    }
    metrics_.fsync.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    lk.lock();
    sync_done_ = true;
    sync_error_ = std::move(error);
    cv_.notify_one();
  }
}

void Sequencer::process(std::unique_ptr<Job> job) {
  if (store_->failure()) {
    job->reply = stopped_reply();
    return answer(std::move(job));
  }
  if (job->kind == Job::Kind::read) return run_read(std::move(job));
  apply_events(*job);
  std::string().swap(job->body);  // a batch's text is not needed while its reply waits
  if (job->reply.status != 200) return answer(std::move(job));
  pending_.push_back(std::move(job));
}

Reply Sequencer::stopped_reply() const {
  return error_reply(503, "unavailable", "the store stopped after an I/O failure (" + store_->failure().value_or("") + "); restart the server to recover");
}

void Sequencer::apply_events(Job& job) {
  // Who may do what, before anything is applied: a batch is refused whole.
  if (!job.admin) {
    std::string refused;
    for_each_line(job.body, [&](std::string_view line) {
      const Input in = reader_.read(line);
      if (in.event() && is_admin_event(*in.event())) {
        refused = std::string(event_type_name(*in.event()));
        return false;
      }
      return true;
    });
    if (!refused.empty()) {
      job.reply = error_reply(403, "forbidden", "a " + refused + " event needs the admin token; nothing was applied");
      return;
    }
  }
  Reply& r = job.reply;
  r.content_type = job.kind == Job::Kind::batch ? "application/x-ndjson" : "application/json";
  std::string line_out;
  for_each_line(job.body, [&](std::string_view line) {
    Submitted s;
    try {
      s = store_->submit(line);
    } catch (const std::exception& e) {
      // An I/O failure (the store has stopped), or no memory left mid-event (the state may be
      // half-changed: the store is stopped too). Lines are never longer than a record (--max-body).
      store_->mark_failed(e.what());
      r = stopped_reply();
      return false;
    }
    metrics_.count_event(s.code);
    line_out.clear();
    append_result_json(line_out, s.seq, s.code, s.message, s.effects, store_->engine());
    r.body += line_out;
    r.body += '\n';
    r.seq = s.seq;
    if (options_.effects_retained > 0) feed_.push(s.seq, line_out);
    return true;
  });
  last_seq_.store(store_->last_seq(), std::memory_order_relaxed);
}

void Sequencer::run_read(std::unique_ptr<Job> job) {
  if (job->min_seq > store_->last_seq()) {
    if (job->deadline == std::chrono::steady_clock::time_point{})
      job->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.read_wait_ms);
    parked_.push_back(std::move(job));
    return;
  }
  try {
    job->reply = job->read(*this);
  } catch (const std::exception& e) {  // out of memory writing a dump, say: this read fails, nothing else
    job->reply = error_reply(500, "internal", std::string("the read failed: ") + e.what());
  }
  job->reply.seq = store_->last_seq();
  pending_.push_back(std::move(job));
}

void Sequencer::serve_parked(bool all) {
  if (parked_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Job>> waiting;
  waiting.swap(parked_);
  for (auto& j : waiting) {
    if (j->min_seq <= store_->last_seq()) {
      run_read(std::move(j));
    } else if (all || now >= j->deadline) {
      j->reply = error_reply(all ? 503 : 504, all ? "unavailable" : "timeout",
                             "min_seq " + std::to_string(j->min_seq) + " was not reached" +
                                 (all ? " before the server stopped" : " within " + std::to_string(options_.read_wait_ms) + " ms") +
                                 " (last seq " + std::to_string(store_->last_seq()) + ")");
      j->reply.seq = store_->last_seq();
      pending_.push_back(std::move(j));
    } else {
      parked_.push_back(std::move(j));
    }
  }
}

void Sequencer::advance() {
  if (store_->failure()) return;
  if (store_->last_seq() == store_->durable_seq()) {
    note_progress();  // --sync every: each submit was its own fsync
    return;
  }
  try {
    switch (options_.durability) {
      case Durability::every:  // (each submit fsynced its record: last == durable, handled above)
      case Durability::none:
        store_->commit();
        metrics_.batch.observe(static_cast<double>(store_->last_seq() - durable_seq_.load(std::memory_order_relaxed)));
        note_progress();
        break;
      case Durability::group:
        if (sync_in_flight_) return;  // the next fsync takes everything written meanwhile
        sync_target_ = store_->write();
        metrics_.batch.observe(static_cast<double>(sync_target_ - store_->durable_seq()));
        sync_in_flight_ = true;
        {
          std::lock_guard g(mu_);
          sync_request_ = true;
        }
        sync_cv_.notify_one();
        break;
    }
  } catch (const StoreError& e) {
    fail_pending(e.what());
  }
}

void Sequencer::finish_sync(const std::optional<std::string>& error) {
  sync_in_flight_ = false;
  if (error) {
    store_->mark_failed(*error);
    fail_pending(*error);
    return;
  }
  store_->mark_durable(sync_target_);
  note_progress();
}

void Sequencer::note_progress() {
  durable_seq_.store(store_->durable_seq(), std::memory_order_relaxed);
  last_seq_.store(store_->last_seq(), std::memory_order_relaxed);
  feed_.publish(store_->durable_seq());
}

void Sequencer::release() {
  const std::uint64_t durable = store_->durable_seq();
  while (!pending_.empty() && pending_.front()->reply.seq <= durable) {
    answer(std::move(pending_.front()));
    pending_.pop_front();
  }
}

void Sequencer::fail_pending(const std::string& why) {
  if (store_->failure()) healthy_.store(false, std::memory_order_relaxed);
  const std::uint64_t durable = store_->durable_seq();
  while (!pending_.empty()) {
    auto j = std::move(pending_.front());
    pending_.pop_front();
    if (j->reply.seq > durable) j->reply = error_reply(503, "unavailable", "not durable: " + why);
    answer(std::move(j));
  }
}

void Sequencer::answer(std::unique_ptr<Job> job) { outbox_.push_back(std::move(job)); }

void Sequencer::flush_answers() {
  if (outbox_.empty()) return;
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.swap(outbox_);
  if (deliver_) return deliver_(std::move(jobs));
  for (auto& j : jobs)
    if (j->done) j->done(std::move(j->reply));
}

}  // namespace upline::server
