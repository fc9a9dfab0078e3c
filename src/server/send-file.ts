import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import parseRange from 'range-parser';
import { readFileRange, type FilesDeps, type StoredFile } from '../files/file-service';
import type { FileStore } from '../files/file-store';

/**
 * Answers a download: 200 with Accept-Ranges and the whole file, 206 with Content-Range and an
 * exact Content-Length for one satisfiable range, 416 when none is satisfiable. Ranges are
 * never sent chunked (the EnOS SDK fails on that). Several ranges are served as the whole file.
 * `store` reads the bytes when they are not a device file's (firmware packages).
 */
export async function sendFile(deps: FilesDeps, req: IncomingMessage, res: ServerResponse, file: Pick<StoredFile, 'id' | 'orgId' | 'store' | 'sizeBytes' | 'md5' | 'fileName' | 'contentType'>, store?: FileStore): Promise<void> {
  const size = file.sizeBytes;
  const header = req.headers['range'];
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (typeof header === 'string' && header) {
    const r = parseRange(size, header, { combine: true });
    if (r === -1) {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes', 'content-length': 0 });
      res.end();
      return;
    }
    if (r !== -2 && r.type === 'bytes' && r.length === 1) {
      start = r[0]!.start;
      end = r[0]!.end;
      status = 206;
    }
  }
  const headers: Record<string, string | number> = {
    'content-type': file.contentType || 'application/octet-stream',
    'content-length': size === 0 ? 0 : end - start + 1,
    'accept-ranges': 'bytes',
    etag: `"${file.md5}"`,
    'content-disposition': `attachment; filename="${file.fileName}"`,
    'x-content-type-options': 'nosniff',
  };
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await pipeline(store ? store.read(file, start, end) : readFileRange(deps, file as StoredFile, start, end), res);
}
