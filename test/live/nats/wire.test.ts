import type { JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { LogMessage } from '../../../src/live/message';
import { createBatchAssembler, headersOf } from '../../../src/live/nats/batches';
import { decodeToken, decodeWire, encodeToken, encodeWire, orgOfSubject, subjectOf, WIRE_SCHEMA } from '../../../src/live/nats/wire';

const device = { deviceId: 7, assetId: 'a7', productKey: 'pk.1', deviceKey: 'dev 1', modelId: 3, modelIdentifier: 'Meter' };
const keys = { device, assetId: 'a7', productKey: 'pk.1', deviceKey: 'dev 1', modelId: 'Meter' };
const message = (offset: number, value: number): LogMessage => ({ offset, orgId: 'o.1', channel: 'REALTIME', points: [{ ...keys, identifier: 'temp', time: 1, value, quality: null }], attributes: [], events: [], files: [] });

describe('live subjects and messages on NATS', () => {
  it('writes keys that are not subject-safe as %XX tokens and reads them back', () => {
    for (const k of ['inv001', 'a.b', 'x*y>z', 'with space', 'ünï', '100%']) {
      expect(encodeToken(k)).toMatch(/^[A-Za-z0-9_%-]+$/);
      expect(decodeToken(encodeToken(k))).toBe(k);
    }
    expect(encodeToken('inv.001')).toBe('inv%2E001');
    const subject = subjectOf('tributary.live', 'o.1', 'OFFLINE', device);
    expect(subject).toBe('tributary.live.o%2E1.OFFLINE.pk%2E1.dev%201');
    expect(orgOfSubject('tributary.live', subject)).toBe('o.1');
    expect(orgOfSubject('other.prefix', subject)).toBeNull();
  });

  it('encodes a message as the version-1 schema and decodes it to the same records', () => {
    const body = JSON.parse(JSON.stringify(encodeWire(message(5, 21.5)))) as unknown;
    expect(body).toEqual({ schema: WIRE_SCHEMA, orgId: 'o.1', channel: 'REALTIME', points: [{ assetId: 'a7', productKey: 'pk.1', deviceKey: 'dev 1', modelId: 'Meter', identifier: 'temp', time: 1, value: 21.5, quality: null }], attributes: [], events: [], files: [] });
    expect(decodeWire(9, body, 7, 3)).toEqual(message(9, 21.5));
    expect(decodeWire(9, { ...(body as object), schema: 'tributary.live.v2' }, 7, 3)).toBeNull();
  });

  it('joins the consecutive device messages of a batch under the offset of its last part', () => {
    const out: [number | null, number][] = [];
    const a = createBatchAssembler((m, seq) => out.push([m ? m.points.length : null, seq]));
    a.push(10, { batch: 'b1', index: 0, count: 3 }, message(10, 1));
    a.push(11, { batch: 'b1', index: 1, count: 3 }, message(11, 2));
    expect(out).toEqual([]);
    a.push(12, { batch: 'b1', index: 2, count: 3 }, message(12, 3));
    a.push(13, { batch: null, index: 0, count: 1 }, message(13, 4));
    a.push(14, { batch: 'b2', index: 0, count: 2 }, null);
    a.push(15, { batch: 'b3', index: 0, count: 2 }, message(15, 5));
    a.flush();
    expect(out).toEqual([
      [3, 12],
      [1, 13],
      [null, 14],
      [1, 15],
    ]);
  });

  it('reads the headers of a stream message in one pass, and a message without batch headers as one on its own', () => {
    const msg = (pairs: [string, string][]): JsMsg => {
      const h = headers();
      for (const [k, v] of pairs) h.append(k, v);
      return { headers: h } as unknown as JsMsg;
    };
    expect(headersOf(msg([['Tributary-Device-Id', '7'], ['Tributary-Model-Id', '3'], ['Tributary-Batch', '41-1767225600000'], ['Tributary-Part', '2/5'], ['Nats-Msg-Id', '41-1767225600000-2']]))).toEqual({
      deviceId: 7,
      modelId: 3,
      msgId: '41-1767225600000-2',
      part: { batch: '41-1767225600000', index: 2, count: 5 },
    });
    const alone = { batch: null, index: 0, count: 1 };
    expect(headersOf(msg([['Tributary-Batch', 'b'], ['Tributary-Part', 'x/5']])).part).toEqual(alone);
    expect(headersOf(msg([['Tributary-Part', '0/2']])).part).toEqual(alone);
    const none = headersOf({ headers: undefined } as unknown as JsMsg);
    expect(none).toEqual({ deviceId: NaN, modelId: NaN, msgId: '', part: alone });
  });
});
