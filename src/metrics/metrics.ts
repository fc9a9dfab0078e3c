import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * The Prometheus metrics of one instance. Every instance has its own registry (tests run many
 * instances in one process; prom-client's global registry would refuse the second). Counters and
 * histograms are incremented where the work happens; gauges of state held elsewhere (queues,
 * subscribers, the rollup journal) are read at scrape time through {@link MetricSources}.
 */

/** Buckets of the latency histograms, in seconds: 1 ms to 10 s. */
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a request reached the service: GraphQL over HTTP or WebSocket, or the EnOS REST shim. */
export type Transport = 'graphql' | 'rest';

/** The instruments of one instance. */
export interface Metrics {
  readonly registry: Registry;
  /** Ingest calls, by transport, kind (points, attributes, events) and outcome code (`OK` or the refusal's error code). */
  readonly ingestRequests: Counter<'transport' | 'kind' | 'code'>;
  /** Values stored by ingest calls. */
  readonly ingestValuesAccepted: Counter<'transport' | 'kind'>;
  /** Values or items refused, by the item error code (or the request's error code when the whole call was refused). */
  readonly ingestValuesRejected: Counter<'transport' | 'kind' | 'code'>;
  /** GraphQL operations: duration by transport, operation type and root field. */
  readonly graphqlDuration: Histogram<'transport' | 'type' | 'operation' | 'outcome'>;
  /** HTTP requests: duration by route (a path pattern of the route table), method and status. */
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
}

/** Live state read at scrape time. Each source is optional: a missing one leaves its gauge at 0. */
export interface MetricSources {
  /** HTTP requests being served. */
  httpInFlight?(): number;
  /** Ingest group commit: batches waiting for a transaction, and transactions running. */
  ingestQueue?(): { readonly queued: number; readonly running: number };
  /** Open live subscriptions: count, batches queued for them, the largest lag in log offsets, batches handed out so far. */
  liveSubscribers?(): { readonly open: number; readonly queued: number; readonly maxLagOffsets: number; readonly delivered: number };
  /** The NATS backend's outbox relay (null on the PostgreSQL log): backlog, its age in seconds, messages published, failed runs. */
  liveRelay?(): Promise<{ readonly pending: number; readonly lagSeconds: number; readonly published: number; readonly failures: number } | null>;
  /** Database: queries in flight (postgres.js) and the pool's size. */
  database?(): { readonly queriesInFlight: number; readonly poolMax: number };
  /** Pending rollup-journal rows per level (a database query). */
  rollupPendingRows?(): Promise<Readonly<Record<string, number>>>;
  /** Admission control: HTTP requests (`requests`) and ingest values (`ingest_values`), in flight, waiting and refused so far. */
  admission?(): readonly { readonly kind: string; readonly inflight: number; readonly inflightWeight: number; readonly queued: number; readonly rejectedTotal: number }[];
  /** Periodic background tasks (retention, rollup merge): runs and failures so far, last success. */
  periodicTasks?(): readonly { readonly task: string; readonly runs: number; readonly failures: number; readonly lastSuccessMs: number | null }[];
}

/** Creates the registry and instruments of one instance, with Node's process metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    ingestRequests: new Counter({ name: 'tributary_ingest_requests_total', help: 'Ingest calls, by transport, kind and outcome code (OK or the error code of a refused call).', labelNames: ['transport', 'kind', 'code'], registers }),
    ingestValuesAccepted: new Counter({ name: 'tributary_ingest_values_accepted_total', help: 'Values stored by ingest calls (measure points, attributes or events).', labelNames: ['transport', 'kind'], registers }),
    ingestValuesRejected: new Counter({
      name: 'tributary_ingest_values_rejected_total',
      help: 'Values refused by ingest calls: one per reported item error (by its code), or every value of a call refused as a whole (by the call error code).',
      labelNames: ['transport', 'kind', 'code'],
      registers,
    }),
    graphqlDuration: new Histogram({
      name: 'tributary_graphql_operation_duration_seconds',
      help: 'GraphQL operations over HTTP and in process (REST shim), from receipt to response, by operation type and root field.',
      labelNames: ['transport', 'type', 'operation', 'outcome'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    httpDuration: new Histogram({ name: 'tributary_http_request_duration_seconds', help: 'HTTP requests, from receipt to the end of the response, by route, method and status.', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS_S, registers }),
  };
}

/** Registers the scrape-time gauges that read `sources`. Call once per instance. */
export function registerSourceGauges(metrics: Metrics, sources: MetricSources): void {
  const registers = [metrics.registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void | Promise<void>) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        return collect(this);
      },
    });
  gauge('tributary_http_requests_in_flight', 'HTTP requests being served.', [], (g) => g.set(sources.httpInFlight?.() ?? 0));
  gauge('tributary_ingest_queue_batches', 'Ingest batches waiting for a group-commit transaction.', [], (g) => g.set(sources.ingestQueue?.().queued ?? 0));
  gauge('tributary_ingest_transactions_in_flight', 'Ingest transactions being written.', [], (g) => g.set(sources.ingestQueue?.().running ?? 0));
  gauge('tributary_live_subscribers', 'Open live subscriptions (subscriptions and consumer-group members) on this instance.', [], (g) => g.set(sources.liveSubscribers?.().open ?? 0));
  gauge('tributary_live_queued_messages', 'Message batches queued for live subscribers and not yet sent.', [], (g) => g.set(sources.liveSubscribers?.().queued ?? 0));
  gauge('tributary_live_subscriber_lag_max_offsets', 'Largest distance, in message-log offsets, between the newest message this instance dispatched and the last one a subscriber received.', [], (g) =>
    g.set(sources.liveSubscribers?.().maxLagOffsets ?? 0),
  );
  new Counter({
    name: 'tributary_live_messages_delivered_total',
    help: 'Message batches handed to live subscribers (subscriptions and consumer-group members) on this instance.',
    registers,
    collect() {
      this.reset();
      this.inc(sources.liveSubscribers?.().delivered ?? 0);
    },
  });
  gauge('tributary_live_relay_pending_messages', 'Live messages committed to the outbox and not yet stored in NATS JetStream (all instances; 0 on the PostgreSQL log).', [], async (g) => g.set((await sources.liveRelay?.())?.pending ?? 0));
  gauge('tributary_live_relay_lag_seconds', 'Age of the oldest live message waiting in the outbox for NATS JetStream (0 when none).', [], async (g) => g.set((await sources.liveRelay?.())?.lagSeconds ?? 0));
  new Counter({
    name: 'tributary_live_relay_published_total',
    help: 'Live messages this instance relayed to NATS JetStream (one per device of a batch; duplicates not counted).',
    registers,
    async collect() {
      this.reset();
      this.inc((await sources.liveRelay?.())?.published ?? 0);
    },
  });
  new Counter({
    name: 'tributary_live_relay_failures_total',
    help: 'Outbox relay runs of this instance that failed (NATS or the database unreachable); each is retried.',
    registers,
    async collect() {
      this.reset();
      this.inc((await sources.liveRelay?.())?.failures ?? 0);
    },
  });
  gauge('tributary_admission_in_flight', 'Work admitted and running: requests (kind="requests") or ingest calls (kind="ingest_values").', ['kind'], (g) => {
    for (const a of sources.admission?.() ?? []) g.set({ kind: a.kind }, a.inflight);
  });
  gauge('tributary_admission_in_flight_weight', 'Weight of the admitted work: body bytes (kind="requests") or values (kind="ingest_values").', ['kind'], (g) => {
    for (const a of sources.admission?.() ?? []) g.set({ kind: a.kind }, a.inflightWeight);
  });
  gauge('tributary_admission_queued', 'Work waiting in the admission queue.', ['kind'], (g) => {
    for (const a of sources.admission?.() ?? []) g.set({ kind: a.kind }, a.queued);
  });
  new Counter({
    name: 'tributary_admission_rejected_total',
    help: 'Work refused by admission control (answered 429 with Retry-After).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const a of sources.admission?.() ?? []) this.inc({ kind: a.kind }, a.rejectedTotal);
    },
  });
  gauge('tributary_db_queries_in_flight', 'Database queries sent and not answered yet (PostgreSQL only; 0 on the embedded database).', [], (g) => g.set(sources.database?.().queriesInFlight ?? 0));
  gauge('tributary_db_pool_max_connections', 'Most PostgreSQL connections this instance opens (DB_POOL_MAX; 1 on the embedded database).', [], (g) => g.set(sources.database?.().poolMax ?? 0));
  gauge('tributary_rollup_pending_rows', 'Rollup-journal rows committed by ingest and not merged into the rollup tables yet, by level (all instances).', ['level'], async (g) => {
    g.reset();
    for (const [level, n] of Object.entries((await sources.rollupPendingRows?.()) ?? {})) g.set({ level }, n);
  });
  // NOTE: the tasks count their own runs; the counter is set to their figures at each scrape.
  new Counter({
    name: 'tributary_task_runs_total',
    help: 'Runs of periodic background tasks (retention, rollup merge) on this instance, by task and outcome.',
    labelNames: ['task', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const t of sources.periodicTasks?.() ?? []) {
        this.inc({ task: t.task, outcome: 'ok' }, t.runs - t.failures);
        this.inc({ task: t.task, outcome: 'failed' }, t.failures);
      }
    },
  });
  gauge('tributary_task_last_success_timestamp_seconds', 'When a periodic task last completed a run (Unix time; absent before the first).', ['task'], (g) => {
    for (const t of sources.periodicTasks?.() ?? []) if (t.lastSuccessMs !== null) g.set({ task: t.task }, t.lastSuccessMs / 1000);
  });
}
