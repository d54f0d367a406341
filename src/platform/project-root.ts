import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding package.json, found upwards from this file; the same answer whether the
 * code runs from src/ (tsx, vitest) or dist/src/ (production).
 */
export function findProjectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export function readPackageVersion(rootDir: string): string {
  const pkg = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
