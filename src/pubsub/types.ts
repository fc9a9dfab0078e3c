/**
 * The wake-up channel between instances. It carries no data: the durable log holds the
 * messages, and a wake-up only says "the log grew up to `offset`". PostgreSQL NOTIFY is the
 * default; NATS JetStream or Redis Streams could implement the same interface later.
 */
export interface PubSub {
  /** Announces that the log holds messages up to `offset` (after their commit). Never throws. */
  publish(offset: number): void;
  /** Calls `listener` on every announcement from any instance (including this one). */
  subscribe(listener: (offset: number) => void): () => void;
  /**
   * Set when announcements are PostgreSQL notifications on this channel: a transaction may then
   * announce its own append with `pg_notify` (delivered once it commits) instead of {@link publish}.
   */
  readonly notifyChannel?: string;
  /** Stops listening; later publishes are dropped. */
  close(): Promise<void>;
}
