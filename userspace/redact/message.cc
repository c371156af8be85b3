// Redaction of whole messages and lists: every field scanned once, and a
// value found in any field masked in all of them.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "redact/redactor.h"

namespace agentwatch {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The fields of a message type that can hold text: string fields (not
// bytes) and message fields whose type has such a field, at any depth.
// Worked out once per type and thread (published events are walked for
// every event, and most of their fields are numbers).
const std::vector<const FieldDescriptor*>& TextFields(const Descriptor* d) {
  thread_local std::unordered_map<const Descriptor*, std::vector<const FieldDescriptor*>> plans;
  thread_local std::unordered_set<const Descriptor*> open;  // being worked out (recursive types)
  if (auto it = plans.find(d); it != plans.end()) return it->second;
  open.insert(d);
  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (f->type() != FieldDescriptor::TYPE_BYTES) fields.push_back(f);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // A type that refers back to one being worked out may hold text.
      const Descriptor* t = f->message_type();
      if (open.count(t) > 0 || !TextFields(t).empty()) fields.push_back(f);
    }
  }
  open.erase(d);
  return plans.emplace(d, std::move(fields)).first->second;
}

// Calls fn on every string field value (singular, repeated, map keys and
// values), recursively through messages, in field order.
template <typename Fn>
void ForEachString(Message* m, const Fn& fn) {
  const Reflection* r = m->GetReflection();
  for (const FieldDescriptor* f : TextFields(m->GetDescriptor())) {
    const bool text = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    if (f->is_repeated()) {
      const int n = r->FieldSize(*m, f);
      for (int i = 0; i < n; ++i) {
        if (text) {
          std::string v = r->GetRepeatedString(*m, f, i);
          if (fn(&v)) r->SetRepeatedString(m, f, i, std::move(v));
        } else {
          ForEachString(r->MutableRepeatedMessage(m, f, i), fn);
        }
      }
    } else if (text) {
      // An unset string reads as "" (visited as the read walk does).
      std::string v = r->GetString(*m, f);
      if (fn(&v)) r->SetString(m, f, std::move(v));
    } else if (r->HasField(*m, f)) {
      ForEachString(r->MutableMessage(m, f), fn);
    }
  }
}

// The same, reading only: fn(const std::string&) on every string field
// value, without copying it.
template <typename Fn>
void ForEachStringRead(const Message& m, const Fn& fn) {
  const Reflection* r = m.GetReflection();
  std::string scratch;
  for (const FieldDescriptor* f : TextFields(m.GetDescriptor())) {
    const bool text = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    if (f->is_repeated()) {
      const int n = r->FieldSize(m, f);
      for (int i = 0; i < n; ++i) {
        if (text) {
          fn(r->GetRepeatedStringReference(m, f, i, &scratch));
        } else {
          ForEachStringRead(r->GetRepeatedMessage(m, f, i), fn);
        }
      }
    } else if (text) {
      fn(r->GetStringReference(m, f, &scratch));  // "" when unset: no HasField
    } else if (r->HasField(m, f)) {
      ForEachStringRead(r->GetMessage(m, f), fn);
    }
  }
}

// A type's fields by number, for the walk over its wire form (empty past
// kMaxNumber: such a type is walked by reflection).
constexpr int kMaxNumber = 4096;
const std::vector<const FieldDescriptor*>& FieldsByNumber(const Descriptor* d) {
  thread_local std::unordered_map<const Descriptor*, std::vector<const FieldDescriptor*>> tables;
  if (auto it = tables.find(d); it != tables.end()) return it->second;
  int most = 0;
  for (int i = 0; i < d->field_count(); ++i) most = std::max(most, d->field(i)->number());
  std::vector<const FieldDescriptor*> by_number;
  if (most <= kMaxNumber) {
    by_number.resize(static_cast<size_t>(most) + 1, nullptr);
    for (int i = 0; i < d->field_count(); ++i) by_number[d->field(i)->number()] = d->field(i);
  }
  return tables.emplace(d, std::move(by_number)).first->second;
}

bool ReadVarint(std::string_view w, size_t* i, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *i < w.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(w[(*i)++]);
    *v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// fn(std::string_view) on every string field value in wire, the
// serialized form of a message of type d, recursively; false when wire is
// not what its serializer writes or a type is not in the tables (then the
// caller walks by reflection).
template <typename Fn>
bool ForEachWireString(std::string_view wire, const Descriptor* d, const Fn& fn, int depth) {
  const std::vector<const FieldDescriptor*>& fields = FieldsByNumber(d);
  if (fields.empty() || depth > 64) return false;
  size_t i = 0;
  while (i < wire.size()) {
    uint64_t tag = 0, v = 0;
    if (!ReadVarint(wire, &i, &tag)) return false;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(wire, &i, &v)) return false;
        break;
      case 1:
      case 5: {
        const size_t len = (tag & 7) == 1 ? 8 : 4;
        if (wire.size() - i < len) return false;
        i += len;
        break;
      }
      case 2: {
        if (!ReadVarint(wire, &i, &v) || v > wire.size() - i) return false;
        const std::string_view value = wire.substr(i, v);
        i += v;
        const uint64_t number = tag >> 3;
        const FieldDescriptor* f = number < fields.size() ? fields[number] : nullptr;
        if (f == nullptr) break;  // unknown fields are not walked by reflection either
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          if (f->type() != FieldDescriptor::TYPE_BYTES) fn(value);
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (!ForEachWireString(value, f->message_type(), fn, depth + 1)) return false;
        }
        break;
      }
      default:
        return false;  // groups: not in proto3
    }
  }
  return true;
}

// Shorter strings hold no secret the catalogue can tell (a name, a
// separator and a value of kMinValue bytes at least).
constexpr size_t kMinText = 5;

}  // namespace

void Redactor::RedactMessage(google::protobuf::Message* m) const {
  // Each field scanned once; a value found in any field is then masked
  // wherever it appears in all of them. The fields are read from the
  // message's wire form (its generated serializer is far cheaper than
  // reflection over every field of every published event), by reflection
  // when that cannot be read.
  std::vector<std::string> values;
  std::set<std::string, std::less<>> seen;
  // The string before when it is a flag (argv's "--api-key" before its
  // value), copied: a reflection walk's strings may share one buffer.
  std::string prev;
  auto note = [&](std::string_view s) {
    if (!prev.empty() && !s.empty()) {
      std::vector<Finding> after;
      FindAfterFlag(prev, s, &after);
      for (const auto& f : after) {
        if (seen.insert(f.value).second) values.push_back(f.value);
      }
    }
    if (s.size() >= 2 && s.size() <= 64 && s[0] == '-') {
      prev.assign(s);
    } else {
      prev.clear();
    }
    if (s.size() < kMinText) return;
    for (const auto& f :
         Find(s, true)) {  // the memo: event fields repeat (a call in its chain entry)
      if (seen.insert(f.value).second) values.push_back(f.value);
    }
  };
  thread_local std::string wire;
  wire.clear();
  if (!m->SerializeToString(&wire) || !ForEachWireString(wire, m->GetDescriptor(), note, 0)) {
    values.clear();
    seen.clear();
    prev.clear();
    ForEachStringRead(*m, [&](const std::string& s) { note(s); });
  }
  if (values.empty()) return;
  ForEachString(m, [&](std::string* s) {
    // A short string is masked only when it is a value found (a flag's
    // short argument).
    if (s->size() < kMinText && !seen.count(*s)) return false;
    std::vector<Finding> f = Find(*s);
    AddKnown(*s, values, &f);
    if (f.empty()) return false;
    f = Clean(*s, std::move(f));
    if (f.empty()) return false;
    *s = Render(*s, f, 0, SIZE_MAX, nullptr);
    NoteClean(*s);
    return true;
  });
}

void Redactor::FindAfterFlag(std::string_view flag, std::string_view value,
                             std::vector<Finding>* out) const {
  constexpr size_t kMaxFlag = 64;
  if (flag.size() < 2 || flag.size() > kMaxFlag || flag[0] != '-' || value.empty() ||
      value[0] == '-' || flag.find_first_of("= \t\n") != std::string_view::npos)
    return;
  const size_t name = flag.find_first_not_of('-');
  if (name == std::string_view::npos) return;
  std::string joined(flag.substr(name));
  joined += '=';
  const size_t at = joined.size();
  joined.append(value);
  for (Finding& f : Find(joined)) {
    if (f.begin < at) continue;
    f.begin -= at;
    f.end -= at;
    if (f.match_begin != SIZE_MAX) f.match_begin = f.match_begin >= at ? f.match_begin - at : 0;
    out->push_back(std::move(f));
  }
}

std::vector<std::string> Redactor::RedactAll(std::vector<std::string> texts) const {
  std::vector<std::vector<Finding>> found(texts.size());
  std::vector<std::string> values;
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < texts.size(); ++i) {
    FindIn(texts[i], &found[i]);
    if (i > 0) FindAfterFlag(texts[i - 1], texts[i], &found[i]);
    for (const auto& f : found[i]) {
      if (seen.insert(f.value).second) values.push_back(f.value);
    }
  }
  if (values.empty()) return texts;
  for (size_t i = 0; i < texts.size(); ++i) {
    AddKnown(texts[i], values, &found[i]);
    std::vector<Finding> f = Clean(texts[i], std::move(found[i]));
    if (!f.empty()) texts[i] = Render(texts[i], f, 0, SIZE_MAX, nullptr);
  }
  return texts;
}

}  // namespace agentwatch
