import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

/**
 * The console end to end, in headless Chromium against a real instance: sign in, create a
 * product and a device through the console, send data through the EnOS REST API and watch it
 * arrive on the dashboard (also across a lost connection), chart it, view, download and delete
 * files, and the view of an account limited to one device and of another organisation.
 */

const ORG = 'o-console';
const MODEL = `mutation { createThingModel(input: {
  identifier: "Inverter", name: "Solar inverter"
  attributes: [{ identifier: "ratedPowerKw", type: { dataType: DOUBLE }, unit: "kW" }]
  measurePoints: [
    { identifier: "power", name: "Power", type: { dataType: DOUBLE }, unit: "kW" }
    { identifier: "photo", type: { dataType: FILE } }
  ]
  events: [{ identifier: "overheat", level: WARN, outputData: [{ identifier: "temperature", type: { dataType: DOUBLE } }] }]
}) { identifier } }`;
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
/** Generous: the machine is shared and loaded. */
const UI_TIMEOUT_MS = 30_000;

let t: TestApp;
let admin: Tenant;
let browser: Browser;
let proxy: TcpProxy;
/** The console through a proxy the test can cut, to lose the WebSocket on purpose. */
let consoleUrl: string;
const contexts: BrowserContext[] = [];
/** Every Content-Security-Policy violation the pages reported. */
const cspViolations: string[] = [];
let roofAssetId = '';
let garageAssetId = '';

async function openConsole(opts: { fakeClock?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  if (opts.fakeClock) await page.clock.install();
  await page.goto(`${consoleUrl}/console/`);
  return page;
}

async function signIn(page: Page, tenant: Tenant): Promise<void> {
  await page.getByLabel('AccessKey').fill(tenant.accessKey);
  await page.getByLabel('SecretKey').fill(tenant.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** Posts point values as an EnOS device or the EnOS SDK does (multipart with an enos-message part). */
async function postEnos(deviceKey: string, time: number, measurepoints: Record<string, unknown>): Promise<void> {
  const form = new FormData();
  form.append('enos-message', JSON.stringify({ id: String(time), version: '1.1', method: 'integration.measurepoint.post', params: [{ productKey: 'pkConsole', deviceKey, time, measurepoints }] }));
  const res = await fetch(`${t.url}/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${ORG}`, { method: 'POST', headers: { 'apim-accesstoken': admin.token }, body: form });
  expect(await res.json()).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  // The shortest token life, and a skew that accepts the signatures of a browser whose clock the
  // renewal test moves forward.
  t = await startTestApp({ TOKEN_TTL_S: '660', TOKEN_SKEW_MS: '3600000' });
  admin = await t.tenant(ORG);
  expect((await t.gql(admin.token, MODEL)).errors).toBeUndefined();
  browser = await launchBrowser();
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(t.url).port));
  consoleUrl = `http://127.0.0.1:${proxy.port}`;
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await proxy?.close();
  await t?.close();
});

describe('the console in a browser', () => {
  it('says in words when the keys are wrong, and keeps no cookie', async () => {
    const page = await openConsole();
    await page.getByLabel('AccessKey').fill(admin.accessKey);
    await page.getByLabel('SecretKey').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The access key and secret key do not match.');
    await signIn(page, admin);
    expect(await page.context().cookies()).toEqual([]);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('signs in with a pasted token', async () => {
    const page = await openConsole();
    await page.getByRole('tab', { name: 'Token' }).click();
    await page.getByLabel('Token').fill(admin.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toContain(admin.accessKey);
  });

  it('renews the token before it expires, so that the session goes on', async () => {
    const page = await openConsole({ fakeClock: true });
    const tokenRequests: number[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/apim-token-service/v2.0/token/get')) tokenRequests.push(Date.now());
    });
    await signIn(page, admin);
    expect(tokenRequests).toHaveLength(1);
    const expiresAt = async () => (JSON.parse(String(await page.evaluate('sessionStorage.getItem("tributary.console.session")'))) as { expiresAt: number }).expiresAt;
    const first = await expiresAt();
    // Past 60 % of the token's 660 s the console asks for a new one...
    await page.clock.fastForward('07:00');
    await expect.poll(() => tokenRequests.length, { timeout: UI_TIMEOUT_MS }).toBe(2);
    await expect.poll(expiresAt, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(first);
    // ...and is still signed in after the first token's expiry.
    await page.clock.fastForward('05:00');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Products', exact: true }).click();
    await page.getByRole('heading', { name: 'Products' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
  });

  it('creates a product and devices through the console', async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Products');
    await page.getByRole('link', { name: 'New product' }).click();
    await page.getByLabel('Product key').fill('pkConsole');
    await page.getByLabel('Name').fill('Console inverters');
    await page.getByRole('button', { name: 'Create product' }).click();
    await page.getByRole('cell', { name: 'pkConsole' }).waitFor();

    for (const [deviceKey, name] of [
      ['roof01', 'Roof inverter'],
      ['garage01', 'Garage inverter'],
    ] as const) {
      await nav(page, 'Devices');
      await page.getByRole('link', { name: 'New device' }).click();
      await page.getByLabel('Device key').fill(deviceKey);
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('ratedPowerKw (kW)').fill('5');
      await page.getByRole('button', { name: 'Create device' }).click();
      await page.getByRole('heading', { name }).waitFor();
    }
    const devices = await t.gql<{ devices: { edges: { node: { assetId: string; deviceKey: string; attributes: Record<string, unknown> } }[] } }>(admin.token, '{ devices(filter: { productKey: "pkConsole" }) { edges { node { assetId deviceKey attributes } } } }');
    const byKey = new Map(devices.data?.devices.edges.map((e) => [e.node.deviceKey, e.node]));
    expect(byKey.get('roof01')?.attributes).toEqual({ ratedPowerKw: 5 });
    roofAssetId = byKey.get('roof01')!.assetId;
    garageAssetId = byKey.get('garage01')!.assetId;
  });

  it('shows values sent through the EnOS REST API on the dashboard as they arrive, and resumes after a lost connection', async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await nav(page, 'Live dashboard');
    await page.getByTestId('device-picker').getByText('Roof inverter').click();
    await page.getByTestId('point-picker').getByText('Power').click();
    const status = page.getByTestId('dashboard-status');
    // NOTE: locators, not waitForFunction with a string: the console's CSP refuses eval, which a polling string predicate needs.
    await page.locator('[data-testid="dashboard-status"][data-status="connected"]').waitFor({ timeout: UI_TIMEOUT_MS });
    // The subscription is registered shortly after the socket connects: post until it shows.
    const tile = page.getByTestId('dash-value-roof01-power');
    for (let i = 0; !(await tile.textContent())?.includes('4.25'); i++) {
      expect(i).toBeLessThan(60);
      await postEnos('roof01', Date.now(), { power: 4.25 });
      await page.waitForTimeout(500);
    }
    expect(Number(await status.getAttribute('data-batches'))).toBeGreaterThan(0);

    // Lose the connection, send a value meanwhile, and get it when the console reconnects.
    proxy.set('down');
    try {
      await page.locator('[data-testid="dashboard-status"]:not([data-status="connected"])').waitFor({ timeout: UI_TIMEOUT_MS });
      await postEnos('roof01', Date.now(), { power: 3.5 });
    } finally {
      proxy.set('up');
    }
    await page.getByTestId('dash-value-roof01-power').getByText('3.5', { exact: true }).waitFor();
    await expect(status.textContent()).resolves.toMatch(/resumed after offset \d+/);
  });

  it('charts a point, and views, downloads and deletes files on the device page', async () => {
    const page = await openConsole();
    await signIn(page, admin);
    await page.goto(`${consoleUrl}/console/#/devices/${roofAssetId}`);
    await page.getByTestId('latest-power').getByText('3.5').waitFor();

    await page.getByRole('tab', { name: 'Chart' }).click();
    await page.getByTestId('chart-summary').getByText(/^[2-9]\d* values/).waitFor();
    await page.getByLabel('Values').selectOption('aggregate');
    await page.getByTestId('chart-summary').getByText(/buckets of/).waitFor();

    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('first line\nsecond line\n') });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText('Uploaded notes.txt').waitFor();
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: PNG });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText('Uploaded pixel.png').waitFor();

    const textRow = page.locator('tr[data-file="notes.txt"]');
    await textRow.getByRole('button', { name: 'View' }).click();
    await expect(page.getByTestId('file-preview').locator('pre').textContent()).resolves.toBe('first line\nsecond line\n');
    await page.locator('tr[data-file="pixel.png"]').getByRole('button', { name: 'View' }).click();
    const img = page.getByTestId('file-preview').locator('img');
    await img.waitFor();
    await expect.poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), { timeout: UI_TIMEOUT_MS }).toBe(1);

    const [download] = await Promise.all([page.waitForEvent('download'), textRow.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(readFileSync((await download.path())!, 'utf8')).toBe('first line\nsecond line\n');

    await textRow.getByRole('button', { name: 'Delete' }).click();
    await textRow.getByRole('button', { name: 'Delete the file?' }).click();
    await textRow.waitFor({ state: 'detached' });
    const left = await t.gql<{ deviceFiles: { fileName: string }[] }>(admin.token, `{ deviceFiles(device: { assetId: "${roofAssetId}" }) { fileName } }`);
    expect(left.data?.deviceFiles.map((f) => f.fileName)).toEqual(['pixel.png']);
  });

  it('shows an account limited to one device only that device, and what it may not do', async () => {
    const limited = await t.tenant(ORG, [
      { permission: 'REGISTRY_READ', assetIds: [roofAssetId] },
      { permission: 'ASSET_READ', assetIds: [roofAssetId] },
    ]);
    const page = await openConsole();
    await signIn(page, limited);
    await nav(page, 'Devices');
    await page.getByRole('link', { name: 'Roof inverter' }).waitFor();
    expect(await page.getByRole('link', { name: 'Garage inverter' }).count()).toBe(0);
    await page.getByText('Creating devices needs REGISTRY_FULL.').waitFor();

    await page.getByRole('link', { name: 'Roof inverter' }).click();
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.locator('tr[data-file="pixel.png"]').waitFor();
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await page.getByText('Deleting and uploading files needs ASSET_WRITE on this device.').waitFor();

    await page.goto(`${consoleUrl}/console/#/devices/${garageAssetId}`);
    await page.getByText('This device does not exist, or this service account cannot see it.').waitFor();

    await nav(page, 'Live dashboard');
    await page.getByTestId('device-picker').getByText('Roof inverter').waitFor();
    expect(await page.getByTestId('device-picker').getByText('Garage inverter').count()).toBe(0);
  });

  it('shows another organisation none of these devices', async () => {
    const other = await t.tenant('o-console-other');
    const page = await openConsole();
    await signIn(page, other);
    await nav(page, 'Devices');
    await page.getByText('No devices yet, or none this service account may see.').waitFor();
    await page.goto(`${consoleUrl}/console/#/devices/${roofAssetId}`);
    await page.getByText('This device does not exist, or this service account cannot see it.').waitFor();
  });

  it('ran every page without a Content-Security-Policy violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
