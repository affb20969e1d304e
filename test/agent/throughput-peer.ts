// A speed test server for test namespaces: the real routes (server/routes/speedtest.ts) behind a fixed agent token.
// Started as `ip netns exec NS node --import tsx test/agent/throughput-peer.ts <host> <port> <token>`; prints
// "ready", then one JSON line per finished transfer (what the server really moved), and exits when stdin closes.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { speedtestRoutes } from '../../server/routes/speedtest.ts';

const [host = '127.0.0.1', port = '8080', token = 'tok'] = process.argv.slice(2);
const app = new Hono();
app.route(
  '/api/agent/speedtest',
  speedtestRoutes({
    agent: async (c, next) => {
      if (c.req.header('authorization') !== `Bearer ${token}`) return c.json({ error: 'unknown agent id or wrong token' }, 401);
      c.set('agentId', c.req.header('x-agent-id') ?? '');
      await next();
    },
    onTransfer: (t) => process.stdout.write(`${JSON.stringify(t)}\n`),
  }),
);
const server = serve({ fetch: app.fetch, hostname: host, port: Number(port) }, () => process.stdout.write('ready\n'));
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  process.exit(0);
});
