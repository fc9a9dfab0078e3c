// How Tributary's TypeScript is compiled for Node.js, shared by the build (dist/) and the
// benchmarks (scripts/run-bench.mjs), so that a benchmark runs the code users run.
export const NODE_BUNDLE = {
  bundle: true,
  // Dependencies stay in node_modules: PGlite finds its WebAssembly next to its own module.
  packages: 'external',
  // Dynamic imports become separate chunks, loaded only by the code that needs them.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
};
