// Usage texts. `ioc-agent --help` shows the commands and the options of `run`, the default command.
import pkg from '../../package.json' with { type: 'json' };

export const RUN_OPTIONS = `Options of run (a flag wins over the environment, which wins over the config file):
  --config FILE      config file written by enroll/install                      env IOC_AGENT_CONFIG
                     (default ${'/etc/ioc-agent/agent.json'} or %ProgramData%\\ioc-agent\\agent.json, read when
                     neither the command line nor the environment names the agent)
  --server URL       server base URL (http(s)://host:port or ws(s)://...)       env IOC_SERVER
  --id ID            this agent's id on the server                              env IOC_AGENT_ID
  --token TOKEN      this agent's secret (the server keeps only its hash)       env IOC_AGENT_TOKEN
  --concurrency N    probe rounds at once (default 8)                          env IOC_CONCURRENCY
  --state-dir DIR    spool and status file go here (DIR/spool, DIR/status.json)  env IOC_STATE_DIR
  --spool-dir DIR    results are kept here until the server has stored them    env IOC_SPOOL_DIR
                     (default DIR/spool of --state-dir, else ./spool/<id> under the working directory;
                     "none" keeps them in memory only)
  --spool-max-mb N   spool size bound; beyond it the oldest results are dropped and counted (default 200)
                                                                               env IOC_SPOOL_MAX_MB
  --spool-max-age-days N  results older than this are dropped and counted (default 7)
                                                                               env IOC_SPOOL_MAX_AGE_DAYS
  --replay-rate N    results sent per second at most, so a backlog does not flood the uplink (default 500)
                                                                               env IOC_REPLAY_RATE
  --buffer N         with --spool-dir none: results kept in memory (default 50000)  env IOC_BUFFER
  --status-file FILE where the status file goes (default DIR/status.json of --state-dir, else beside the spool)
                                                                               env IOC_STATUS_FILE
  --insecure         allow ws:// or http:// to a server that is not this machine: the token then travels in
                     clear (only over a VPN or private network; "insecure": true in the config file does the same)
  --log-level L      trace|debug|info|warn|error (default info)                 env IOC_LOG_LEVEL
  --log-file FILE    log there instead of stdout (kept under 10 MB: FILE.1 holds the previous one)
                                                                               env IOC_LOG_FILE

The token is better kept in the config file or the environment than on the command line (visible in ps).
Test-only: --interval-scale F multiplies every plan interval (e.g. 0.1), and IOC_TEST_RESULT_LOG=FILE appends a
JSON line per result produced ("p") and taken by the spool ("t"). Not for production use.`;

export const USAGE = {
  run: 'ioc-agent run [--config FILE] [options]',
  enroll: 'ioc-agent enroll --server URL --code CODE [--config FILE] [--insecure] [--lang vi|en]',
  install:
    'ioc-agent install [--server URL --code CODE | --server URL --id ID --token TOKEN] [--prefix DIR] [--insecure] [--lang vi|en]',
  uninstall: 'ioc-agent uninstall [--purge] [--prefix DIR] [--lang vi|en]',
  status: 'ioc-agent status [--config FILE | --status-file FILE] [--lang vi|en] [--json]',
} as const;

export const HELP = `ioc-agent ${pkg.version}: probes a commune's uplinks and public services, streams the results to the IOC server.

Usage:
  ${USAGE.install}
      enrol with a one-time code (or use the given id/token), copy this program to its place, write its config
      file and register a service that starts at boot and restarts on failure (as root / Administrator).
      --prefix DIR puts every file under DIR and runs no system command (it prints those it would run).
  ${USAGE.enroll}
      exchange a one-time code from the agents page for this agent's id and token, written to the config file.
  ${USAGE.run}
      probe and stream in the foreground: what the service runs, and the default when no command is given.
  ${USAGE.status}
      enrolled? running? connected? last ack, results waiting in the spool, results dropped.
      Exit code 0 running and connected, 1 not running, 3 running but not connected.
  ${USAGE.uninstall}
      stop and remove the service and the program; the config and the spool are kept unless --purge.
  ioc-agent --version | --help | <command> --help

${RUN_OPTIONS}`;
