import { describe, expect, it } from 'vitest';
import { diffJson, diffOutput, diffText, readExamples, splitJsonValues } from './markdown-examples';

const page = [
  'Intro.',
  '```sh no-test',
  'npm start',
  '```',
  '```sh',
  'echo \'{"a":1}\'',
  '```',
  '```json output',
  '{"a":1}',
  '```',
  '```graphql',
  '{ me { id } }',
  '```',
  '```sh',
  'true',
  '```',
].join('\n');

describe('the documentation test convention', () => {
  it('runs sh blocks, skips sh no-test and illustration blocks, and pairs an output block with the block before it', () => {
    const ex = readExamples(page);
    expect(ex.map((e) => e.run.body)).toEqual([`echo '{"a":1}'`, 'true']);
    expect(ex[0]?.expected?.body).toBe('{"a":1}');
    expect(ex[1]?.expected).toBeUndefined();
  });

  it('splits the JSON values that several calls print', () => {
    expect(splitJsonValues('{"a":"}{"}\n\n[1,2] 3 "x"\n{"b":{"c":[]}}')).toEqual([{ a: '}{' }, [1, 2], 3, 'x', { b: { c: [] } }]);
  });

  it('lets a "<placeholder>" match any value but nothing else differ', () => {
    expect(diffJson({ id: '<id>', n: 1 }, { id: 'AsoS2cACJH', n: 1 })).toBeNull();
    expect(diffJson({ id: '<id>' }, {})).toMatch(/missing/);
    expect(diffJson({ n: 1 }, { n: 2 })).toMatch(/\$\.n: expected 1, got 2/);
    expect(diffJson({ n: 1 }, { n: 1, extra: true })).toMatch(/unexpected keys extra/);
    expect(diffJson([1, 2], [1])).toMatch(/expected 2 entries/);
  });

  it('compares text line by line, with <...> matching any text in a line', () => {
    expect(diffText('HTTP/1.1 206 <reason>\nroof', 'HTTP/1.1 206 Partial Content\r\n\nroof\n')).toBeNull();
    expect(diffText('404', '200')).toMatch(/line 1/);
  });

  it('reports output that is not JSON where the page shows JSON', () => {
    expect(diffOutput({ lang: 'json', tags: ['output'], body: '{"a":1}', line: 1 }, 'curl: (7) Failed to connect')).toMatch(/did not print JSON/);
  });
});
