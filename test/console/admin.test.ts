import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

/**
 * The console's administration pages end to end, in headless Chromium against a real instance:
 * registering an application (its SecretKey shown once), signing in with it, narrowing its grants
 * to one device, rotating, disabling and deleting it; creating a thing model in the form and as
 * JSON, exporting and importing it; editing a point's policies; what an account without the
 * permissions sees; and that another organisation sees none of it.
 */

const ORG = 'o-console-admin';
const OTHER_ORG = 'o-console-admin-other';
/** Generous: the machine is shared and loaded. */
const UI_TIMEOUT_MS = 60_000;
/** A whole test: several pages and sign-ins, on a loaded machine. */
const TEST_TIMEOUT = { timeout: 240_000 };

let t: TestApp;
let admin: Tenant;
let browser: Browser;
const contexts: BrowserContext[] = [];
const cspViolations: string[] = [];
/** Every uncaught error in a page (a crash leaves a blank page). */
const pageErrors: string[] = [];
let roofAssetId = '';
/** The keys of the application registered through the console. */
let app: { accessKey: string; secretKey: string } = { accessKey: '', secretKey: '' };

async function openConsole(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(`${t.url}/console/`);
  return page;
}

async function signIn(page: Page, keys: { accessKey: string; secretKey: string }): Promise<void> {
  await page.getByLabel('AccessKey').fill(keys.accessKey);
  await page.getByLabel('SecretKey').fill(keys.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** The device links a Devices page lists. */
async function listedDevices(page: Page): Promise<string[]> {
  await nav(page, 'Devices');
  await page.getByRole('heading', { name: 'Devices' }).waitFor();
  await page.getByRole('link', { name: 'Roof inverter' }).waitFor();
  return (await page.locator('table tbody a').allTextContents()).filter((s) => s.endsWith('inverter')).sort();
}

async function gqlOk<T>(token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const r = await t.gql<T>(token, query, variables);
  expect(r.errors).toBeUndefined();
  return r.data as T;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant(ORG);
  await gqlOk(admin.token, 'mutation { createThingModel(input: { identifier: "Inverter", name: "Solar inverter", measurePoints: [{ identifier: "power", type: { dataType: DOUBLE } }] }) { identifier } }');
  await gqlOk(admin.token, 'mutation { createProduct(input: { productKey: "pkAdmin", name: "Admin inverters", modelIdentifier: "Inverter" }) { productKey } }');
  for (const [deviceKey, name] of [
    ['roof01', 'Roof inverter'],
    ['garage01', 'Garage inverter'],
  ]) {
    const d = await gqlOk<{ createDevice: { assetId: string } }>(admin.token, 'mutation ($k: String!, $n: String!) { createDevice(input: { productKey: "pkAdmin", deviceKey: $k, name: $n }) { assetId } }', { k: deviceKey, n: name });
    if (deviceKey === 'roof01') roofAssetId = d.createDevice.assetId;
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
});

describe('applications and service accounts in the console', () => {
  it('registers an application, shows its SecretKey once, and the application signs in with it', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Applications');
    await page.getByRole('link', { name: 'Register an application' }).click();
    await page.getByLabel('Application name').fill('Roof dashboard');
    await page.getByTestId('grant-0').getByLabel('Permission').selectOption('REGISTRY_READ');
    await page.getByRole('button', { name: 'Add a grant' }).click();
    await page.getByTestId('grant-1').getByLabel('Permission').selectOption('ASSET_READ');
    await page.getByRole('button', { name: 'Register' }).click();

    const shown = page.getByTestId('secret-once');
    await shown.getByText('you will not see it again').waitFor();
    app = { accessKey: (await page.getByTestId('new-access-key').textContent()) ?? '', secretKey: (await page.getByTestId('new-secret-key').textContent()) ?? '' };
    expect(app.accessKey).toMatch(/^ak-/);
    expect(app.secretKey.length).toBeGreaterThan(16);
    await shown.getByRole('button', { name: 'Copy SecretKey' }).waitFor();
    await page.getByRole('button', { name: 'I have stored the SecretKey' }).click();

    // The list shows the account and its grants, never the secret.
    const row = page.locator(`tr[data-access-key="${app.accessKey}"]`);
    await row.getByText('REGISTRY_READ on the whole organisation').waitFor();
    expect(await page.content()).not.toContain(app.secretKey);
    const listed = await gqlOk<{ serviceAccounts: { accessKey: string; name: string; grants: { permission: string }[] }[] }>(admin.token, '{ serviceAccounts { accessKey name grants { permission } } }');
    expect(listed.serviceAccounts.find((s) => s.accessKey === app.accessKey)).toEqual({ accessKey: app.accessKey, name: 'Roof dashboard', grants: [{ permission: 'REGISTRY_READ' }, { permission: 'ASSET_READ' }] });

    const appPage = await openConsole();
    await signIn(appPage, app);
    expect(await listedDevices(appPage)).toEqual(['Garage inverter', 'Roof inverter']);
  });

  it('narrows the grants to one device with the pickers, and the application then sees only that device', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Applications');
    await page.locator(`tr[data-access-key="${app.accessKey}"]`).getByRole('link', { name: 'Edit grants' }).click();
    await page.getByRole('heading', { name: 'Grants of Roof dashboard' }).waitFor();
    for (const i of [0, 1]) {
      await page.getByTestId(`grant-${i}`).getByLabel('Some devices').check();
      const picker = page.getByTestId(`device-picker-${i}`);
      await picker.getByRole('checkbox', { name: /Garage inverter/ }).waitFor();
      await picker.getByRole('checkbox', { name: /Roof inverter/ }).check();
    }
    await page.getByRole('button', { name: 'Save grants' }).click();
    await page.locator(`tr[data-access-key="${app.accessKey}"]`).getByText(`ASSET_READ on devices ${roofAssetId}`).waitFor();

    const appPage = await openConsole();
    await signIn(appPage, app);
    expect(await listedDevices(appPage)).toEqual(['Roof inverter']);
    // What the account may not do is said, not attempted.
    await nav(appPage, 'Applications');
    await appPage.getByText('Your service account may not manage service accounts (needs ORG_ADMIN).').waitFor();
    await nav(appPage, 'Thing models');
    await appPage.getByText('Creating, importing and changing thing models needs REGISTRY_FULL.').waitFor();
    expect(await appPage.getByRole('link', { name: 'New thing model' }).count()).toBe(0);
    await nav(appPage, 'Policies');
    await appPage.getByText('Your service account may only look: changing policies needs REGISTRY_FULL.').waitFor();
  });

  it('rotates the secret (shown once; the old one stops working), disables and deletes the account', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Applications');
    const row = page.locator(`tr[data-access-key="${app.accessKey}"]`);
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await row.getByRole('button', { name: /Really rotate/ }).click();
    const newSecret = (await page.getByTestId('new-secret-key').textContent()) ?? '';
    expect(newSecret).not.toBe(app.secretKey);
    await page.getByRole('button', { name: 'I have stored the SecretKey' }).click();
    await page.getByTestId('secret-once').waitFor({ state: 'detached' });

    const stale = await openConsole();
    await stale.getByLabel('AccessKey').fill(app.accessKey);
    await stale.getByLabel('SecretKey').fill(app.secretKey);
    await stale.getByRole('button', { name: 'Sign in' }).click();
    await expect(stale.getByRole('alert').textContent()).resolves.toContain('The access key and secret key do not match.');
    const fresh = await openConsole();
    await signIn(fresh, { accessKey: app.accessKey, secretKey: newSecret });

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    expect((await t.gql(await t.token(app.accessKey, newSecret).catch(() => ''), '{ me { serviceAccount { name } } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('Enabled', { exact: true }).waitFor();

    // The signed-in account itself offers none of these.
    const own = page.locator(`tr[data-access-key="${admin.accessKey}"]`);
    await own.getByText('Your own account cannot be disabled, rotated or deleted here').waitFor();

    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Really delete the account?' }).click();
    await row.waitFor({ state: 'detached' });
    const left = await gqlOk<{ serviceAccounts: { accessKey: string }[] }>(admin.token, '{ serviceAccounts { accessKey } }');
    expect(left.serviceAccounts.map((s) => s.accessKey)).not.toContain(app.accessKey);
  });
});

describe('thing models in the console', () => {
  it('creates a model in the form, shows its features with types and units, and edits it as JSON', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Thing models');
    await page.getByRole('link', { name: 'New thing model' }).click();
    await page.getByLabel('Identifier', { exact: true }).first().fill('Meter');
    await page.getByLabel('Model name').fill('Power meter');
    for (const [i, id, unit] of [
      [0, 'power', 'W'],
      [1, 'powerKw', 'kW'],
    ] as const) {
      await page.getByRole('button', { name: 'Add measure point' }).click();
      const row = page.getByTestId(`measurePoints-${i}`);
      await row.getByLabel('Identifier').fill(id);
      await row.getByLabel('Unit').fill(unit);
    }
    await page.getByTestId('measurePoints-0').getByLabel('Minimum').fill('0');
    await page.getByRole('button', { name: 'Add measure point' }).click();
    const state = page.getByTestId('measurePoints-2');
    await state.getByLabel('Identifier').fill('state');
    await state.getByLabel('Data type').selectOption('ENUM');
    await state.getByLabel('Values (key=label, separated by commas)').fill('0=off, 1=on');
    await page.getByRole('button', { name: 'Add event' }).click();
    await page.getByTestId('events-0').getByLabel('Identifier').fill('tamper');
    await page.getByTestId('events-0').getByLabel('Level').selectOption('WARN');
    await page.getByRole('button', { name: 'Create model' }).click();

    await page.getByRole('heading', { name: /Power meter/ }).waitFor();
    const points = page.getByTestId('model-points');
    await points.locator('tr[data-feature="power"]').getByText('DOUBLE 0 … ∞').waitFor();
    await points.locator('tr[data-feature="powerKw"]').getByText('kW', { exact: true }).waitFor();
    await points.locator('tr[data-feature="state"]').getByText('ENUM (0 off, 1 on)').waitFor();
    await page.getByTestId('model-events').locator('tr[data-feature="tamper"]').getByText('WARN').waitFor();

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    const editor = page.getByLabel('Model JSON');
    const doc = JSON.parse(await editor.inputValue()) as { name: string };
    expect(doc).toMatchObject({ identifier: 'Meter', name: 'Power meter' });
    await editor.fill(JSON.stringify({ ...doc, name: 'Power meter v2' }));
    await page.getByRole('button', { name: 'Save model' }).click();
    await page.getByRole('heading', { name: /Power meter v2/ }).waitFor();

    const m = await gqlOk<{ thingModel: { version: number; measurePoints: { identifier: string; unit: string | null; type: { dataType: string; min: number | null } }[] } }>(
      admin.token,
      '{ thingModel(identifier: "Meter") { version measurePoints { identifier unit type { dataType min } } } }',
    );
    expect(m.thingModel.version).toBe(2);
    expect(m.thingModel.measurePoints).toEqual([
      { identifier: 'power', unit: 'W', type: { dataType: 'DOUBLE', min: 0 } },
      { identifier: 'powerKw', unit: 'kW', type: { dataType: 'DOUBLE', min: null } },
      { identifier: 'state', unit: null, type: { dataType: 'ENUM', min: null } },
    ]);
  });

  it('exports the model as a JSON file and imports it as a new model, refusing a duplicate in words', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await page.goto(`${t.url}/console/#/models/Meter`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    expect(download.suggestedFilename()).toBe('Meter.json');
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>;
    const api = await gqlOk<{ exportThingModel: unknown }>(admin.token, '{ exportThingModel(identifier: "Meter") }');
    expect(exported).toEqual(api.exportThingModel);

    await nav(page, 'Thing models');
    const copy = Buffer.from(JSON.stringify({ ...exported, identifier: 'MeterCopy', name: 'Copied meter' }));
    await page.getByLabel('Model JSON file').setInputFiles({ name: 'MeterCopy.json', mimeType: 'application/json', buffer: copy });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('heading', { name: /Copied meter/ }).waitFor();
    await page.getByTestId('model-points').locator('tr[data-feature="state"]').waitFor();

    await nav(page, 'Thing models');
    await page.getByLabel('Model JSON file').setInputFiles({ name: 'MeterCopy.json', mimeType: 'application/json', buffer: copy });
    await page.getByRole('button', { name: 'Import' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('This conflicts with something that exists');
    await page.getByLabel('Replace a model with the same identifier').check();
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('heading', { name: /Copied meter/ }).waitFor();

    await nav(page, 'Thing models');
    await page.getByLabel('Model JSON file').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{ not json') });
    await page.getByRole('button', { name: 'Import' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('broken.json is not JSON');
  });
});

describe('policies in the console', () => {
  it('shows the effective policy of a point and edits its processing, a computed point and a storage policy', TEST_TIMEOUT, async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Policies');
    await page.getByLabel('Thing model').selectOption('Meter');
    await page.getByRole('navigation', { name: 'Measure points' }).getByRole('link', { name: 'power', exact: true }).click();
    const effective = page.getByTestId('effective-policy');
    await effective.getByText('none: values are stored as received').waitFor();

    const processing = page.getByTestId('processing-editor');
    await processing.getByRole('combobox', { name: /^Step/ }).selectOption('RANGE');
    await processing.getByRole('button', { name: 'Add step' }).click();
    await processing.getByTestId('step-0').getByLabel('Maximum').fill('5000');
    await processing.getByTestId('step-0').getByLabel('Outside the range').selectOption('CLAMP');
    await processing.getByRole('button', { name: 'Save processing' }).click();
    await page.getByTestId('effective-processing').getByText('range: −∞ … 5000, outside: clamp').waitFor();
    // The editor shows the policy as saved.
    expect(await processing.getByTestId('step-0').getByLabel('Maximum').inputValue()).toBe('5000');

    await page.getByRole('navigation', { name: 'Measure points' }).getByRole('link', { name: 'powerKw', exact: true }).click();
    const computed = page.getByTestId('computed-editor');
    await computed.getByLabel('Expression', { exact: true }).fill('power / 1000');
    await computed.getByRole('button', { name: 'Save computation' }).click();
    await page.getByTestId('effective-computed').getByText('= power / 1000').waitFor();
    await computed.getByLabel('Expression', { exact: true }).fill('power * efficiency');
    await computed.getByRole('button', { name: 'Save computation' }).click();
    await expect(computed.getByRole('alert').textContent()).resolves.toContain('efficiency is not a measurement point');

    await page.getByRole('button', { name: 'New storage policy' }).click();
    const storage = page.getByTestId('storage-editor');
    await storage.getByLabel('Policy name').fill('history');
    await storage.getByLabel('The model default').check();
    await storage.getByLabel('Raw history (every value)', { exact: true }).check();
    await storage.getByLabel('Raw history (every value): days kept').fill('90');
    await storage.getByLabel('Per-hour rollups', { exact: true }).check();
    await storage.getByLabel('Per-hour rollups: days kept').fill('1826');
    await storage.getByRole('button', { name: 'Save storage policy' }).click();
    await page.getByTestId('effective-storage').getByText('RAW for 90 days, ROLLUP_1H for 1826 days').waitFor();

    const p = await gqlOk<{ modelPolicies: unknown }>(admin.token, '{ modelPolicies(model: "Meter") { processing { point steps { kind max action } } computed { point expression } storage { name points forms { form retentionDays } } } }');
    expect(p.modelPolicies).toEqual({
      processing: [{ point: 'power', steps: [{ kind: 'RANGE', max: 5000, action: 'CLAMP' }] }],
      computed: [{ point: 'powerKw', expression: 'power / 1000' }],
      storage: [{ name: 'history', points: null, forms: [{ form: 'RAW', retentionDays: 90 }, { form: 'ROLLUP_1H', retentionDays: 1826 }] }],
    });
  });
});

describe("another organisation's view", () => {
  it('never shows the accounts, models, products or devices of another organisation', TEST_TIMEOUT, async () => {
    const other = await t.tenant(OTHER_ORG);
    const page = await openConsole();
    await signIn(page, other);
    await nav(page, 'Applications');
    await page.locator(`tr[data-access-key="${other.accessKey}"]`).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.content()).not.toContain(admin.accessKey);

    await nav(page, 'Thing models');
    await page.getByText('No thing models yet.').waitFor();
    await page.goto(`${t.url}/console/#/models/Meter`);
    await page.getByText('This thing model does not exist, or this service account cannot see it.').waitFor();
    await page.goto(`${t.url}/console/#/policies/Meter`);
    await page.getByText('This thing model does not exist, or this service account cannot see it.').waitFor();

    // The grant pickers list only this organisation's products and devices: none.
    await page.goto(`${t.url}/console/#/applications/new`);
    await page.getByTestId('grant-0').getByLabel('Some products', { exact: true }).check();
    await page.getByTestId('product-picker-0').getByText('No product matches.').waitFor();
    await page.getByTestId('grant-0').getByLabel('Some devices').check();
    await page.getByTestId('device-picker-0').getByText('No device matches.').waitFor();
    // A key typed by hand is refused in words, not accepted.
    const r = await t.gql(other.token, 'mutation ($a: [ID!]) { createServiceAccount(name: "probe", grants: [{ permission: ASSET_READ, assetIds: $a }]) { accessKey } }', { a: [roofAssetId] });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('ran every page without a Content-Security-Policy violation or an uncaught error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
