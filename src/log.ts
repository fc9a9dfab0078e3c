import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the root JSON logger. Secrets are redacted by path wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tributary' },
    redact: {
      paths: ['secretKey', '*.secretKey', 'secret', '*.secret', 'accessToken', '*.accessToken', 'req.headers.authorization', 'req.headers["apim-accesstoken"]'],
      censor: '[redacted]',
    },
  });
}
