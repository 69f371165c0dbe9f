/** Portico's programmatic API: the CLI is a thin shell over these. */
export { startServer, type PorticoServer, type StartOptions, type BoundAddress } from './server/server.js';
export { loadConfigFile, parseConfigText, validateConfig, type LoadedConfig } from './config/load.js';
export { configSchema, jsonSchema, type PorticoConfig, type PorticoConfigInput } from './config/schema.js';
export { compile } from './compile/compile.js';
export { ConfigError } from './errors.js';
export { ErrorLog, silentLog } from './log/error-log.js';
export { AccessLog } from './log/access-log.js';
