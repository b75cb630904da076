// Starts a throw-away nats-server (JetStream on, file store in a temp dir)
// on a free loopback port for tests and the benchmark. Header-only test
// support; not part of the production libraries.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace oms::testing {

inline int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline bool tcp_connectable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class NatsServer {
 public:
  static constexpr const char* kDefaultBinary = "/usr/sbin/nats-server";

  static bool available(const char* binary = kDefaultBinary) { return ::access(binary, X_OK) == 0; }

  explicit NatsServer(const char* binary = kDefaultBinary) : binary_(binary) {
    char tmpl[] = "/tmp/oms-nats-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    port_ = free_tcp_port();
    start();
  }

  // (Re)starts the server on the same port and store directory.
  bool start() {
    if (pid_ > 0) return ready_;
    ready_ = false;
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv_s = {binary_, "-a", "127.0.0.1", "-p", port, "-js", "-sd", dir_};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    // Silence the server's log unless asked for it.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (std::getenv("OMS_TEST_NATS_LOG") == nullptr) {
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    if (posix_spawn(&pid_, binary_.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    if (pid_ <= 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (tcp_connectable(port_)) { ready_ = true; break; }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ready_;
  }

  ~NatsServer() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string binary_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  std::string dir_;
};

}  // namespace oms::testing
