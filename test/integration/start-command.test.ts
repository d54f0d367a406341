import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_COMMAND } from '../../load/gateway-command.js';
import { ROOT } from '../helpers/kit.js';

// The Node flags are part of what is measured (docs/capacity.md, "Memory"): the image, `npm start`
// and the load runner must start the gateway with the same command, or the runner measures
// something production does not run.
describe('the gateway start command', () => {
  it('is the same in the Dockerfile, scripts/start.sh and the load runner', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const cmds = [...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].map((m) => JSON.parse(m[1]!) as string[]);
    const image = cmds.find((argv) => argv.at(-1) === 'dist/src/main.js');
    expect(image).toEqual(['node', ...GATEWAY_COMMAND]);

    const startScript = readFileSync(join(ROOT, 'scripts', 'start.sh'), 'utf8');
    const exec = /^exec node (.*)$/m.exec(startScript)?.[1]?.trim().split(/\s+/);
    expect(exec).toEqual([...GATEWAY_COMMAND]);
  });
});
