#include "daemon/daemon_report.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace pgpulse::daemon {

namespace beast = boost::beast;
namespace http = beast::http;

DaemonReport fetch_daemon_report(const std::string& url) {
  DaemonReport out;
  std::string rest = url.substr(url.find("//") + 2);
  std::string authority = rest.substr(0, rest.find('/'));
  auto colon = authority.rfind(':');
  std::string host = colon == std::string::npos ? authority : authority.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> request{http::verb::get, "/diagnose", 11};
    request.set(http::field::host, authority);
    request.set(http::field::user_agent, "pgpulse-check");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream, buffer, parser);
    auto response = parser.release();
    if (response.result_int() != 200) {
      out.error = "the daemon at " + url + " answered HTTP " +
                  std::to_string(response.result_int()) + " for /diagnose";
      return out;
    }
    out.reports = analysis::reports_from_json(nlohmann::json::parse(response.body()));
  } catch (const std::exception& error) {
    out.error = "cannot read /diagnose from the daemon at " + url + ": " + error.what();
  }
  return out;
}

}  // namespace pgpulse::daemon
