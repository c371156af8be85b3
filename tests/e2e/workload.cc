// A process that does what an MCP server's tool call might: work in a
// directory by relative paths, create/rename/delete a file, connect out over
// TCP, resolve a name over UDP, start a child. The e2e test runs it under
// agentwatchd and checks what the daemon reports.
//
// usage: aw-e2e-workload DIR PORT DNS_SERVER DNS_NAME
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int Die(const char* what) {
  perror(what);
  return 2;
}

std::vector<unsigned char> Query(const std::string& name) {
  std::vector<unsigned char> q = {0x10, 0x01, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('.', i);
    if (j == std::string::npos) j = name.size();
    q.push_back(static_cast<unsigned char>(j - i));
    q.insert(q.end(), name.begin() + i, name.begin() + j);
    i = j + 1;
  }
  q.insert(q.end(), {0, 0, 16, 0, 1});  // TXT
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s DIR PORT DNS_SERVER DNS_NAME\n", argv[0]);
    return 2;
  }
  if (chdir(argv[1]) != 0) return Die("chdir");
  int fd = open("notes.txt", O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return Die("open");
  if (write(fd, "secret\n", 7) != 7) return Die("write");
  close(fd);
  if (rename("notes.txt", "notes.old") != 0) return Die("rename");
  if (unlink("notes.old") != 0) return Die("unlink");

  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(atoi(argv[2])));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return Die("connect");
  const char msg[] = "exfil-test-payload";
  if (send(s, msg, sizeof(msg) - 1, 0) != sizeof(msg) - 1) return Die("send");
  close(s);

  auto q = Query(argv[4]);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in da{};
  da.sin_family = AF_INET;
  da.sin_port = htons(53);
  if (inet_pton(AF_INET, argv[3], &da.sin_addr) != 1) return Die("dns server");
  if (sendto(u, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&da),
             sizeof(da)) < 0)
    return Die("sendto");
  close(u);

  pid_t c = fork();
  if (c == 0) {
    execl("/bin/sh", "sh", "-c", "exit 0", static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(c, &st, 0);
  return 3;
}
