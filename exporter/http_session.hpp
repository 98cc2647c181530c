#pragma once
// Internal to the HTTP server: the connections themselves. On a TLS port a detector peeks at the
// first bytes and hands the socket to a TLS session, or to a plain one that answers only the open
// paths; on a plain port a plain session reads requests, checks basic auth and answers.
#include <boost/asio/ip/tcp.hpp>

#include "exporter/connection.hpp"

namespace pgpulse::exporter {

// Serves an accepted socket until it closes. The connection enrolls itself in
// state.connections (the acceptor may evict it) and owns itself through its pending handlers.
// Call from the acceptor; the work runs on the socket's executor (a strand per connection).
void start_connection(ServerState& state, boost::asio::ip::tcp::socket socket);

}  // namespace pgpulse::exporter
