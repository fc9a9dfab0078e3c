import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console's build: served by Tributary under /console/ (scripts/build-console.mjs builds it
 * into dist/console). For work on the console itself, `npx vite console` serves it with live
 * reload and forwards API calls to a Tributary on localhost:4000.
 */
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    // NOTE: no inlined assets (data: URLs) and no inline scripts: the CSP allows neither for scripts.
    assetsInlineLimit: 0,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/graphql': { target: 'http://localhost:4000', ws: true },
      '/apim-token-service': 'http://localhost:4000',
      '/files': 'http://localhost:4000',
    },
  },
});
