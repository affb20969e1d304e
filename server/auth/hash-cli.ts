// `npm run hash -- <secret>` prints a scrypt hash for config users[].passwordHash or agents[].tokenHash.
// Without an argument it generates a random agent token and prints both.
import { randomBytes } from 'node:crypto';
import { hashSecret } from './password.ts';

const secret = process.argv[2] ?? randomBytes(24).toString('base64url');
if (!process.argv[2]) console.log(`token: ${secret}`);
console.log(await hashSecret(secret));
