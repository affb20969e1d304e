// ioc-agent: dispatches to one subcommand (agent/cli/). Without a command it runs the agent, so
//   ioc-agent --server http://127.0.0.1:8080 --id X --token Y   is   ioc-agent run --server ... --id X --token Y
import pkg from '../package.json' with { type: 'json' };
import { CliError, EXIT, out } from './cli/common.ts';
import { enroll } from './cli/enroll.ts';
import { HELP } from './cli/help.ts';
import { install } from './cli/install.ts';
import { run } from './cli/run.ts';
import { status } from './cli/status.ts';
import { uninstall } from './cli/uninstall.ts';

/** Each resolves with the exit code, or with nothing for `run`, which keeps the process alive until a signal. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number | void>> = { run, enroll, install, uninstall, status };

async function main(argv: string[]): Promise<number | void> {
  const [first, ...rest] = argv;
  if (first === 'help') {
    const cmd = rest[0] && COMMANDS[rest[0]];
    return cmd ? cmd(['--help']) : (out(HELP), EXIT.ok);
  }
  if (first === '--version' || first === '-v') return out(pkg.version), EXIT.ok;
  const cmd = first !== undefined ? COMMANDS[first] : undefined;
  if (cmd) return cmd(rest);
  if (first !== undefined && !first.startsWith('-')) throw new CliError(`unknown command "${first}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)`);
  return run(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CliError) {
      process.stderr.write(`ioc-agent: ${e.message}\n`);
      process.exit(e.code);
    }
    process.stderr.write(`ioc-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(EXIT.failed);
  },
);
