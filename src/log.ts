import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Creates the root JSON logger (to stdout unless `destination` is given). Secrets are redacted by path wherever they appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions<never> = {
    level,
    base: { service: 'tributary' },
    redact: {
      paths: ['secretKey', '*.secretKey', 'secret', '*.secret', 'accessToken', '*.accessToken', 'req.headers.authorization', 'req.headers["apim-accesstoken"]'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
