#include "oms/nats/jetstream.hpp"

#include <algorithm>

namespace oms::nats {

const char* to_string(EnsureOutcome o) {
  switch (o) {
    case EnsureOutcome::created: return "created";
    case EnsureOutcome::updated: return "updated";
    case EnsureOutcome::unchanged: return "unchanged";
  }
  return "?";
}

namespace {

void on_async_pub_error(jsCtx*, jsPubAckErr* pae, void* closure) {
  // nats.c thread: count only; the library frees the message afterwards.
  (void)pae;
  static_cast<std::atomic<uint64_t>*>(closure)->fetch_add(1, std::memory_order_relaxed);
}

bool same_config(const jsStreamConfig& have, const StreamSpec& want) {
  if (have.SubjectsLen != static_cast<int>(want.subjects.size())) return false;
  for (int i = 0; i < have.SubjectsLen; ++i) {
    if (want.subjects[static_cast<size_t>(i)] != have.Subjects[i]) return false;
  }
  const jsStorageType st = want.storage == StorageType::memory ? js_MemoryStorage : js_FileStorage;
  return have.Storage == st && have.Replicas == want.replicas &&
         have.MaxAge == want.max_age.count() && have.Duplicates == want.duplicate_window.count();
}

}  // namespace

// ---- JetStream ------------------------------------------------------------

Result<JetStream> JetStream::create(Connection& conn, const Options& opts) {
  JetStream js;
  js.async_ = std::make_unique<AsyncState>();
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = opts.api_wait.count();
  o.PublishAsync.MaxPending = opts.max_pending_async;
  o.PublishAsync.ErrHandler = on_async_pub_error;
  o.PublishAsync.ErrHandlerClosure = &js.async_->errors;
  natsStatus s = natsConnection_JetStream(&js.js_, conn.raw(), &o);
  if (s != NATS_OK) return Status::failure(s, "natsConnection_JetStream");
  return js;
}

JetStream::~JetStream() { destroy(); }

JetStream::JetStream(JetStream&& o) noexcept
    : js_(std::exchange(o.js_, nullptr)), async_(std::move(o.async_)) {}

JetStream& JetStream::operator=(JetStream&& o) noexcept {
  if (this != &o) {
    destroy();
    js_ = std::exchange(o.js_, nullptr);
    async_ = std::move(o.async_);
  }
  return *this;
}

void JetStream::destroy() noexcept {
  if (js_ == nullptr) return;
  // Give in-flight async publishes a moment so the error closure is not
  // freed under a pending callback.
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 500;
  js_PublishAsyncComplete(js_, &po);
  jsCtx_Destroy(js_);
  js_ = nullptr;
}

Result<EnsureOutcome> JetStream::ensure_stream(const StreamSpec& spec) {
  std::vector<const char*> subjects;
  subjects.reserve(spec.subjects.size());
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = spec.storage == StorageType::memory ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = spec.replicas;
  cfg.MaxAge = spec.max_age.count();
  cfg.Duplicates = spec.duplicate_window.count();

  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, spec.name.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (si) jsStreamInfo_Destroy(si);
    if (s != NATS_OK) return Status::failure(s, "js_AddStream", jerr);
    return EnsureOutcome::created;
  }
  if (s != NATS_OK) return Status::failure(s, "js_GetStreamInfo", jerr);
  const bool same = same_config(*si->Config, spec);
  jsStreamInfo_Destroy(si);
  if (same) return EnsureOutcome::unchanged;
  si = nullptr;
  s = js_UpdateStream(&si, js_, &cfg, nullptr, &jerr);
  if (si) jsStreamInfo_Destroy(si);
  if (s != NATS_OK) return Status::failure(s, "js_UpdateStream", jerr);
  return EnsureOutcome::updated;
}

Result<StreamState> JetStream::stream_state(const char* stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, stream, nullptr, &jerr);
  if (s != NATS_OK) return Status::failure(s, "js_GetStreamInfo", jerr);
  StreamState st{si->State.Msgs, si->State.Bytes, si->State.FirstSeq, si->State.LastSeq,
                 si->State.Consumers};
  jsStreamInfo_Destroy(si);
  return st;
}

Status JetStream::delete_stream(const char* stream) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(js_, stream, nullptr, &jerr);
  return s == NATS_OK ? Status::success() : Status::failure(s, "js_DeleteStream", jerr);
}

Status JetStream::ping(std::chrono::milliseconds timeout) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = timeout.count();
  jsAccountInfo* ai = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetAccountInfo(&ai, js_, &o, &jerr);
  if (ai) jsAccountInfo_Destroy(ai);
  return s == NATS_OK ? Status::success() : Status::failure(s, "js_GetAccountInfo", jerr);
}

Result<PubAck> JetStream::publish(const Msg& msg) {
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  // The Nats-Msg-Id header (if any) is already on the message; nats.c also
  // reads it from there, so no jsPubOptions needed.
  natsStatus s = js_PublishMsg(&pa, js_, msg.raw(), nullptr, &jerr);
  if (s != NATS_OK) return Status::failure(s, "js_PublishMsg", jerr);
  PubAck ack{pa->Sequence, pa->Duplicate};
  jsPubAck_Destroy(pa);
  return ack;
}

Status JetStream::publish_async(Msg&& msg) {
  natsMsg* raw = msg.release();
  natsStatus s = js_PublishMsgAsync(js_, &raw, nullptr);
  if (raw != nullptr) msg = Msg(raw);  // not taken: hand it back to the caller
  return s == NATS_OK ? Status::success() : Status::failure(s, "js_PublishMsgAsync");
}

Status JetStream::publish_async_complete(std::chrono::milliseconds timeout) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  natsStatus s = js_PublishAsyncComplete(js_, &po);
  return s == NATS_OK ? Status::success() : Status::failure(s, "js_PublishAsyncComplete");
}

uint64_t JetStream::async_errors() const {
  return async_ ? async_->errors.load(std::memory_order_relaxed) : 0;
}

Result<PullConsumer> JetStream::pull_subscribe(const PullConsumerSpec& spec) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Config.Durable = spec.durable.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.AckWait = std::chrono::nanoseconds(spec.ack_wait).count();
  so.Config.MaxDeliver = spec.max_deliver;
  if (spec.max_ack_pending > 0) so.Config.MaxAckPending = spec.max_ack_pending;
  if (!spec.filter_subject.empty()) so.Config.FilterSubject = spec.filter_subject.c_str();

  PullConsumer pc;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&pc.sub_, js_, spec.filter_subject.c_str(),
                                  spec.durable.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) return Status::failure(s, "js_PullSubscribe", jerr);
  return pc;
}

// ---- PullConsumer ---------------------------------------------------------

PullConsumer::~PullConsumer() { close(false); }

PullConsumer& PullConsumer::operator=(PullConsumer&& o) noexcept {
  if (this != &o) {
    close(false);
    sub_ = std::exchange(o.sub_, nullptr);
  }
  return *this;
}

Status PullConsumer::fetch(std::vector<Msg>& out, int batch, std::chrono::milliseconds timeout) {
  // nats.c before 3.8.1 (Debian ships 3.4.1) writes past its result array in
  // natsSubscription_Fetch when more than half of `batch` is already queued
  // in the subscription at entry: its loop then compares the count against
  // the request's reduced batch and never stops at `batch` (nats-io/nats.c
  // PR #749). Seen here as "malloc(): corrupted top size" aborts of oms-core
  // under a 1M-message replay. Queued messages are therefore handed out one
  // per call (batch 1 cannot overflow: at most one is taken before the loop,
  // and a request for one more stops at one); a full batch is asked only of
  // an empty queue, which nothing but an open pull request can refill, and a
  // finished Fetch leaves none open.
  int queued = 0;
  if (batch > 1 && natsSubscription_GetPending(sub_, &queued, nullptr) == NATS_OK && queued > 0) batch = 1;
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, sub_, batch, timeout.count(), &jerr);
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // ownership moved; natsMsgList_Destroy skips NULLs
  }
  natsMsgList_Destroy(&list);
  if (s != NATS_OK) return Status::failure(s, "natsSubscription_Fetch", jerr);
  return Status::success();
}

void PullConsumer::close(bool delete_consumer) {
  if (sub_ == nullptr) return;
  // natsSubscription_Unsubscribe deletes a library-created JetStream
  // consumer; Destroy alone only drops local interest.
  if (delete_consumer) natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
}

}  // namespace oms::nats
