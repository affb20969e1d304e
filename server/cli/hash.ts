// `npm run ioc -- hash [SECRET]`: a scrypt hash for users[].passwordHash, agents[].tokenHash or apiTokens[].tokenHash.
// Without a secret, a random token is generated and printed with its hash.
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../auth/password.ts';

export const usage = 'hash [SECRET]             scrypt hash of SECRET (or of a new random token, printed too) for the config';

export async function run(args: string[]): Promise<number> {
  const secret = args[0] ?? randomBytes(24).toString('base64url');
  if (!args[0]) console.log(`token: ${secret}`);
  console.log(await hashSecret(secret));
  return 0;
}
