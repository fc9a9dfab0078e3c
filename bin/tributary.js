#!/usr/bin/env node
// Runs the JavaScript that `npm ci` compiled into dist/ (the `prepare` script).
import { existsSync } from 'node:fs';

// Stack traces point into src/*.ts through the source maps the build writes.
process.setSourceMapsEnabled(true);

// The service runs in production mode unless told otherwise (as `npm start` does): graphql-js
// checks every type test in development mode, about 5% of the CPU of a busy live stream.
process.env.NODE_ENV ??= 'production';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tributary: dist/cli.js is missing; run `npm ci` (or `npm run build`) in the package folder first\n');
  process.exit(1);
}
await import(entry.href);
