// Redaction of whole messages and lists: every field scanned once, and a
// value found in any field masked in all of them.
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include "redact/redactor.h"

namespace agentwatch {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Calls fn on every string field value (singular, repeated, map values),
// recursively through messages.
template <typename Fn>
void ForEachString(Message* m, const Fn& fn) {
  const Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && f->type() != FieldDescriptor::TYPE_BYTES) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) {
          std::string v = r->GetRepeatedString(*m, f, i);
          if (fn(&v)) r->SetRepeatedString(m, f, i, std::move(v));
        }
      } else {
        std::string v = r->GetString(*m, f);
        if (fn(&v)) r->SetString(m, f, std::move(v));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) ForEachString(r->MutableRepeatedMessage(m, f, i), fn);
      } else {
        ForEachString(r->MutableMessage(m, f), fn);
      }
    }
  }
}

// The same, reading only: fn(const std::string&) on every string field
// value, without copying it.
template <typename Fn>
void ForEachStringRead(const Message& m, const Fn& fn) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  std::string scratch;
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && f->type() != FieldDescriptor::TYPE_BYTES) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) fn(r->GetRepeatedStringReference(m, f, i, &scratch));
      } else {
        fn(r->GetStringReference(m, f, &scratch));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) ForEachStringRead(r->GetRepeatedMessage(m, f, i), fn);
      } else {
        ForEachStringRead(r->GetMessage(m, f), fn);
      }
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
