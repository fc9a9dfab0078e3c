// Screenshots of the console's main pages for docs/console/*.png, from a real instance:
// an embedded database in a temporary folder, the README's inverter, values sent over GraphQL,
// and Debian's Chromium (apt-get install chromium) driven by playwright-core.
//   npm run console:screenshots
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { createApp } from '../src/server/app';
import { launchBrowser } from '../test/helpers/browser';
import { shootAdminPages } from './console-screenshots-admin';

const OUT = join(import.meta.dirname, '..', 'docs', 'console');
const VIEWPORT = { width: 1280, height: 800 };
const MINUTE_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-screenshots-'));
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', SCHEDULER_ENABLED: 'false' });
const app = await createApp(config, { log: createLogger('warn') });
const url = await app.listen();
const { accessKey, secretKey } = JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { accessKey: string; secretKey: string };
const browser = await launchBrowser();

try {
  const token = await getToken();
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: unknown; errors?: { message: string }[] };
    if (body.errors) throw new Error(`${body.errors[0]?.message} in ${query.slice(0, 80)}`);
    return body.data as Record<string, any>;
  };
  await seed(gql);

  const page = await browser.newPage({ viewport: VIEWPORT });
  mkdirSync(OUT, { recursive: true });
  const shot = async (name: string) => {
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    process.stdout.write(`docs/console/${name}.png\n`);
  };
  await page.goto(`${url}/console/`);
  await page.getByLabel('AccessKey').fill(accessKey);
  await shot('sign-in');
  await page.getByLabel('SecretKey').fill(secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await shot('overview');
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await nav('Devices');
  await page.getByRole('link', { name: 'Roof inverter' }).waitFor();
  await shot('devices');
  await page.getByRole('link', { name: 'Roof inverter' }).click();
  await page.getByTestId('latest-power').waitFor();
  await shot('device');
  await page.getByRole('tab', { name: 'Chart' }).click();
  await page.getByTestId('chart-summary').waitFor();
  await page.getByLabel('Values').selectOption('aggregate');
  await page.getByTestId('chart-summary').getByText(/buckets/).waitFor();
  await shot('chart');
  // The chart itself, as the device's photo: a real image for the file preview.
  const photo = await page.getByTestId('chart').screenshot();
  await uploadPhoto(token, photo);
  await page.getByRole('tab', { name: 'Files' }).click();
  await page.locator('tr[data-file="photo.png"]').getByRole('button', { name: 'View' }).click();
  await page.getByTestId('file-preview').locator('img').waitFor();
  await shot('files');

  await nav('Live dashboard');
  await page.getByTestId('device-picker').getByText('Roof inverter').click();
  await page.getByTestId('device-picker').getByText('Garage inverter').click();
  await page.getByTestId('point-picker').getByText('power').first().click();
  await page.getByTestId('point-picker').getByText('temperature').first().click();
  // Values arriving while the dashboard is open.
  for (let i = 0; i < 6; i++) {
    await postNow(gql, i);
    await page.waitForTimeout(400);
  }
  await shot('dashboard');
  await shootAdminPages(page, shot);
} finally {
  await browser.close();
  await app.stop(1000);
  rmSync(dataDir, { recursive: true, force: true });
}

async function getToken(): Promise<string> {
  const { signTokenRequest } = await import('../src/auth/tokens');
  const timestamp = String(Date.now());
  const res = await fetch(`${url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: accessKey, encryption: signTokenRequest(accessKey, timestamp, secretKey), timestamp }) });
  return ((await res.json()) as { data: { accessToken: string } }).data.accessToken;
}

type Gql = (query: string, variables?: Record<string, unknown>) => Promise<Record<string, any>>;

/** The README's inverter and a second one, with a day of values up to now. */
async function seed(gql: Gql): Promise<void> {
  await gql(`mutation { createThingModel(input: {
    identifier: "Inverter", name: "Solar inverter"
    attributes: [{ identifier: "firmware", type: { dataType: STRING } }, { identifier: "ratedPowerKw", type: { dataType: DOUBLE }, unit: "kW" }]
    measurePoints: [
      { identifier: "power", type: { dataType: DOUBLE, min: 0 }, unit: "kW", signalType: AI }
      { identifier: "status", type: { dataType: ENUM, enumValues: [{ key: "0", label: "off" }, { key: "1", label: "running" }, { key: "2", label: "fault" }] }, signalType: DI }
      { identifier: "temperature", type: { dataType: DOUBLE }, unit: "°C" }
      { identifier: "photo", type: { dataType: FILE } }
    ]
    events: [{ identifier: "overheat", level: WARN, outputData: [{ identifier: "temperature", type: { dataType: DOUBLE } }] }]
  }) { identifier } }`);
  await gql('mutation { createProduct(input: { productKey: "pkInverter", name: "Inverter 5 kW", modelIdentifier: "Inverter" }) { productKey } }');
  await gql('mutation { createDevice(input: { productKey: "pkInverter", deviceKey: "inv001", name: "Roof inverter", timezone: "Europe/Berlin", attributes: { ratedPowerKw: 5 } }) { assetId } }');
  await gql('mutation { createDevice(input: { productKey: "pkInverter", deviceKey: "inv002", name: "Garage inverter", timezone: "Europe/Berlin", attributes: { ratedPowerKw: 3 } }) { assetId } }');
  const now = Date.now();
  const items = [];
  for (let m = 24 * 60; m >= 15; m -= 5) {
    const time = now - m * MINUTE_MS;
    const sun = Math.max(0, Math.sin(((time / 3_600_000 + 1) % 24) / 24 * 2 * Math.PI - Math.PI / 2));
    items.push({ productKey: 'pkInverter', deviceKey: 'inv001', time, values: { power: +Math.max(0, 4.6 * sun + 0.1 * Math.sin(m)).toFixed(2), temperature: +(25 + 20 * sun).toFixed(1), status: sun > 0 ? 1 : 0 } });
    items.push({ productKey: 'pkInverter', deviceKey: 'inv002', time, values: { power: +(2.8 * sun).toFixed(2), temperature: +(22 + 15 * sun).toFixed(1), status: sun > 0 ? 1 : 0 } });
  }
  // The last quarter of an hour more densely, as a dashboard sees it.
  for (let s = 15 * 60; s > 0; s -= 20) {
    const time = now - s * 1000 + 1;
    items.push({ productKey: 'pkInverter', deviceKey: 'inv001', time, values: { power: +(3.8 + 0.25 * Math.sin(s / 90)).toFixed(2), temperature: +(43 + Math.sin(s / 200)).toFixed(1) } });
    items.push({ productKey: 'pkInverter', deviceKey: 'inv002', time, values: { power: +(2.4 + 0.2 * Math.cos(s / 70)).toFixed(2), temperature: +(35 + Math.cos(s / 150)).toFixed(1) } });
  }
  for (let i = 0; i < items.length; i += 200) await gql('mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }', { items: items.slice(i, i + 200) });
  await gql('mutation { postAttributes(items: [{ productKey: "pkInverter", deviceKey: "inv001", values: { firmware: "2.4.1" } }]) { accepted } }');
  await gql(`mutation { postEvents(items: [{ productKey: "pkInverter", deviceKey: "inv001", time: ${now - 90 * MINUTE_MS}, events: { overheat: { temperature: 81.5 } } }]) { accepted } }`);
}

async function postNow(gql: Gql, i: number): Promise<void> {
  const time = Date.now();
  await gql('mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }', {
    items: [
      { productKey: 'pkInverter', deviceKey: 'inv001', time, values: { power: +(3.9 + 0.2 * Math.sin(i)).toFixed(2), temperature: 44 + i * 0.3 } },
      { productKey: 'pkInverter', deviceKey: 'inv002', time, values: { power: +(2.4 + 0.15 * Math.cos(i)).toFixed(2), temperature: 36 + i * 0.2 } },
    ],
  });
}

async function uploadPhoto(token: string, png: Buffer): Promise<void> {
  const form = new FormData();
  const query = 'mutation($items: [PointsItemInput!]!, $files: [FileInput!]) { postMeasurePoints(items: $items, files: $files) { accepted } }';
  form.append('operations', JSON.stringify({ query, variables: { items: [{ productKey: 'pkInverter', deviceKey: 'inv001', time: Date.now(), values: { photo: 'local://photo.png' } }], files: [{ name: 'photo.png', file: null }] } }));
  form.append('map', JSON.stringify({ 0: ['variables.files.0.file'] }));
  form.append('0', new Blob([png], { type: 'image/png' }), 'photo.png');
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  if (!res.ok) throw new Error(`photo upload: HTTP ${res.status} ${await res.text()}`);
}
