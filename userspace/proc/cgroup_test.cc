#include "proc/cgroup.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace agentwatch {
namespace {

constexpr char kId[] =
    "4f1a5c2b9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

struct Sample {
  const char* name;
  std::string path;
  const char* runtime;
  bool has_container;
  const char* pod_uid;
};

TEST(CgroupTest, RuntimesAndDrivers) {
  const std::string id = kId;
  const Sample samples[] = {
      {"docker cgroupfs", "/docker/" + id, "docker", true, ""},
      {"docker systemd", "/system.slice/docker-" + id + ".scope", "docker",
       true, ""},
      {"containerd k8s cgroupfs",
       "/kubepods/burstable/pod6b5f2a1c-3d4e-4f50-8a9b-0c1d2e3f4a5b/" + id,
       "containerd", true, "6b5f2a1c-3d4e-4f50-8a9b-0c1d2e3f4a5b"},
      {"containerd k8s systemd",
       "/kubepods.slice/kubepods-burstable.slice/"
       "kubepods-burstable-pod6b5f2a1c_3d4e_4f50_8a9b_0c1d2e3f4a5b.slice/"
       "cri-containerd-" + id + ".scope",
       "containerd", true, "6b5f2a1c-3d4e-4f50-8a9b-0c1d2e3f4a5b"},
      {"cri-o systemd",
       "/kubepods.slice/kubepods-besteffort.slice/"
       "kubepods-besteffort-pod01234567_89ab_cdef_0123_456789abcdef.slice/"
       "crio-" + id + ".scope",
       "cri-o", true, "01234567-89ab-cdef-0123-456789abcdef"},
      {"guaranteed pod systemd",
       "/kubepods.slice/kubepods-pod01234567_89ab_cdef_0123_456789abcdef.slice/"
       "cri-containerd-" + id + ".scope",
       "containerd", true, "01234567-89ab-cdef-0123-456789abcdef"},
      {"podman rootful", "/machine.slice/libpod-" + id + ".scope", "podman",
       true, ""},
      {"podman rootless",
       "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" +
           id + ".scope/container",
       "podman", true, ""},
      {"podman conmon", "/machine.slice/libpod-conmon-" + id + ".scope", "",
       false, ""},
      {"containerd plain", "/system.slice/containerd.service/" + id,
       "containerd", true, ""},
      {"systemd service", "/system.slice/sshd.service", "", false, ""},
      {"user session", "/user.slice/user-1000.slice/session-3.scope", "",
       false, ""},
      {"root", "/", "", false, ""},
      {"short hex is not an id", "/docker/abc123", "", false, ""},
  };
  for (const auto& s : samples) {
    ContainerIdentity c = ParseCgroupPath(s.path);
    EXPECT_EQ(c.runtime, s.runtime) << s.name;
    EXPECT_EQ(c.container_id, s.has_container ? id : "") << s.name;
    EXPECT_EQ(c.pod_uid, s.pod_uid) << s.name;
  }
}

TEST(CgroupTest, UnifiedLine) {
  EXPECT_EQ(UnifiedCgroupFromProcFile(
                "12:cpu:/x\n0::/system.slice/a.service\n"),
            "/system.slice/a.service");
  EXPECT_EQ(UnifiedCgroupFromProcFile("1:name=systemd:/\n"), "");
}

// Whole /proc/PID/cgroup files in the forms each runtime and cgroup driver
// writes (testdata/cgroup/*.txt), each with its expected identity on the
// first line: "# expect runtime=R container=ID pod=UID".
TEST(CgroupTest, ProcFileSamples) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(AW_TESTDATA "/cgroup")) {
    std::ifstream f(entry.path());
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    const std::string first = text.substr(0, text.find('\n'));
    std::map<std::string, std::string> want;
    std::istringstream words(first.substr(first.find("expect") + 6));
    std::string w;
    while (words >> w) {
      const size_t eq = w.find('=');
      ASSERT_NE(eq, std::string::npos) << entry.path();
      want[w.substr(0, eq)] = w.substr(eq + 1);
    }
    ASSERT_EQ(want.size(), 3u) << entry.path();
    const ContainerIdentity c = ParseCgroupPath(UnifiedCgroupFromProcFile(text));
    EXPECT_EQ(c.runtime, want["runtime"]) << entry.path();
    EXPECT_EQ(c.container_id, want["container"]) << entry.path();
    EXPECT_EQ(c.pod_uid, want["pod"]) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 12);
}

TEST(CgroupTest, ResolverFindsOwnCgroup) {
  struct stat st {};
  const std::string root = DefaultCgroup2Root();
  ASSERT_NE(root, "") << "no cgroup v2 hierarchy mounted";
  CgroupResolver r;
  std::string self;
  {
    FILE* f = fopen("/proc/self/cgroup", "r");
    ASSERT_NE(f, nullptr);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    self = UnifiedCgroupFromProcFile(std::string_view(buf, n));
  }
  ASSERT_EQ(stat((root + self).c_str(), &st), 0);
  EXPECT_EQ(r.Resolve(st.st_ino, getpid()), self);
  // Unknown pid: found by scanning.
  CgroupResolver r2;
  EXPECT_EQ(r2.Resolve(st.st_ino, 0), self);
  EXPECT_EQ(r2.Resolve(0xFFFFFFFFFFull, 0), "");
}

}  // namespace
}  // namespace agentwatch
