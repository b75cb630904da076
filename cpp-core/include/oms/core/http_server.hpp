// Tiny blocking HTTP/1.1 server for /metrics, /healthz and /readyz. One
// thread, one request per connection (Connection: close): scrape traffic
// only, never on the trading path.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace oms::core {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(std::string_view method, std::string_view path)>;

  HttpServer() = default;
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0 picks a free one, see port()) and starts the
  // serving thread. `on_thread_exit` runs on that thread as it ends (e.g.
  // nats_ReleaseThreadMemory when handlers touch NATS). Returns 0 or errno.
  int start(const std::string& host, int port, Handler handler,
            std::function<void()> on_thread_exit = {});
  void stop();
  int port() const { return port_; }

 private:
  void serve();
  void handle(int fd);

  Handler handler_;
  std::function<void()> on_thread_exit_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: stop() wakes the poll() in serve()
  int port_ = 0;
  std::thread thread_;
};

}  // namespace oms::core
