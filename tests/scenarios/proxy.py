#!/usr/bin/env python3
"""A TCP forwarder that gives each application replica its own client address.

    proxy.py UPSTREAM_HOST UPSTREAM_PORT SOURCE_ADDRESS...

For each SOURCE_ADDRESS (127.0.0.11, 127.0.0.12, ...) it listens on a free port of 127.0.0.1 and
forwards every connection to UPSTREAM_HOST:UPSTREAM_PORT from a socket bound to SOURCE_ADDRESS,
so PostgreSQL's pg_stat_activity.client_addr tells the replicas apart as if they ran on other
hosts. (Connecting *to* 127.0.0.11 is not enough: the kernel would still pick 127.0.0.1 as the
source.) Prints one JSON line {"SOURCE_ADDRESS": port, ...} once listening, then runs until
killed. A connection whose upstream cannot be reached is closed at once, as a refused connect.
"""
import asyncio
import json
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


def handler(upstream_host, upstream_port, source):
    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(
                upstream_host, upstream_port, local_addr=(source, 0))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    return handle


async def main(upstream_host, upstream_port, sources):
    ports = {}
    servers = []
    for source in sources:
        server = await asyncio.start_server(handler(upstream_host, upstream_port, source),
                                            "127.0.0.1", 0, backlog=256)
        servers.append(server)
        ports[source] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
    except KeyboardInterrupt:
        pass
