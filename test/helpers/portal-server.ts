// A public-service portal stand-in for test namespaces: one handler behind plain HTTP and any number of
// HTTPS listeners (each with its own certificate: valid, expired, soon-expiring). Started by
// test/helpers/netns.ts as `ip netns exec NS node --import tsx test/helpers/portal-server.ts '<json>'`;
// prints "ready" once every listener is up, and exits when its stdin closes (the test ended or died).
//
// Paths (the fault each one injects):
//   /ok               200, body contains the keyword
//   /wrong            200, body without the keyword
//   /503              503
//   /slow?ms=N        response head after N ms (default 2000): the server thinks, the network does not
//   /slow-body?ms=N   head at once, body after N ms: TTFB small, total large
//   /hang             accepts the request and never answers
//   /reset            TCP RST after reading the request
//   /redirect/N       302 -> /redirect/N-1 ... /redirect/0 is /ok
//   /loop, /loop-b    302 to each other
//   /to-https         301 -> https://<host>:<first https port>/ok
//   /go?to=PATH       302 -> PATH (e.g. a redirect into /slow, to see whose phases are reported)
//   /whoami           200, body = the client's address (to check source binding)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

interface PortalConfig {
  host: string;
  httpPort: number;
  https: { port: number; keyFile: string; certFile: string }[];
  keyword: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as PortalConfig;
const hanging = new Set<http.ServerResponse>();

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://portal');
  const ms = Number(url.searchParams.get('ms') ?? 2000);
  const page = () => void res.end(`<html><body><h1>${cfg.keyword}</h1></body></html>`);
  const redirect = (status: number, location: string) => {
    res.statusCode = status;
    res.setHeader('location', location);
    res.end();
    return undefined;
  };
  const m = /^\/redirect\/(\d+)$/.exec(url.pathname);
  if (m) return Number(m[1]) > 0 ? redirect(302, `/redirect/${Number(m[1]) - 1}`) : page();
  switch (url.pathname) {
    case '/ok':
      return page();
    case '/wrong':
      return void res.end('<html><body>Trang đang bảo trì</body></html>');
    case '/503':
      res.statusCode = 503;
      return void res.end('maintenance');
    case '/slow':
      return void setTimeout(page, ms);
    case '/slow-body':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.flushHeaders();
      return void setTimeout(page, ms);
    case '/hang':
      hanging.add(res);
      return;
    case '/reset':
      return void req.socket.resetAndDestroy();
    case '/loop':
      return redirect(302, '/loop-b');
    case '/loop-b':
      return redirect(302, '/loop');
    case '/to-https':
      return redirect(301, `https://${cfg.host}:${cfg.https[0]?.port}/ok`);
    case '/go':
      return redirect(302, url.searchParams.get('to') ?? '/ok');
    case '/whoami':
      return void res.end(req.socket.remoteAddress ?? '');
    default:
      res.statusCode = 404;
      return void res.end('not found');
  }
}

const servers: (http.Server | https.Server)[] = [http.createServer(handler)];
for (const h of cfg.https) servers.push(https.createServer({ key: readFileSync(h.keyFile), cert: readFileSync(h.certFile) }, handler));
const ports = [cfg.httpPort, ...cfg.https.map((h) => h.port)];

await Promise.all(
  servers.map(
    (s, i) =>
      new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(ports[i], cfg.host, () => resolve());
      }),
  ),
);
process.stdout.write('ready\n');

// stdin closing is the stop signal: no orphan survives a killed test run.
process.stdin.resume();
process.stdin.on('end', () => {
  for (const r of hanging) r.destroy();
  for (const s of servers) s.closeAllConnections();
  process.exit(0);
});
