export * from './registry';
export * from './auth';
export * from './timeseries';
export * from './files';
export * from './live';
export * from './policies';
export * from './firmware';
