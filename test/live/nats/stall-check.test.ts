import { describe, expect, it } from 'vitest';
import { createStallCheck, type StallCheck } from '../../../src/live/nats/stall-check';

/** One period's reading, as the hub's watchdog takes it: the head only when the cursor stood still. */
const reading = (c: StallCheck, cursor: number, head: number) => c.still(cursor) && c.stalled(cursor, head);

describe('the stall check of a stream consumer', () => {
  it('does not call a consumer stalled when the first message was stored just before a reading', () => {
    const c = createStallCheck(0);
    expect(reading(c, 0, 0)).toBe(false);
    expect(reading(c, 0, 100)).toBe(false);
    expect(reading(c, 100, 100)).toBe(false);
    expect(reading(c, 100, 100)).toBe(false);
  });

  it('calls it stalled when what the stream held a period ago is still unread, and again after another wait', () => {
    const c = createStallCheck(0);
    expect(reading(c, 0, 100)).toBe(false);
    expect(reading(c, 0, 100)).toBe(true);
    expect(reading(c, 0, 100)).toBe(false);
    expect(reading(c, 0, 200)).toBe(true);
  });

  it('does not call a consumer that moves stalled, however far behind the head it is', () => {
    const c = createStallCheck(0);
    for (let i = 1; i <= 10; i++) expect(reading(c, i * 10, i * 1000)).toBe(false);
  });

  it('does not call it stalled when it caught up with what was there a period ago', () => {
    const c = createStallCheck(0);
    expect(reading(c, 0, 100)).toBe(false);
    expect(reading(c, 100, 150)).toBe(false);
    expect(reading(c, 100, 150)).toBe(false);
    expect(reading(c, 100, 150)).toBe(true);
  });
});
