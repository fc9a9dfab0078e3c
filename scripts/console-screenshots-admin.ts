// Screenshots of the console's administration pages (applications, grants, thing models,
// policies) for docs/console/*.png; called by scripts/console-screenshots.ts on its instance,
// after the README's inverter is in place.
import type { Page } from 'playwright-core';

/** Takes screenshots of the administration pages; `shot` writes docs/console/<name>.png. */
export async function shootAdminPages(page: Page, shot: (name: string) => Promise<void>): Promise<void> {
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

  // Register an application that may read the inverters' data.
  await nav('Applications');
  await page.getByRole('link', { name: 'Register an application' }).click();
  await page.getByLabel('Application name').fill('Plant dashboard');
  await page.getByTestId('grant-0').getByLabel('Some products', { exact: true }).check();
  await page.getByTestId('product-picker-0').getByRole('checkbox', { name: /Inverter 5 kW/ }).check();
  await page.getByRole('button', { name: 'Add a grant' }).click();
  await page.getByTestId('grant-1').getByLabel('Permission').selectOption('REGISTRY_READ');
  await page.getByTestId('grant-1').getByLabel('Some devices').check();
  await page.getByTestId('device-picker-1').getByRole('checkbox', { name: /Roof inverter/ }).check();
  await shot('application-new');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByTestId('secret-once').waitFor();
  await shot('application-keys');
  await page.getByRole('button', { name: 'I have stored the SecretKey' }).click();
  await page.locator('tr[data-name="Plant dashboard"]').waitFor();
  await shot('applications');

  await nav('Thing models');
  await page.locator('tr[data-model="Inverter"]').getByRole('link', { name: 'Inverter' }).click();
  await page.getByTestId('model-points').waitFor();
  await shot('model');
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByTestId('measurePoints-0').waitFor();
  await shot('model-edit');

  await nav('Policies');
  await page.getByLabel('Thing model').selectOption('Inverter');
  await page.getByRole('navigation', { name: 'Measure points' }).getByRole('link', { name: 'temperature', exact: true }).click();
  const processing = page.getByTestId('processing-editor');
  await processing.getByRole('combobox', { name: /^Step/ }).selectOption('DEADBAND');
  await processing.getByRole('button', { name: 'Add step' }).click();
  await processing.getByTestId('step-0').getByLabel('Moved more than').fill('0.5');
  await processing.getByTestId('step-0').getByLabel('Or seconds passed').fill('60');
  await processing.getByRole('button', { name: 'Save processing' }).click();
  await page.getByTestId('effective-processing').getByText(/deadband/).waitFor();
  await shot('policies');
}
