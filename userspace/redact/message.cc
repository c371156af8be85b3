// Redaction of whole messages and lists: every field scanned once, and a
// value found in any field masked in all of them.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <set>
#include <string>
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

// Shorter strings hold no secret the catalogue can tell (a name, a
// separator and a value of kMinValue bytes at least).
constexpr size_t kMinText = 5;

}  // namespace

void Redactor::RedactMessage(google::protobuf::Message* m) const {
  // Each field scanned once; a value found in any field is then masked
  // wherever it appears in all of them.
  std::vector<std::vector<Finding>> found;
  std::vector<std::string> values;
  std::set<std::string, std::less<>> seen;
  ForEachStringRead(*m, [&](const std::string& s) {
    found.emplace_back();
    if (s.size() < kMinText) return;
    found.back() = Find(s);  // the memo: event fields repeat (a call in its chain entry)
    for (const auto& f : found.back()) {
      if (seen.insert(f.value).second) values.push_back(f.value);
    }
  });
  if (values.empty()) return;
  size_t i = 0;
  ForEachString(m, [&](std::string* s) {
    std::vector<Finding>& f = found[i++];
    if (s->size() < kMinText) return false;
    AddKnown(*s, values, &f);
    if (f.empty()) return false;
    f = Clean(*s, std::move(f));
    if (f.empty()) return false;
    *s = Render(*s, f, 0, SIZE_MAX, nullptr);
    NoteClean(*s);
    return true;
  });
}

std::vector<std::string> Redactor::RedactAll(std::vector<std::string> texts) const {
  std::vector<std::vector<Finding>> found(texts.size());
  std::vector<std::string> values;
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < texts.size(); ++i) {
    FindIn(texts[i], &found[i]);
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
