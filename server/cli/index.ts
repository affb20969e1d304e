// `npm run ioc -- <command>`: the operator's commands (README "Running the server as a service").
// One file per command; each exports `run(args)` returning the exit code.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMANDS = {
  'check-config': () => import('./check-config.ts'),
  backup: () => import('./backup.ts'),
  restore: () => import('./restore.ts'),
  hash: () => import('./hash.ts'),
} satisfies Record<string, () => Promise<{ run(args: string[]): Promise<number>; usage: string }>>;

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || !Object.hasOwn(COMMANDS, name)) {
    const lines = await Promise.all(Object.values(COMMANDS).map(async (load) => `  ${(await load()).usage}`));
    console.error(`${name && name !== 'help' && name !== '--help' ? `unknown command "${name}"\n\n` : ''}usage: npm run ioc -- <command>\n${lines.join('\n')}`);
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  return (await COMMANDS[name as keyof typeof COMMANDS]()).run(args);
}

/** `--config FILE` anywhere in args (else IOC_CONFIG, else config/default.yaml), and the rest */
export function configArg(args: string[]): { configPath: string | undefined; rest: string[] } {
  const i = args.indexOf('--config');
  if (i < 0) return { configPath: undefined, rest: args };
  return { configPath: args[i + 1], rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

/** configArg and the one directory the command needs (absolute); null, with the usage printed, when it is missing */
export function configAndDir(args: string[], usage: string): { configPath: string | undefined; dir: string } | null {
  const { configPath, rest } = configArg(args);
  if (!rest[0]) {
    console.error(`usage: npm run ioc -- ${usage}`);
    return null;
  }
  return { configPath, dir: resolve(rest[0]) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
