// The one error a bad configuration raises, wherever it is found: the schema (config/load.ts) or a
// cross-reference check that needs the rest of the server (notifiers, reports). The composition root catches
// this type only. No Node imports: shared with everything under config/.

export class ConfigError extends Error {
  /**
   * @param source the file, or the config section checked after load (`notifications`, `reports`)
   * @param problems path-qualified, e.g. `targets[2].url: expected an http(s) URL`
   */
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
