import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../helpers/databases.js';
import { ROOT, scratchDatabase, strongSecret } from '../helpers/kit.js';

interface Exit {
  code: number | null;
  output: string;
}

/** Runs the real entry point (src/main.ts) as a process and collects what it printed. */
function runGateway(env: Record<string, string>, timeoutMs = 30_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const scratch: string[] = [];
afterAll(async () => {
  for (const name of scratch) await dropDatabase(name);
});

describe('startup refusals (REQ 1.2, 1.4, 15.3, 19.3)', () => {
  it('refuses a weak JWT secret, naming it but never printing it', async () => {
    const weak = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const exit = await runGateway({ NODE_ENV: 'development', JWT_SECRETS: weak });
    expect(exit.code).toBe(1);
    expect(exit.output).toContain('JWT_SECRETS entry 1 has low entropy');
    expect(exit.output).not.toContain(weak);
  });

  it('refuses the old default pepper', async () => {
    const exit = await runGateway({
      NODE_ENV: 'development',
      PASSWORD_PEPPER: 'erpgo-secret-pepper-change-in-production',
    });
    expect(exit.code).toBe(1);
    expect(exit.output).toContain('PASSWORD_PEPPER is a known default value');
  });

  it('refuses to start while migrations are pending, naming them', async () => {
    const { url, name } = await scratchDatabase('pending');
    scratch.push(name);
    const exit = await runGateway({
      NODE_ENV: 'test',
      DATABASE_URL: url,
      JWT_SECRETS: strongSecret(),
      PASSWORD_PEPPER: strongSecret(),
    });
    expect(exit.code).toBe(1);
    expect(exit.output).toMatch(/Refusing to start: \d+ pending migration\(s\): 20261124000000_init, /);
  });
});
