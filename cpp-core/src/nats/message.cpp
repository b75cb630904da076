#include "oms/nats/message.hpp"

#include "oms/nats/headers.hpp"

namespace oms::nats {

Result<Msg> Msg::create(const char* subject, std::span<const uint8_t> data,
                        const OmsHeaders& headers, const char* reply) {
  natsMsg* raw = nullptr;
  natsStatus s = natsMsg_Create(&raw, subject, reply,
                                reinterpret_cast<const char*>(data.data()),
                                static_cast<int>(data.size()));
  if (s != NATS_OK) return Status::failure(s, "natsMsg_Create");
  Msg msg(raw);
  const std::pair<const char*, const char*> kv[] = {
      {hdr::kMsgId, headers.msg_id}, {hdr::kType, headers.type}, {hdr::kId, headers.id},
      {hdr::kTraceId, headers.trace_id}, {hdr::kProducer, headers.producer}};
  for (const auto& [k, v] : kv) {
    if (v == nullptr) continue;
    if (Status st = msg.set_header(k, v); !st) return st;
  }
  return msg;
}

Status Msg::set_header(const char* key, const char* value) {
  natsStatus s = natsMsgHeader_Set(m_, key, value);
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsMsgHeader_Set");
}

const char* Msg::header(const char* key) const {
  const char* v = nullptr;
  if (m_ == nullptr || natsMsgHeader_Get(m_, key, &v) != NATS_OK) return nullptr;
  return v;
}

Status Msg::ack() {
  natsStatus s = natsMsg_Ack(m_, nullptr);
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsMsg_Ack");
}

Status Msg::ack_sync(std::chrono::milliseconds wait) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = wait.count();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = natsMsg_AckSync(m_, &o, &jerr);
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsMsg_AckSync", jerr);
}

Status Msg::nak() {
  natsStatus s = natsMsg_Nak(m_, nullptr);
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsMsg_Nak");
}

Status Msg::term() {
  natsStatus s = natsMsg_Term(m_, nullptr);
  return s == NATS_OK ? Status::success() : Status::failure(s, "natsMsg_Term");
}

Result<DeliveryInfo> Msg::delivery_info() const {
  jsMsgMetaData* meta = nullptr;
  natsStatus s = natsMsg_GetMetaData(&meta, m_);
  if (s != NATS_OK) return Status::failure(s, "natsMsg_GetMetaData");
  DeliveryInfo info{meta->Sequence.Stream, meta->Sequence.Consumer, meta->NumDelivered,
                    meta->NumPending, meta->Timestamp};
  jsMsgMetaData_Destroy(meta);
  return info;
}

}  // namespace oms::nats
