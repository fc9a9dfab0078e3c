#!/usr/bin/env node
// Watches a Tributary live stream from a terminal: runs one GraphQL subscription over graphql-ws
// and prints every message's `data` as one JSON line.
//
//   node scripts/subscribe.mjs --url http://localhost:4000 --token "$TOKEN" [--count N] \
//     'subscription { measurePointsLive { offset points { deviceKey identifier time value } } }'
//
// --url     the instance (http:// or ws://; /graphql is added), default http://localhost:4000
// --token   an access token (from /apim-token-service/v2.0/token/get)
// --count   exit after N messages (default: run until interrupted)
// --vars    the subscription's variables as JSON
// Errors are printed as JSON on stderr and the exit code is 1.
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, token: { type: 'string' }, count: { type: 'string' }, vars: { type: 'string' } },
});
const [query] = positionals;
if (!query || !values.token) {
  process.stderr.write('usage: node scripts/subscribe.mjs --url URL --token TOKEN [--count N] [--vars JSON] \'subscription { ... }\'\n');
  process.exit(2);
}
const base = (values.url ?? 'http://localhost:4000').replace(/^http/, 'ws').replace(/\/(graphql)?$/, '');
const limit = values.count ? Number(values.count) : Infinity;

const client = createClient({
  url: `${base}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { accessToken: values.token },
  retryAttempts: 0,
});

let received = 0;
let failed = false;
const stop = client.subscribe(
  { query, variables: values.vars ? JSON.parse(values.vars) : {} },
  {
    next: (msg) => {
      if (msg.errors) {
        failed = true;
        process.stderr.write(`${JSON.stringify({ errors: msg.errors })}\n`);
        return;
      }
      process.stdout.write(`${JSON.stringify(msg.data)}\n`);
      if (++received >= limit) {
        stop();
        void client.dispose();
      }
    },
    error: (err) => {
      const reason = err instanceof Error ? err.message : Array.isArray(err) ? JSON.stringify({ errors: err }) : `closed: ${err?.code ?? ''} ${err?.reason ?? ''}`;
      process.stderr.write(`${reason}\n`);
      process.exitCode = 1;
      void client.dispose();
    },
    complete: () => {
      if (failed) process.exitCode = 1;
      void client.dispose();
    },
  },
);
process.once('SIGINT', () => {
  stop();
  void client.dispose();
});
