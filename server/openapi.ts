// The OpenAPI 3.1 document (GET /api/openapi.json), generated from the route table of config/api.ts: the same zod
// schemas the server validates requests with and the UI parses answers with, so it cannot drift from the code.
// Requests are described as the server accepts them (zod input), answers as it sends them (zod output).
// The few endpoints outside the JSON API (metrics, WebSockets, this document's page) are described here.
import { z } from 'zod';
import { API, errorBodySchema, splitRoute, type RouteContract } from '../config/api.ts';

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content', 400: 'Invalid request: the error names the field', 401: 'Login required',
  403: 'Not allowed for this role', 404: 'Not found', 409: 'Conflicts with the current state', 413: 'Too large', 429: 'Too many attempts',
};

/** z.toJSONSchema without the per-schema `$schema` (the document's jsonSchemaDialect says it once) */
function schema(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

/** `/api/incidents/:id` -> `/api/incidents/{id}` */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function parameters(where: 'path' | 'query', s: z.ZodType | undefined): Json[] {
  if (!s) return [];
  const js = schema(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: p,
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
  }));
}

/** Who may call a route, in words and as OpenAPI security requirements, by the contract's `auth`. */
const WHO: Record<RouteContract['auth'], string> = {
  none: 'No login.',
  session: 'Any logged-in role (a carrier account sees its own carrier only).',
  agent: "An agent's own token (Authorization: Bearer <token>, X-Agent-Id: <id>).",
};
const SECURITY: Record<RouteContract['auth'], Json[]> = {
  none: [],
  session: [{ session: [] }, { apiToken: [] }],
  agent: [{ agentToken: [] }],
};

function operation(key: string, c: RouteContract): Json {
  const status = c.status ?? 200;
  const responses: Json = {};
  if (c.response === null) responses[status] = { description: STATUS_TEXT[status] ?? 'OK' };
  else if (c.response === 'file')
    responses[status] = {
      description: 'The file, as a download (Content-Disposition: attachment)',
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    };
  else responses[status] = { description: STATUS_TEXT[status] ?? 'OK', content: { 'application/json': { schema: schema(c.response, 'output') } } };
  const errors = new Set(c.errors ?? []);
  if (c.auth !== 'none') errors.add(401);
  if (c.roles) errors.add(403);
  for (const e of [...errors].sort()) responses[e] = { description: STATUS_TEXT[e] ?? 'Refused', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const who = c.roles ? `Roles: ${c.roles.join(', ')}.` : WHO[c.auth];
  return {
    operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, ''),
    summary: c.summary,
    description: who,
    tags: [key.split(' ')[1]!.split('/')[2] ?? 'api'],
    security: SECURITY[c.auth],
    ...(c.roles ? { 'x-roles': c.roles } : {}),
    parameters: [...parameters('path', c.params), ...parameters('query', c.query)],
    ...(c.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(c.body, 'input') } } } } : {}),
    responses,
  };
}

/** Endpoints outside the JSON API, for completeness (a client generator skips the WebSockets). */
const OTHER: Record<string, Json> = {
  'GET /metrics': {
    operationId: 'metrics',
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description: 'Open to the addresses in metrics.allow (default: this machine), or with `Authorization: Bearer <metrics.token>`.',
    tags: ['operations'],
    security: [{ metricsToken: [] }, {}],
    responses: {
      200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
      403: { description: 'Address not allowed and no valid token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  },
  'GET /ws/agent': {
    operationId: 'agentSocket',
    summary: 'Agent WebSocket (config/wire.ts: hello, plan, batch, ack, heartbeat)',
    description: 'Upgrade with `Authorization: Bearer <agent token>` and `X-Agent-Id: <id>`.',
    tags: ['websocket'],
    security: [{ agentToken: [] }],
    responses: { 101: { description: 'Switching protocols' }, 401: { description: 'Unknown agent or wrong token' } },
  },
  'GET /ws/live': {
    operationId: 'liveSocket',
    summary: 'Live feed WebSocket for screens: a snapshot, then coalesced deltas and incidents (config/wire.ts)',
    tags: ['websocket'],
    security: [{ session: [] }, { apiToken: [] }],
    responses: { 101: { description: 'Switching protocols' }, 401: { description: 'Login required' } },
  },
  'POST /control/backup': {
    operationId: 'controlBackup',
    summary: 'Back up the data directory while running (used by `npm run ioc -- backup DIR`)',
    description: 'Loopback only, with `Authorization: Bearer <the token in <dataDir>/.control-token>`. Answers the staging directory written inside the data directory.',
    tags: ['operations'],
    security: [{ controlToken: [] }],
    responses: {
      200: { description: 'Written', content: { 'application/json': { schema: { type: 'object', properties: { dir: { type: 'string' }, manifest: { type: 'object' } }, required: ['dir', 'manifest'] } } } },
      403: { description: 'Not loopback or wrong token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      500: { description: 'The backup failed', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  },
  'GET /docs/api': {
    operationId: 'apiDocs',
    summary: 'This document as a readable page (no external resources)',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
};

export function buildOpenApi(version: string): Json {
  const paths: Record<string, Json> = {};
  const add = (key: string, op: Json) => {
    const [method, path] = splitRoute(key as keyof typeof API);
    (paths[openApiPath(path)] ??= {})[method.toLowerCase()] = op;
  };
  for (const [key, c] of Object.entries(API)) add(key, operation(key, c as RouteContract));
  for (const [key, op] of Object.entries(OTHER)) add(key, op);
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'IOC uptime monitor',
      version,
      description:
        'Network and public-service uptime of the communes of a province. Every refusal is `{ "error": "..." }`, the sentence starting with the field it is about. Times are epoch milliseconds unless a field says otherwise.',
    },
    paths,
    components: {
      schemas: { Error: schema(errorBodySchema, 'output') },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'ioc_session', description: 'Set by POST /api/auth/login' },
        apiToken: { type: 'http', scheme: 'bearer', description: '`<id>.<secret>` of an entry of apiTokens in the config' },
        agentToken: { type: 'http', scheme: 'bearer', description: "An agent's token, with its id in X-Agent-Id" },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'metrics.token of the config' },
        controlToken: { type: 'http', scheme: 'bearer', description: 'The token the running server writes to <dataDir>/.control-token' },
      },
    },
  };
}

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

/** The document as one self-contained HTML page: every operation, its access, parameters, body and answers. */
export function renderOpenApiHtml(doc: Json): string {
  const info = doc.info as { title: string; version: string; description: string };
  const ops: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const id = String(op.operationId);
      toc.push(`<li><a href="#${esc(id)}"><code>${method.toUpperCase()} ${esc(path)}</code></a> ${esc(op.summary)}</li>`);
      const params = (op.parameters as Json[] | undefined) ?? [];
      const body = (op.requestBody as { content: Record<string, { schema: Json }> } | undefined)?.content['application/json']?.schema;
      const responses = Object.entries(op.responses as Record<string, { description: string; content?: Record<string, { schema: Json }> }>);
      ops.push(`<section id="${esc(id)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}${op.description ? `<br><small>${esc(op.description)}</small>` : ''}</p>
${params.length ? `<h4>Parameters</h4><table>${params.map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? ', required' : ''}</td><td><code>${esc(JSON.stringify(p.schema))}</code></td></tr>`).join('')}</table>` : ''}
${body ? `<h4>Body</h4><details><summary>JSON Schema</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
<h4>Answers</h4><ul>${responses
        .map(([code, r]) => {
          const sch = r.content && Object.values(r.content)[0]?.schema;
          return `<li><b>${esc(code)}</b> ${esc(r.description)}${sch && !('$ref' in sch) ? `<details><summary>schema</summary><pre>${esc(JSON.stringify(sch, null, 2))}</pre></details>` : ''}</li>`;
        })
        .join('')}</ul>
</section>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} API ${esc(info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:0 auto;padding:1rem 1.5rem;color:#1d2733}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f6f8;padding:.6rem;overflow:auto;max-height:28rem}
section{border-top:1px solid #d8dee4;padding:.4rem 0}h3{margin:.6rem 0 .2rem}h4{margin:.5rem 0 .1rem;font-size:.9rem}
table{border-collapse:collapse}td{border:1px solid #d8dee4;padding:.15rem .4rem;vertical-align:top}
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:3px;color:#fff;font-size:.8rem;padding:.1rem .3rem;background:#57606a}
.get{background:#1f6feb}.post{background:#1a7f37}.patch{background:#9a6700}.delete{background:#cf222e}
</style></head><body>
<h1>${esc(info.title)} <small>API ${esc(info.version)}</small></h1>
<p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json"><code>/api/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}).</p>
<h2>Endpoints</h2><ul>${toc.join('')}</ul>
${ops.join('\n')}
</body></html>`;
}
