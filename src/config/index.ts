export {
  ConfigError,
  loadConfig,
  type AppConfig,
  type LoadConfigOptions,
  type PersistedOperationsMode,
} from './load.js';
export { judgeSecret, KNOWN_DEFAULT_SECRETS, MIN_SECRET_BYTES, type SecretVerdict } from './secrets.js';
export { configSpec, ENVIRONMENTS, SECRET_VARIABLES, type Environment } from './spec.js';
