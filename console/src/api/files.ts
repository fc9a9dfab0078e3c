import { errorOf, type GraphQLErrorShape } from './client';
import { ApiError, toApiError } from './errors';
import { getToken } from './session-store';

/**
 * Files through the public routes a client uses: downloads from a DeviceFile's downloadPath
 * with the token in the Authorization header, uploads as a GraphQL multipart request.
 */

/** Reads a file (or its first `maxBytes`, with a Range request) as a Blob. */
export async function fetchFile(downloadPath: string, maxBytes?: number): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(downloadPath, { headers: { authorization: `Bearer ${getToken() ?? ''}`, ...(maxBytes ? { range: `bytes=0-${maxBytes - 1}` } : {}) } });
  } catch (e) {
    throw toApiError(e);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { errors?: GraphQLErrorShape[] } | null;
    const first = body?.errors?.[0];
    throw first ? errorOf(first) : new ApiError(res.status === 404 ? 'NOT_FOUND' : 'BAD_RESPONSE', `HTTP ${res.status}`);
  }
  return res.blob();
}

/** Saves a Blob as a download named `fileName`. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One file of a multipart request: the variable path it fills and the file. */
export interface UploadPart {
  /** e.g. `variables.files.0.file` */
  readonly path: string;
  readonly file: File;
}

/**
 * Sends a GraphQL operation with files (the GraphQL multipart request spec), reporting upload
 * progress as a share from 0 to 1. XMLHttpRequest, because fetch reports no upload progress.
 */
export function uploadGraphQL<T>(query: string, variables: Record<string, unknown>, parts: readonly UploadPart[], onProgress: (share: number) => void, signal?: AbortSignal): Promise<T> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables }));
  form.append('map', JSON.stringify(Object.fromEntries(parts.map((p, i) => [String(i), [p.path]]))));
  parts.forEach((p, i) => form.append(String(i), p.file, p.file.name));
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/graphql');
    xhr.setRequestHeader('authorization', `Bearer ${getToken() ?? ''}`);
    // Apollo's CSRF protection wants this header on multipart requests.
    xhr.setRequestHeader('apollo-require-preflight', 'true');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError('NETWORK', 'the upload failed'));
    xhr.onabort = () => reject(new ApiError('NETWORK', 'the upload was cancelled'));
    xhr.onload = () => {
      type Body = { data?: T | null; errors?: GraphQLErrorShape[] } | null;
      let body: Body;
      try {
        body = JSON.parse(xhr.responseText) as Body;
      } catch {
        return reject(new ApiError(xhr.status === 413 ? 'PAYLOAD_TOO_LARGE' : xhr.status === 429 ? 'RATE_LIMITED' : 'BAD_RESPONSE', `HTTP ${xhr.status}`));
      }
      const first = body?.errors?.[0];
      if (first) return reject(errorOf(first));
      if (!body?.data) return reject(new ApiError('BAD_RESPONSE', 'no data in the answer'));
      onProgress(1);
      resolve(body.data);
    };
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}
