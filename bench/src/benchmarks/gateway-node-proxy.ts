/**
 * Child of the gateway benchmark: the floor of any Node.js gateway, a bare `node:http` forwarder
 * with no policy at all. It reads the request body, sends it to the upstream on a keep-alive agent
 * (one POST, same path, same body), and pipes the answer back with the upstream's status and
 * content type, streamed or not. What it adds over `direct` is the cost of one more process hop
 * (two sockets, two parses, two wake-ups), which every gateway on this machine pays before it does
 * anything of its own. argv: <upstream port>. Sends `{ port }` over IPC once listening.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort)) throw new Error('usage: gateway-node-proxy.ts <upstream port>');

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const up = request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: 'POST',
        path: req.url,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: req.headers.authorization ?? '',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
        answer.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    up.end(body);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
