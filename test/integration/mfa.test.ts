import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestUser, gql, startTestApp, type TestApp, type TestUser } from '../helpers/kit.js';

const LOGIN =
  'mutation ($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { mfaRequired mfaToken accessToken refreshToken } }';
const VERIFY =
  'mutation ($t: String!, $c: String!) { verifyMfaLogin(input: { mfaToken: $t, code: $c }) { mfaRequired accessToken refreshToken } }';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOGIN_IP_MAX_ATTEMPTS: '1000' });
});
afterAll(() => t.close());

/** The code an authenticator app shows `stepsAhead` periods from now. */
function codeFor(secret: string, stepsAhead: number): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: Date.now() + stepsAhead * 30_000,
  });
}

async function enrolled(): Promise<{ user: TestUser; secret: string; backupCodes: string[] }> {
  const user = await createTestUser(t, ['CUSTOMER']);
  const enroll = await gql<{ enrollMfa: { secret: string; otpauthUri: string } }>(
    t.url,
    'mutation { enrollMfa { secret otpauthUri } }',
    undefined,
    user.headers,
  );
  const { secret, otpauthUri } = enroll.body.data!.enrollMfa;
  expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/ERP%20Gateway:.+\?.*secret=/);
  const confirm = await gql<{ confirmMfa: string[] }>(
    t.url,
    'mutation ($c: String!) { confirmMfa(input: { code: $c }) }',
    { c: codeFor(secret, 0) },
    user.headers,
  );
  expect(confirm.body.errors).toBeUndefined();
  return { user, secret, backupCodes: confirm.body.data!.confirmMfa };
}

describe('MFA (TOTP and backup codes)', () => {
  it('enrolment stores the secret encrypted and backup codes hashed; ten codes are shown once', async () => {
    const { user, secret, backupCodes } = await enrolled();
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    const row = await t.database.prisma.user.findUniqueOrThrow({
      where: { id: user.id },
      include: { backupCodes: true },
    });
    expect(row.mfaEnabled).toBe(true);
    expect(row.mfaSecret).not.toContain(secret);
    expect(row.backupCodes.map((c) => c.codeHash)).not.toContain(backupCodes[0]);
    const audit = await t.database.prisma.auditLog.count({ where: { userId: user.id, eventType: 'auth.mfa.enabled' } });
    expect(audit).toBe(1);
  });

  it('login becomes two steps: password, then a code; a code is never accepted twice', async () => {
    const { user, secret } = await enrolled();
    const first = await gql<{ login: { mfaRequired: boolean; mfaToken: string; accessToken: string | null } }>(
      t.url,
      LOGIN,
      { email: user.email, password: user.password },
      { authorization: '' },
    );
    expect(first.body.data?.login).toMatchObject({ mfaRequired: true, accessToken: null });
    const mfaToken = first.body.data!.login.mfaToken;
    // The challenge is not an access token.
    const misuse = await gql(t.url, '{ me { id } }', undefined, { authorization: `Bearer ${mfaToken}` });
    expect(misuse.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');

    const code = codeFor(secret, 1);
    const second = await gql<{ verifyMfaLogin: { accessToken: string } }>(
      t.url,
      VERIFY,
      { t: mfaToken, c: code },
      { authorization: '' },
    );
    expect(second.body.data?.verifyMfaLogin.accessToken).toBeTruthy();
    const me = await gql<{ me: { id: string } }>(t.url, '{ me { id } }', undefined, {
      authorization: `Bearer ${second.body.data!.verifyMfaLogin.accessToken}`,
    });
    expect(me.body.data?.me.id).toBe(user.id);

    const replay = await gql(t.url, VERIFY, { t: mfaToken, c: code }, { authorization: '' });
    expect(replay.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const older = await gql(t.url, VERIFY, { t: mfaToken, c: codeFor(secret, 0) }, { authorization: '' });
    expect(older.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const wrong = await gql(
      t.url,
      VERIFY,
      { t: mfaToken, c: '000000' === code ? '111111' : '000000' },
      { authorization: '' },
    );
    expect(wrong.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('each backup code works exactly once', async () => {
    const { user, backupCodes } = await enrolled();
    const login = async () =>
      (
        await gql<{ login: { mfaToken: string } }>(
          t.url,
          LOGIN,
          { email: user.email, password: user.password },
          { authorization: '' },
        )
      ).body.data!.login.mfaToken;
    const ok = await gql<{ verifyMfaLogin: { accessToken: string } }>(
      t.url,
      VERIFY,
      { t: await login(), c: backupCodes[0] },
      { authorization: '' },
    );
    expect(ok.body.data?.verifyMfaLogin.accessToken).toBeTruthy();
    const again = await gql(t.url, VERIFY, { t: await login(), c: backupCodes[0] }, { authorization: '' });
    expect(again.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const other = await gql<{ verifyMfaLogin: { accessToken: string } }>(
      t.url,
      VERIFY,
      { t: await login(), c: backupCodes[1]!.toLowerCase() },
      { authorization: '' },
    );
    expect(other.body.data?.verifyMfaLogin.accessToken).toBeTruthy();
  });

  it('disabling requires a current code', async () => {
    const { user, secret } = await enrolled();
    const bad = await gql(
      t.url,
      'mutation ($c: String!) { disableMfa(input: { code: $c }) }',
      { c: '123456' === codeFor(secret, 1) ? '654321' : '123456' },
      user.headers,
    );
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      fields: { 'input.code': ['code is wrong, expired or already used'] },
    });
    const ok = await gql(
      t.url,
      'mutation ($c: String!) { disableMfa(input: { code: $c }) }',
      { c: codeFor(secret, 1) },
      user.headers,
    );
    expect(ok.body.data).toEqual({ disableMfa: true });
    const login = await gql<{ login: { mfaRequired: boolean; accessToken: string } }>(
      t.url,
      LOGIN,
      { email: user.email, password: user.password },
      { authorization: '' },
    );
    expect(login.body.data?.login).toMatchObject({ mfaRequired: false });
    expect(await t.database.prisma.mfaBackupCode.count({ where: { userId: user.id } })).toBe(0);
  });

  it('enrolling twice while enabled is a conflict', async () => {
    const { user } = await enrolled();
    const again = await gql(t.url, 'mutation { enrollMfa { secret } }', undefined, user.headers);
    expect(again.body.errors?.[0]?.extensions.code).toBe('CONFLICT');
  });
});
