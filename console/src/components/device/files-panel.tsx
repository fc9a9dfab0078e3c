import { useEffect, useState } from 'react';
import { gql } from '../../api/client';
import { toApiError, type ApiError } from '../../api/errors';
import { fetchFile, saveBlob, uploadGraphQL } from '../../api/files';
import { useAction, useApi } from '../../api/use-api';
import { ConfirmButton } from '../confirm-button';
import { ErrorMessage, Loading, NotAllowed } from '../error-message';
import { formatBytes, formatTime } from '../format';
import { Pager, usePaging, type PageInfo } from '../pager';

const PAGE_SIZE = 20;
/** Most bytes of a text file shown inline (the rest is left for the download). */
const TEXT_PREVIEW_BYTES = 256 * 1024;

interface DeviceFile {
  readonly uri: string;
  readonly downloadPath: string;
  readonly fileName: string;
  readonly originalName: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly createdAt: string;
  readonly feature: string | null;
}

const FILES = `query ($id: ID!, $first: Int, $after: String) {
  files(device: { assetId: $id }, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { uri downloadPath fileName originalName contentType sizeBytes md5 createdAt feature } }
  }
}`;
const UPLOAD = `mutation ($items: [PointsItemInput!]!, $files: [FileInput!]) { postMeasurePoints(items: $items, files: $files) { accepted files { name uri sizeBytes } } }`;

type Preview = { readonly file: DeviceFile; readonly kind: 'image'; readonly url: string } | { readonly file: DeviceFile; readonly kind: 'text'; readonly text: string; readonly partial: boolean } | { readonly file: DeviceFile; readonly kind: 'none' };

function previewKind(f: DeviceFile): 'image' | 'text' | 'none' {
  const t = f.contentType.toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('text/') || /json|xml|csv|yaml|javascript/.test(t)) return 'text';
  return 'none';
}

/** A name the service accepts in `local://<name>`: letters, digits, dots, dashes, underscores. */
function safeName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').slice(-100) || 'file';
}

/** Uploads a file as the value of one of the model's FILE points, showing progress. */
function UploadForm({ assetId, filePoints, onUploaded }: { readonly assetId: string; readonly filePoints: readonly string[]; readonly onUploaded: () => void }) {
  const [point, setPoint] = useState(filePoints[0] ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const upload = async () => {
    if (!file) return;
    setError(null);
    setDone(null);
    setProgress(0);
    const name = safeName(file.name);
    try {
      await uploadGraphQL(UPLOAD, { items: [{ assetId, time: Date.now(), values: { [point]: `local://${name}` } }], files: [{ name, file: null }] }, [{ path: 'variables.files.0.file', file }], setProgress);
      setDone(`Uploaded ${name} (${formatBytes(file.size)}).`);
      onUploaded();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setProgress(null);
    }
  };
  return (
    <div className="card section">
      <h3>Upload a file</h3>
      <div className="row">
        <label>
          As the value of
          <select value={point} onChange={(e) => setPoint(e.target.value)}>
            {filePoints.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          File
          <input type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <button type="button" className="primary" disabled={!file || progress !== null} onClick={() => void upload()}>
          Upload
        </button>
        {progress !== null ? (
          <span data-testid="upload-progress">
            <progress max={1} value={progress} /> {Math.round(progress * 100)} %
          </span>
        ) : null}
      </div>
      {done ? <p className="success">{done}</p> : null}
      <ErrorMessage error={error} />
    </div>
  );
}

/** The device's files: list, view inline (images and text), download, delete, upload. */
export function FilesPanel({ assetId, canWrite, filePoints }: { readonly assetId: string; readonly canWrite: boolean; readonly filePoints: readonly string[] }) {
  const paging = usePaging(PAGE_SIZE);
  const files = useApi((signal) => gql<{ files: { pageInfo: PageInfo; edges: { node: DeviceFile }[] } }>(FILES, { id: assetId, first: PAGE_SIZE, after: paging.after }, { signal }), [assetId, paging.after]);
  const [preview, setPreview] = useState<Preview | null>(null);
  useEffect(() => () => (preview?.kind === 'image' ? URL.revokeObjectURL(preview.url) : undefined), [preview]);
  const view = useAction(async (f: DeviceFile) => {
    const kind = previewKind(f);
    if (kind === 'image') return setPreview({ file: f, kind, url: URL.createObjectURL(await fetchFile(f.downloadPath)) });
    if (kind === 'text') {
      const partial = f.sizeBytes > TEXT_PREVIEW_BYTES;
      const blob = await fetchFile(f.downloadPath, partial ? TEXT_PREVIEW_BYTES : undefined);
      return setPreview({ file: f, kind, text: await blob.text(), partial });
    }
    setPreview({ file: f, kind: 'none' });
  });
  const download = useAction(async (f: DeviceFile) => saveBlob(await fetchFile(f.downloadPath), f.fileName));
  const remove = useAction(async (f: DeviceFile) => {
    await gql(`mutation ($d: DeviceRefInput!, $uri: String!) { deleteFile(device: $d, uri: $uri) }`, { d: { assetId }, uri: f.uri });
    if (preview?.file.uri === f.uri) setPreview(null);
    files.reload();
  });
  const rows = files.data?.files.edges.map((e) => e.node) ?? [];
  return (
    <div>
      <ErrorMessage error={files.error ?? view.error ?? download.error ?? remove.error} />
      {files.loading && !files.data ? <Loading what="files" /> : null}
      <table data-testid="files">
        <thead>
          <tr>
            <th>Name</th>
            <th>Feature</th>
            <th>Type</th>
            <th>Size</th>
            <th>Stored</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.uri} data-file={f.fileName}>
              <td>
                <span className="mono">{f.fileName}</span>
                {f.originalName && f.originalName !== f.fileName ? <div className="muted">{f.originalName}</div> : null}
              </td>
              <td className="mono">{f.feature ?? '—'}</td>
              <td>{f.contentType}</td>
              <td className="num">{formatBytes(f.sizeBytes)}</td>
              <td>{formatTime(f.createdAt)}</td>
              <td>
                <span className="row">
                  <button type="button" onClick={() => void view.run(f)}>
                    View
                  </button>
                  <button type="button" onClick={() => void download.run(f)}>
                    Download
                  </button>
                  {canWrite ? <ConfirmButton label="Delete" confirmLabel="Delete the file?" onConfirm={() => void remove.run(f)} /> : null}
                </span>
              </td>
            </tr>
          ))}
          {!rows.length && !files.loading ? (
            <tr>
              <td colSpan={6} className="muted">
                No files.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={files.data?.files.pageInfo} count={rows.length} pageSize={PAGE_SIZE} />
      {!canWrite ? <NotAllowed>Deleting and uploading files needs ASSET_WRITE on this device.</NotAllowed> : null}
      {preview ? (
        <div className="preview card" data-testid="file-preview">
          <div className="toolbar">
            <strong className="mono">{preview.file.fileName}</strong>
            <span className="spacer" />
            <button type="button" onClick={() => setPreview(null)}>
              Close
            </button>
          </div>
          {preview.kind === 'image' ? <img src={preview.url} alt={preview.file.fileName} /> : null}
          {preview.kind === 'text' ? (
            <>
              <pre>{preview.text}</pre>
              {preview.partial ? <p className="muted">The first {formatBytes(TEXT_PREVIEW_BYTES)} are shown; download the file for the rest.</p> : null}
            </>
          ) : null}
          {preview.kind === 'none' ? <p className="muted">There is no preview for {preview.file.contentType}; download the file to open it.</p> : null}
        </div>
      ) : null}
      {canWrite && filePoints.length ? <UploadForm assetId={assetId} filePoints={filePoints} onUploaded={files.reload} /> : null}
    </div>
  );
}
