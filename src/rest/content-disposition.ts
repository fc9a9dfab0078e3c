/**
 * `attachment; filename="<name>"` for a download. A plain ASCII name goes as it is (what EnOS
 * sends: `attachment; filename="sample-a.txt"`); anything else gets an ASCII fallback plus an
 * RFC 6266 `filename*`. Directory parts are dropped and quotes, backslashes and control
 * characters can never reach the header.
 */
export function contentDisposition(originalName: string): string {
  const base = originalName.split(/[/\\]/).pop() ?? '';
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').trim() || 'file';
  const ascii = cleaned.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  if (ascii === cleaned) return `attachment; filename="${ascii}"`;
  const encoded = encodeURIComponent(cleaned).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
