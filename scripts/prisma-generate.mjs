// Generates the Prisma client (src/generated/prisma) offline. `prisma generate` only needs
// the schema engine binary's path to exist: the client it generates is engine-free
// (prisma-client generator + @prisma/adapter-pg), and the native engine cannot be downloaded.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const stamp = 'src/generated/prisma/.schema-hash';
const hash = createHash('sha256').update(readFileSync('prisma/schema.prisma')).digest('hex');
if (!process.argv.includes('--force') && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) process.exit(0);

execFileSync('npx', ['prisma', 'generate'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
writeFileSync(stamp, hash);
