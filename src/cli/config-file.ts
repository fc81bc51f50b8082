// `--config FILE` lives in the CLI kit (kit/config-file.ts); this is its old address.
export {
  ConfigFileError,
  applyConfigFile,
  readConfigObject,
  type ConfigFileOptions,
} from './kit/config-file.ts';
