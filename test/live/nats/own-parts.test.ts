import { describe, expect, it } from 'vitest';
import type { LivePoint, LogMessage } from '../../../src/live/message';
import { createOwnParts } from '../../../src/live/nats/own-parts';

const device = { deviceId: 7, assetId: 'a7', productKey: 'pk', deviceKey: 'd7', modelId: 3, modelIdentifier: 'Meter' };
const point: LivePoint = { device, assetId: 'a7', productKey: 'pk', deviceKey: 'd7', modelId: 'Meter', identifier: 'temp', time: 1, value: 1, quality: null };
const part = (records: number): LogMessage => ({ offset: 0, orgId: 'o', channel: 'REALTIME', points: Array.from({ length: records }, () => point), attributes: [], events: [], files: [] });

describe('the messages an instance published, kept for its hub', () => {
  it('hands each part over once', () => {
    const own = createOwnParts(100);
    const p = part(3);
    own.remember('b-0', p);
    expect(own.take('b-0')).toBe(p);
    expect(own.take('b-0')).toBeUndefined();
    expect(own.take('b-1')).toBeUndefined();
    expect(own.size).toBe(0);
  });

  it('holds at most its number of records, forgetting the oldest parts first', () => {
    const own = createOwnParts(10);
    own.remember('a', part(4));
    own.remember('b', part(4));
    own.remember('b', part(4));
    expect(own.size).toBe(2);
    own.remember('c', part(4));
    expect(own.take('a')).toBeUndefined();
    expect(own.take('b')?.points).toHaveLength(4);
    own.remember('d', part(6));
    expect([own.take('c')?.points.length, own.take('d')?.points.length]).toEqual([4, 6]);
    own.remember('e', part(11));
    expect(own.size).toBe(0);
    expect(createOwnParts(0).take('x')).toBeUndefined();
  });
});
