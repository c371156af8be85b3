#include "pipeline/trace_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "testing/events.h"

namespace agentwatch {
namespace {

std::string TempPath() {
  char buf[] = "/tmp/aw-trace-XXXXXX";
  int fd = mkstemp(buf);
  close(fd);
  return buf;
}

TEST(TraceFileTest, RoundTrip) {
  std::string path = TempPath();
  {
    TraceWriter w;
    ASSERT_EQ(w.Open(path), "");
    for (int i = 0; i < 1000; ++i) w.Write(events::FileOpen("/tmp/f" + std::to_string(i)).Pid(i));
    w.Close();
    EXPECT_EQ(w.written(), 1000u);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // captured content: owner only
  }
  TraceReader r;
  ASSERT_EQ(r.Open(path), "");
  v1::Event e;
  std::string err;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(r.Next(&e, &err), TraceReader::Result::kOk) << err;
    EXPECT_EQ(e.process().pid(), static_cast<uint32_t>(i));
    EXPECT_EQ(e.file().path(), "/tmp/f" + std::to_string(i));
  }
  EXPECT_EQ(r.Next(&e, &err), TraceReader::Result::kEnd);
  unlink(path.c_str());
}

TEST(TraceFileTest, TruncatedTailIsReportedAfterGoodRecords) {
  std::string path = TempPath();
  {
    TraceWriter w;
    ASSERT_EQ(w.Open(path), "");
    for (int i = 0; i < 3; ++i) w.Write(events::Event().Pid(i + 1).Exe(std::string(100, 'x')));
  }
  // Cut the last record in half.
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(truncate(path.c_str(), data.size() - 50), 0);
  TraceReader r;
  ASSERT_EQ(r.Open(path), "");
  v1::Event e;
  std::string err;
  EXPECT_EQ(r.Next(&e, &err), TraceReader::Result::kOk);
  EXPECT_EQ(r.Next(&e, &err), TraceReader::Result::kOk);
  EXPECT_EQ(r.Next(&e, &err), TraceReader::Result::kCorrupt);
  EXPECT_NE(err.find("file ends inside"), std::string::npos) << err;
  unlink(path.c_str());
}

TEST(TraceFileTest, RejectsOtherFiles) {
  std::string path = TempPath();
  {
    std::ofstream o(path);
    o << "{\"not\": \"a trace\"}\n";
  }
  TraceReader r;
  EXPECT_NE(r.Open(path).find("bad magic"), std::string::npos);
  unlink(path.c_str());
}

TEST(TraceFileTest, GarbageAfterMagicIsCorruptNotCrash) {
  std::string path = TempPath();
  {
    std::ofstream o(path, std::ios::binary);
    o << kTraceMagic << "\xff\xff\xff\xff\xff\xff\x01garbage";
  }
  TraceReader r;
  ASSERT_EQ(r.Open(path), "");
  v1::Event e;
  std::string err;
  EXPECT_EQ(r.Next(&e, &err), TraceReader::Result::kCorrupt);
  unlink(path.c_str());
}

}  // namespace
}  // namespace agentwatch
