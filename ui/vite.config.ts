// Vite config for the operator UI. It lives in ui/ because the top-level layout is fixed;
// run with `vite build --config ui/vite.config.ts` from the repo root.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const uiRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const backend = process.env.IOC_DEV_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: uiRoot,
  // Served by the Hono server at /, assets under /assets.
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // Offline IOC network: keep everything bundled locally, no external URLs.
    assetsInlineLimit: 4096,
    chunkSizeWarningLimit: 700,
    // the operators' app, and the public status page (/status) on its own
    rollupOptions: { input: { index: fileURLToPath(new URL('index.html', import.meta.url)), status: fileURLToPath(new URL('status.html', import.meta.url)) } },
  },
  server: {
    // The UI imports config/wire.ts (outside ui/).
    fs: { allow: [repoRoot] },
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend, ws: true, changeOrigin: false },
    },
  },
});
