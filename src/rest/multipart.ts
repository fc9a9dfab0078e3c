import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createSpoolDir, releaseSpoolDir } from '../files/spool-dir';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Logger } from '../log';
import { EnosCode, EnosError, badRequest } from './envelope';
import { capturePartHeaders, extraDispositionParams, type PartHeaders } from './part-headers';

/** Limits of one integration request. */
export interface MultipartLimits {
  /** Largest `enos-message` part (ENOS_MESSAGE_MAX_BYTES, default 512 KiB). */
  readonly messageMaxBytes: number;
  /** Largest `enos-file` part (UPLOAD_MAX_BYTES, default 100 MiB). */
  readonly fileMaxBytes: number;
  /** Most `enos-file` parts (UPLOAD_MAX_FILES, default 20). */
  readonly maxFiles: number;
  /** Where file parts are spooled (UPLOAD_TMP_DIR). */
  readonly tmpDir: string;
}

/** One `enos-file` part, spooled to a temporary file. */
export interface SpooledFile {
  /** The part's filename (`%22`, `%0D`, `%0A` decoded): what `local://<name>` refers to. */
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  /** Lowercase hex MD5 computed while spooling. */
  readonly md5: string;
  readonly mimeType: string;
  /** Content-Disposition parameters besides name and filename (e.g. `feature-id`), tolerated. */
  readonly dispositionParams: Readonly<Record<string, string>>;
}

/** The parts of an integration request. Call `dispose` when done, whatever happened. */
export interface IntegrationParts {
  /** The `enos-message` JSON text. */
  readonly message: string;
  readonly files: readonly SpooledFile[];
  dispose(): Promise<void>;
}

/** The OkHttp escapes inside a quoted filename. */
function decodeFilename(raw: string): string {
  return raw.replace(/%22/gi, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

/**
 * A part filename must be a plain name: the SDK sends `[A-Za-z0-9_-]{11}.ext`, curl the
 * basename. Path separators, `.`/`..`, control characters and overlong names are refused,
 * so a name can never be taken for a path anywhere downstream.
 */
function checkFilename(name: string): void {
  if (!name || name.length > 255 || name === '.' || name === '..' || /[/\\\u0000-\u001f\u007f]/.test(name)) {
    throw badRequest(`invalid file name in an enos-file part: ${JSON.stringify(name.slice(0, 80))}`);
  }
}

/** Checks a part's `Content-MD5`: lowercase (or any case) hex as the SDK sends it; base64 (RFC 1864) tolerated. */
function checkContentMd5(header: string | undefined, md5Hex: string, name: string): void {
  if (header === undefined) return;
  const v = header.trim();
  let ok: boolean;
  if (/^[0-9a-fA-F]{32}$/.test(v)) ok = v.toLowerCase() === md5Hex;
  else if (/^[A-Za-z0-9+/]{22}==$/.test(v)) ok = Buffer.from(v, 'base64').toString('hex') === md5Hex;
  else throw badRequest(`Content-MD5 of file ${name} is not a hex MD5`);
  if (!ok) throw badRequest(`Content-MD5 of file ${name} does not match its content`);
}

const bytes = (n: number) => n.toLocaleString('en-US');
/** 1008 naming the limit and the setting that raises it; with the part's size when it was counted. */
const tooLarge = (what: string, max: number, setting: string, size?: number) =>
  new EnosError(EnosCode.TOO_LARGE, size === undefined ? `${what} is over ${bytes(max)} bytes, the limit (${setting})` : `${what} is ${bytes(size)} bytes; the limit is ${bytes(max)} (${setting})`);

/** Waits until the rest of a request body has been read and discarded. */
function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.resume();
  });
}

/**
 * Hashes and counts what flows through; past `maxBytes` it swallows the rest, so that the
 * part is still read to its end (the connection stays usable) but nothing more is written.
 */
function md5Tap(maxBytes: number): Transform & { md5(): string; size: number; over: boolean } {
  const hash = createHash('md5');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      tap.size += chunk.length;
      if (tap.size > maxBytes) tap.over = true;
      if (tap.over) return cb();
      hash.update(chunk);
      cb(null, chunk);
    },
  }) as Transform & { md5(): string; size: number; over: boolean };
  tap.size = 0;
  tap.over = false;
  tap.md5 = () => hash.digest('hex');
  return tap;
}

/**
 * Reads an integration request's multipart body: exactly one `enos-message` part (a field, or
 * a file part as `curl -F enos-message=@msg.json` sends it) and any number of `enos-file`
 * parts, each streamed to a temporary file while its MD5 is computed. Works with
 * Content-Length and chunked bodies and needs no per-part Content-Length. Every refusal
 * (malformed body, limits, MD5, names) is an {@link EnosError} raised only after the whole
 * body has been read, so the client always gets its answer on a healthy connection.
 */
export async function readIntegrationParts(req: IncomingMessage, limits: MultipartLimits, logs: { readonly log: Logger }): Promise<IntegrationParts> {
  // One directory per request, created by the first file part (concurrent parts share it).
  let dir: Promise<string> | undefined;
  const files: SpooledFile[] = [];
  const dispose = async () => {
    const d = await dir?.catch(() => undefined);
    if (d) await releaseSpoolDir(d);
  };
  try {
    const message = await parse(req, limits, logs, files, () => (dir ??= createSpoolDir(limits.tmpDir)));
    return { message, files, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** `logs.log` is read only to log (a request's logger is made when first used, see server/app.ts). */
function parse(req: IncomingMessage, limits: MultipartLimits, logs: { readonly log: Logger }, files: SpooledFile[], tempDir: () => Promise<string>): Promise<string> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        preservePath: true,
        defParamCharset: 'utf8',
        limits: { fileSize: Math.max(limits.fileMaxBytes, limits.messageMaxBytes) + 1, fieldSize: limits.messageMaxBytes, files: limits.maxFiles + 1, fields: 32, parts: limits.maxFiles + 33 },
      });
    } catch {
      void drain(req).then(() => reject(badRequest('Content-Type must be multipart/form-data with a boundary')));
      return;
    }
    const headers = capturePartHeaders(bb);
    let failure: EnosError | undefined;
    const fail = (e: unknown) => {
      if (failure) return;
      if (e instanceof EnosError) failure = e;
      else {
        logs.log.error({ err: e }, 'spooling an uploaded file failed');
        failure = new EnosError(EnosCode.INTERNAL, 'could not store an uploaded file', 500);
      }
    };
    let message: string | undefined;
    let messages = 0;
    let fileParts = 0;
    const names = new Set<string>();
    const pending: Promise<void>[] = [];

    const takeMessage = (text: string) => {
      if (++messages > 1) return fail(badRequest('exactly one enos-message part is allowed'));
      message = text;
    };

    bb.on('field', (name, value, info) => {
      if (name !== 'enos-message') return;
      if (info.valueTruncated) return fail(tooLarge('the enos-message part', limits.messageMaxBytes, 'ENOS_MESSAGE_MAX_BYTES'));
      takeMessage(value);
    });

    bb.on('file', (name, stream, info) => {
      const partHeaders = headers.current;
      headers.current = undefined;
      if (failure) return void stream.resume();
      if (name === 'enos-message') return void pending.push(readMessageFile(stream, limits.messageMaxBytes).then(takeMessage, fail));
      if (name !== 'enos-file') return void stream.resume();
      if (++fileParts > limits.maxFiles) {
        fail(badRequest(`at most ${limits.maxFiles} enos-file parts are allowed`));
        return void stream.resume();
      }
      const fileName = decodeFilename(info.filename ?? '');
      try {
        checkFilename(fileName);
        if (names.has(fileName)) throw badRequest(`two enos-file parts are named ${fileName}`);
      } catch (e) {
        fail(e);
        return void stream.resume();
      }
      names.add(fileName);
      pending.push(spool(stream, fileName, info.mimeType, partHeaders, limits, tempDir, fileParts).then((f) => void files.push(f), fail));
    });

    bb.on('filesLimit', () => fail(badRequest(`at most ${limits.maxFiles} enos-file parts are allowed`)));
    bb.on('partsLimit', () => fail(badRequest('too many parts in the multipart body')));
    bb.on('fieldsLimit', () => fail(badRequest('too many fields in the multipart body')));
    // busboy emits `error` (malformed body) before `close`; both end here, once.
    let malformed: Error | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      void Promise.allSettled(pending)
        .then(() => drain(req))
        .then(() => {
          if (failure) return reject(failure);
          if (malformed) return reject(badRequest(`malformed multipart body: ${malformed.message}`));
          if (message === undefined) return reject(badRequest('the enos-message part is missing'));
          resolve(message);
        });
    };
    bb.once('error', (err: Error) => {
      malformed = err;
      req.unpipe(bb);
      finish();
    });
    bb.once('close', finish);
    req.once('aborted', () => reject(badRequest('the request was aborted')));
    req.pipe(bb);
  });
}

async function readMessageFile(stream: Readable & { truncated?: boolean }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) over = true;
    else chunks.push(chunk as Buffer);
  }
  if (over || stream.truncated) throw tooLarge('the enos-message part', max, 'ENOS_MESSAGE_MAX_BYTES', stream.truncated ? undefined : size);
  return Buffer.concat(chunks).toString('utf8');
}

async function spool(
  stream: Readable & { truncated?: boolean },
  name: string,
  mimeType: string,
  partHeaders: PartHeaders | undefined,
  limits: MultipartLimits,
  tempDir: () => Promise<string>,
  seq: number,
): Promise<SpooledFile> {
  // The part's own stream fails when the body ends inside it (a truncated or malformed body):
  // the client's mistake. A failure of the temporary file (disk full) stays a server error.
  // Listened to at once: the body may end while the directory is being created.
  let cut: Error | undefined;
  stream.once('error', (e: Error) => (cut = e));
  // busboy waits (backpressure) while the temporary directory is created.
  const path = join(await tempDir(), `part-${seq}`);
  const tap = md5Tap(limits.fileMaxBytes);
  try {
    await pipeline(stream, tap, createWriteStream(path, { flags: 'wx' }));
  } catch (e) {
    if (cut) throw badRequest(`malformed multipart body: it ends inside the enos-file part ${name} (${cut.message})`);
    throw e;
  }
  if (tap.over || stream.truncated) throw tooLarge(`file ${name}`, limits.fileMaxBytes, 'UPLOAD_MAX_BYTES');
  const md5 = tap.md5();
  checkContentMd5(partHeaders?.['content-md5']?.[0], md5, name);
  return { name, path, sizeBytes: tap.size, md5, mimeType, dispositionParams: extraDispositionParams(partHeaders) };
}
