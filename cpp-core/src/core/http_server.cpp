#include "oms/core/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace oms::core {

namespace {
const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 400: return "Bad Request";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}
}  // namespace

int HttpServer::start(const std::string& host, int port, Handler handler,
                      std::function<void()> on_thread_exit) {
  handler_ = std::move(handler);
  on_thread_exit_ = std::move(on_thread_exit);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return errno;
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return EINVAL;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return e;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] {
    serve();
    if (on_thread_exit_) on_thread_exit_();
  });
  return 0;
}

void HttpServer::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void HttpServer::serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }
}

void HttpServer::handle(int fd) {
  // Read until the end of the headers, bounded in size and time so a slow
  // or malicious client cannot wedge the thread for long.
  char buf[4096];
  size_t used = 0;
  while (used < sizeof buf - 1) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    ssize_t r = ::recv(fd, buf + used, sizeof buf - 1 - used, 0);
    if (r <= 0) return;
    used += static_cast<size_t>(r);
    buf[used] = '\0';
    if (std::strstr(buf, "\r\n\r\n") || std::strstr(buf, "\n\n")) break;
  }
  std::string_view req(buf, used);
  HttpResponse resp;
  const size_t sp1 = req.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : req.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    resp = {400, "text/plain; charset=utf-8", "bad request\n"};
  } else {
    std::string_view method = req.substr(0, sp1);
    std::string_view path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    resp = handler_(method, path);
    if (method == "HEAD") resp.body.clear();
  }
  char head[256];
  int hn = std::snprintf(head, sizeof head,
                         "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         resp.status, reason(resp.status), resp.content_type.c_str(), resp.body.size());
  write_all(fd, head, static_cast<size_t>(hn));
  write_all(fd, resp.body.data(), resp.body.size());
}

}  // namespace oms::core
