// Browser tests: the real flowgate binary on an ephemeral port with a fresh SQLite database,
// driven through Debian's chromium with playwright-core. Walks the journeys people make.
//
//   node e2e/run.mjs [--shots]      (--shots: also write the docs/ui/*.png screenshots;
//                                    with FULL_SHOTS=1, whole pages too, in e2e/artifacts)
//
// FLOWGATE_BIN (default target/debug/flowgate) and FLOWGATE_UI_DIR (default frontend/dist).
// On a failure the page is saved as e2e/artifacts/<test>.png and the server log is kept.
import { chromium } from '../tools/node_modules/playwright-core/index.mjs';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.FLOWGATE_BIN || join(root, 'target/debug/flowgate');
const uiDir = process.env.FLOWGATE_UI_DIR || join(root, 'frontend/dist');
const artifacts = join(root, 'e2e/artifacts');
const docShots = process.argv.includes('--shots') ? join(root, 'docs/ui') : null;
const ADMIN = { email: 'admin@example.com', password: 'e2e-admin-password' };
const deadline = Date.now() + 5 * 60_000;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

async function startServer() {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'flowgate-e2e-'));
  const log = join(data, 'server.log');
  const out = openSync(log, 'w');
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      FLOWGATE_LISTEN: `127.0.0.1:${port}`,
      FLOWGATE_DATA_DIR: data,
      FLOWGATE_ADMIN_EMAIL: ADMIN.email,
      FLOWGATE_ADMIN_PASSWORD: ADMIN.password,
      FLOWGATE_UI__DIR: uiDir,
      // The journeys' receivers listen on loopback, which the SSRF guard refuses by default.
      FLOWGATE_OUTBOUND__ALLOW: '127.0.0.1',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', out, out],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`flowgate exited (${child.exitCode}):\n${readFileSync(log, 'utf8')}`);
    try { if ((await fetch(`${base}/healthz`)).ok) return { base, child, data, log }; } catch { /* not up yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`flowgate did not come up:\n${readFileSync(log, 'utf8')}`);
}

function check(cond, msg) { if (!cond) throw new Error(msg); }

const server = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
context.setDefaultTimeout(10_000);
const pageErrors = [];
// The admin origin's Content-Security-Policy must not block anything the app does.
async function watchPage(p) {
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', e => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  p.on('pageerror', e => pageErrors.push(String(e)));
  p.on('console', m => { if (m.type() === 'error' && !/status of 40[0-9]/.test(m.text())) pageErrors.push(m.text()); });
  return p;
}
const page = await watchPage(await context.newPage());
const url = p => `${server.base}${p}`;
const state = {};

async function shot(name, on = page) {
  if (!docShots) return;
  mkdirSync(docShots, { recursive: true });
  await on.screenshot({ path: join(docShots, `${name}.png`) });
  // FULL_SHOTS=1: whole pages too, to look at (not kept in the docs).
  if (process.env.FULL_SHOTS && 'goto' in on) {
    mkdirSync(artifacts, { recursive: true });
    await on.screenshot({ path: join(artifacts, `full-${name}.png`), fullPage: true });
  }
}

// Notices left over from earlier steps would cover the screenshots.
async function dismissNotices(on = page) {
  await on.locator('.notice-close').evaluateAll(els => els.forEach(e => e.click()));
}

async function waitSaved() {
  // The draft is saved 700 ms after the last edit; wait until it says so.
  await page.waitForFunction(() => /Draft saved|No unpublished|published/.test(document.querySelector('#save-state')?.textContent || ''));
}

const tests = [
  ['the UI is served with long caching for hashed files and deep links reload', async () => {
    const index = await fetch(url('/integrations/whatever'));
    check(index.status === 200, `deep link answered ${index.status}`);
    const csp = index.headers.get('content-security-policy') || '';
    check(/script-src 'self' 'wasm-unsafe-eval'/.test(csp) && /frame-ancestors 'none'/.test(csp), `CSP ${csp}`);
    check(!/script-src[^;]*unsafe-inline/.test(csp), `no inline script allowed: ${csp}`);
    check(index.headers.get('x-frame-options') === 'DENY', 'no framing');
    const html = await index.text();
    const js = html.match(/\/(pkg\/flowgate-ui\.[0-9a-f]{16}\.js)/);
    check(js, 'index.html names a hashed script');
    const asset = await fetch(url(`/${js[1]}`));
    check(asset.status === 200, `script answered ${asset.status}`);
    check(/immutable/.test(asset.headers.get('cache-control') || ''), `cache-control ${asset.headers.get('cache-control')}`);
    check((await fetch(url('/api/v1/nope'))).status === 404, 'unknown API paths stay 404');
  }],

  ['sign in: wrong password is refused in words, the session survives a reload', async () => {
    await page.goto(url('/'));
    await page.fill('#email', ADMIN.email);
    await page.fill('#password', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error');
    check(/wrong email or password/i.test(await page.textContent('#login-error')), 'error says what is wrong');
    await shot('sign-in');
    await page.fill('#password', ADMIN.password);
    await page.click('button[type=submit]');
    // The dashboard is the landing page; nothing has been called yet.
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.waitForSelector('#dashboard-empty:has-text("No calls in the last hour")');
    await page.reload();
    await page.waitForSelector('#dashboard-empty');
    check(await page.getAttribute('#nav-dashboard', 'aria-current') === 'page', 'the dashboard is the current nav entry');
    await page.click('#dashboard-empty a:has-text("Go to integrations")');
    await page.waitForSelector('h1:has-text("Integrations")');
    await page.waitForSelector('text=No integrations yet');
  }],

  ['create an API key: the secret is shown once', async () => {
    await page.click('a:has-text("API keys")');
    await page.click('#new-key');
    await page.fill('#key-label', 'e2e consumer');
    await page.click('#create-key');
    const secret = (await page.textContent('#key-secret')).trim();
    check(secret.length >= 20, `secret looks like a secret: ${secret}`);
    state.secret = secret;
    await shot('key-created');
    await page.keyboard.press('Escape');
    await page.goto(url('/keys'));
    await page.waitForSelector('[data-key-label="e2e consumer"]');
    check(!(await page.content()).includes(secret), 'the secret is not shown again');
    await shot('keys');
  }],

  ['build a flow from the palette: map + script + respond, with errors shown on the step', async () => {
    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Create customer record');
    check(await page.inputValue('#new-slug') === 'create-customer-record', 'slug follows the name');
    await page.fill('#new-path', 'acme/CreateCustomerRecord');
    await page.click('#create-integration');
    await page.waitForSelector('#pipeline');
    await page.waitForSelector('text=No steps yet');
    // A new trigger has no key yet: the problem shows on the trigger card.
    await page.waitForSelector('#trigger-card .problem');

    await page.click('#add-step');
    await page.click('.palette-item[data-type=map]');
    const map = '.step-card[data-index="0"]';
    await page.waitForSelector(map);
    await page.fill(`${map} .map-to`, 'customer');
    await page.click(`${map} .add-map-field`);
    await page.locator(`${map} .map-field-name`).nth(1).fill('event');
    await page.locator(`${map} .map-field-value`).nth(1).fill('$.request.body.eventType');

    await page.click('#add-step');
    await page.click('.palette-item[data-type=script]');
    const script = '.step-card[data-index="1"]';
    await page.waitForSelector(script);
    await page.fill(`${script} textarea`, 'vars.customer.key = "USER:" + vars.customer.id +;');
    await page.waitForSelector(`${script} .step-problems .problem`);
    check(/syntax|expect|error/i.test(await page.textContent(`${script} .step-problems`)), 'compile error is on the script step');
    await shot('editor-error');
    await page.fill(`${script} textarea`, 'vars.customer.key = "USER:" + vars.customer.id;');
    await page.waitForSelector(`${script} .step-problems`, { state: 'detached' });

    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    const respond = '.step-card[data-index="2"]';
    await page.waitForSelector(respond);
    await page.locator(`${respond} .code-input`).fill('vars.customer');

    await page.click('#auth-api-key');
    await page.check('.key-chip[data-key-label="e2e consumer"] input');
    await page.waitForSelector('#trigger-card .problem', { state: 'detached' });
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, 'no problems left');
  }],

  ['test-run the draft with a sample payload and see the trace', async () => {
    await page.selectOption('#test-sample', '0');
    await page.click('#run-test');
    await page.waitForSelector('#test-result');
    check(await page.getAttribute('#test-result', 'data-status') === 'succeeded', 'the test run succeeded');
    check((await page.textContent('#test-response-status')).trim() === '200', 'answered 200');
    const body = await page.textContent('#test-response-body');
    check(body.includes('USER:IDNUMBER1234') && body.includes('UPDATE'), `response body: ${body}`);
    const steps = await page.$$eval('#test-trace .trace-step', els => els.map(e => e.dataset.status));
    check(JSON.stringify(steps) === '["ok","ok","ok"]', `trace: ${steps}`);
    await page.click('#test-trace .trace-step[data-index="0"] summary');
    await page.waitForSelector('#test-trace .trace-step[data-index="0"] .io');
    await shot('editor');
    const recorded = await page.evaluate(async () => (await (await fetch('/api/v1/executions')).json()).items.length);
    check(recorded === 0, `a test run records nothing (found ${recorded})`);
  }],

  ['publish, call the endpoint, see the execution with its trace', async () => {
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');
    const call = body => fetch(url('/t/acme/CreateCustomerRecord'), {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': state.secret }, body });
    const resp = await call(readFileSync(join(root, 'assets/samples/identity-user-update.json')));
    const answer = await resp.text();
    check(resp.status === 200, `call answered ${resp.status}: ${answer}`);
    check(JSON.parse(answer).key === 'USER:IDNUMBER1234', `answer ${answer}`);
    const anon = await fetch(url('/t/acme/CreateCustomerRecord'), { method: 'POST', body: '{}' });
    check(anon.status === 401, `a call without key answered ${anon.status}`);

    await page.click('a:has-text("Executions")');
    await page.waitForSelector('tr.execution-row[data-status="succeeded"]');
    await shot('executions');
    await page.click('tr.execution-row[data-status="succeeded"] a');
    await page.waitForSelector('#step-trace');
    check(await page.locator('#step-trace .trace-step').count() === 3, 'three steps in the trace');
    check(/succeeded/i.test(await page.textContent('#execution-status')), 'status succeeded');
    await shot('execution');
  }],

  ['the dashboard shows the calls of the last hour; a row opens its executions', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await fetch(url('/t/acme/CreateCustomerRecord'), { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': state.secret }, body: `{"id":"D${i}","eventType":"X"}` });
      check(r.status === 200, `call ${i} answered ${r.status}`);
    }
    // The server reuses an overview for 5 s (and the page refreshes every 30 s): reload until
    // the calls are in.
    await page.click('#nav-dashboard');
    for (let i = 0; i < 20; i++) {
      if (await page.locator('#dashboard-integrations tr[data-slug="create-customer-record"]').count()) break;
      await new Promise(r => setTimeout(r, 500));
      if (i % 4 === 3) await page.reload();
    }
    await page.waitForSelector('#dashboard-integrations tr[data-slug="create-customer-record"]');
    const calls = Number((await page.textContent('#stat-calls .stat-value')).replace(/,/g, ''));
    check(calls >= 5, `headline calls ${calls}`);
    check(/0 %/.test(await page.textContent('#stat-error-rate')), 'no errors so far');
    check(await page.getAttribute('#stat-dead', 'href') === '/executions?status=dead', 'dead letters link to the dead executions');
    const chart = page.locator('#calls-chart svg[role="img"]');
    check(/Calls per minute over the last hour/.test(await chart.locator('title').first().textContent()), 'the chart has a title');
    check(/\d+ calls/.test(await page.textContent('#calls-chart-desc')), 'the chart is described');
    check(await page.locator('#calls-chart .chart-calls rect').count() >= 1, 'bars for the calls');
    const row = 'tr[data-slug="create-customer-record"]';
    check(/Create customer record: \d+ calls/.test(await page.getAttribute(`${row} svg.sparkline`, 'aria-label')), 'the sparkline is labelled');
    await dismissNotices();
    await shot('dashboard');

    await page.click('#window-24h');
    await page.waitForURL(/\?window=24h$/);
    await page.waitForSelector('h2:has-text("Calls per half hour")');
    check(await page.getAttribute('#window-24h', 'aria-current') === 'true', 'the day window is the current one');
    await page.click(`${row} a.integration-link`);
    await page.waitForURL(/\/executions\?integration=create-customer-record&range=24h$/);
    await page.waitForSelector('tr.execution-row');
    check(await page.inputValue('#filter-integration') === 'create-customer-record', 'the executions are filtered by the integration');
  }],

  ['versions: publish a change, diff it, roll back', async () => {
    await page.goto(url('/integrations/create-customer-record'));
    await page.waitForSelector('#pipeline');
    await page.locator('.step-card[data-index="2"] .code-input').fill('#{ key: vars.customer.key, v: 2 }');
    await waitSaved();
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 2")');
    await page.click('#show-versions');
    await page.waitForSelector('#diff');
    check((await page.textContent('#diff')).includes('v: 2'), 'the diff shows the change');
    await shot('versions');
    await page.click('#versions tr[data-version="1"] .rollback');
    await page.click('#confirm-action');
    await page.waitForSelector('.notice:has-text("as version 3")');
    const r = await fetch(url('/t/acme/CreateCustomerRecord'), { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': state.secret }, body: '{"id":"7","eventType":"X"}' });
    const a = await r.json();
    check(a.key === 'USER:7' && a.v === undefined, `rolled-back flow answers ${JSON.stringify(a)}`);
  }],

  ['integrations list shows status and last call; users can be added', async () => {
    await page.goto(url('/integrations'));
    await page.waitForSelector('tr[data-slug="create-customer-record"]');
    const row = await page.textContent('tr[data-slug="create-customer-record"]');
    check(/published/i.test(row) && /v3/.test(row), `row: ${row}`);
    check(!/never/.test(row), 'the last call is shown');
    await shot('integrations');
    await page.click('a:has-text("Users")');
    await page.click('#new-user');
    await page.fill('#user-email', 'designer@example.com');
    await page.fill('#user-password', 'designer-password-1');
    await page.selectOption('#user-role', 'designer');
    await page.click('#create-user');
    await page.waitForSelector('[data-user-email="designer@example.com"]');
    await shot('users');
  }],

  ['endpoint docs: a published trigger with a sample, shared with a consumer who has no account', async () => {
    // A draft that was never published has no docs yet.
    const made = await page.evaluate(async () => (await fetch('/api/v1/integrations/never-published/draft', { method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Never published', trigger: { path: 'acme/NeverPublished', auth: { type: 'none' } } }) })).status);
    check(made === 200 || made === 201, `making the draft answered ${made}`);
    await page.goto(url('/integrations/never-published/docs'));
    await page.waitForSelector('#docs-not-published:has-text("Not published yet")');

    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Order intake');
    await page.fill('#new-path', 'acme/OrderIntake');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.click('#auth-api-key');
    await page.check('.key-chip[data-key-label="e2e consumer"] input');
    await page.click('summary:has-text("Query parameters, bodies and limits")');
    await page.click('.query-params button:has-text("+ Add parameter")');
    await page.locator('.query-params input[aria-label="Parameter name"]').nth(0).fill('tenant');
    await page.locator('.query-params input[aria-label="Required"]').nth(0).check();
    await page.click('.query-params button:has-text("+ Add parameter")');
    await page.locator('.query-params input[aria-label="Parameter name"]').nth(1).fill('channel');
    await page.locator('.query-params input[aria-label="Default value"]').nth(1).fill('web');
    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    await page.locator('.step-card[data-index="0"] .code-input').fill('#{ accepted: true, order: request.body.orderId }');

    // The test body becomes the trigger's sample: only JSON.
    await page.fill('#test-body', 'orderId=O-17');
    await page.click('#save-sample');
    check(/not JSON/.test(await page.textContent('#sample-error')), 'a body that is not JSON is refused in words');
    const sample = { orderId: 'O-17', customer: { email: 'jane.doe@example.com' }, lines: [{ sku: 'A-1', qty: 2 }] };
    await page.fill('#test-body', JSON.stringify(sample, null, 2));
    await page.click('#save-sample');
    await page.waitForSelector('#sample-state:has-text("sample saved")');
    check(await page.locator('#sample-error').count() === 0, 'the error is gone');
    if (docShots) {
      // The test panel with its sample bar (the editor's sticky header kept out of the way).
      await page.evaluate(() => window.scrollTo(0, 0));
      await dismissNotices();
      const box = await page.locator('#test-panel').boundingBox();
      await page.screenshot({ path: join(docShots, 'editor-sample.png'),
        clip: { x: box.x - 8, y: box.y - 8, width: box.width + 16, height: Math.min(box.height + 16, 800 - box.y) } });
    }
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#trigger-card')}`);
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');

    await page.click('#trigger-docs');
    await page.waitForURL(/\/integrations\/order-intake\/docs$/);
    await page.waitForSelector('#docs-url');
    check((await page.textContent('#docs-url')).trim() === url('/t/acme/OrderIntake'), `URL ${await page.textContent('#docs-url')}`);
    check(/API key/.test(await page.textContent('#docs-auth-title')), `auth ${await page.textContent('#docs-auth-title')}`);
    check(/X-API-Key/.test(await page.textContent('#docs-auth')), 'the header is named');
    const param = await page.textContent('#docs-params-table tr[data-param="tenant"]');
    check(/required/.test(param), `parameter row: ${param}`);
    const optional = await page.textContent('#docs-params-table tr[data-param="channel"]');
    check(/optional/.test(optional) && /web/.test(optional), `parameter row: ${optional}`);
    for (const field of ['orderId', 'customer', 'email', 'lines', 'sku', 'qty']) {
      check(await page.locator(`#docs-body-schema tr[data-field="${field}"]`).count() === 1, `body field ${field} is listed`);
    }
    check((await page.textContent('#docs-body-example')).includes('jane.doe@example.com'), 'the sample is the example');
    const curl = await page.textContent('#docs-curl-post');
    check(curl.includes(`'${url('/t/acme/OrderIntake')}?tenant=VALUE'`) && curl.includes('X-API-Key: $FLOWGATE_API_KEY') && curl.includes('O-17'),
      `curl: ${curl}`);
    check(await page.getAttribute('#docs-download', 'href') === '/api/v1/integrations/order-intake/openapi.json', 'the document can be downloaded');
    await dismissNotices();
    await shot('docs');
    // A consumer following the curl example gets in.
    const r = await fetch(`${url('/t/acme/OrderIntake')}?tenant=acme`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': state.secret }, body: JSON.stringify(sample) });
    const answer = await r.json();
    check(r.status === 200 && answer.order === 'O-17', `the documented call answered ${r.status} ${JSON.stringify(answer)}`);

    await page.click('#share-docs');
    await page.waitForSelector('#share-url');
    const shared = await page.inputValue('#share-url');
    check(shared.startsWith(url('/share/integrations/order-intake?sig=')), `share link ${shared}`);
    check(/Anyone with this link can read/.test(await page.textContent('#share-link')), 'the link says who can read it');
    await page.evaluate(() => document.querySelector('#share-link').scrollIntoView({ block: 'center' }));
    await shot('docs-share');

    // Someone without an account, in a browser of their own.
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const other = await watchPage(await stranger.newPage());
      await other.goto(shared);
      await other.waitForSelector('#docs-url');
      check(await other.locator('nav.sidebar').count() === 0, 'no navigation on the shared page');
      check(await other.locator('#email').count() === 0, 'no sign-in asked');
      check(await other.locator('#share-docs').count() === 0, 'no admin buttons');
      check((await other.textContent('#docs-title')).includes('Order intake'), 'the title');
      check(await other.locator('#docs-body-schema tr[data-field="email"]').count() === 1, 'the body fields');
      await other.evaluate(() => document.querySelector('#docs-body').scrollIntoView({ block: 'start' }));
      await shot('docs-shared', other);
      await other.goto(shared.replace(/sig=.*/, 'sig=00000000000000000000000000000000'));
      await other.waitForSelector('#shared-error:has-text("This link is not valid or the integration was removed")');
      const cookies = await stranger.cookies();
      check(cookies.length === 0, `the stranger got no cookies: ${JSON.stringify(cookies.map(c => c.name))}`);
    } finally {
      await stranger.close();
    }
  }],

  ['the API reference lists the admin API by tag, with fields of the bodies', async () => {
    await page.click('#nav-api-reference');
    await page.waitForSelector('h1:has-text("API reference")');
    const op = '.api-op[data-method="POST"][data-path="/api/v1/keys"]';
    await page.waitForSelector(op);
    await page.click(`${op} > summary`);
    await page.waitForSelector(`${op} .api-op-body .schema-table tr[data-field="label"]`);
    check(await page.locator(`${op} .reply[data-status="201"]`).count() === 1, 'the 201 answer is listed');
    await page.fill('input[aria-label="Filter operations"]', 'post keys');
    await page.waitForFunction(() => document.querySelectorAll('.api-op:not([hidden])').length < 6);
    check(await page.isVisible(op), 'the filter keeps the operation');
    check(await page.locator(`${op} .api-op-body`).count() === 1, 'the opened operation stays open while filtering');
    await page.fill('input[aria-label="Filter operations"]', '');
    await page.waitForFunction(() => document.querySelectorAll('.api-op:not([hidden])').length > 6);
    await page.evaluate(s => document.querySelector(s).closest('.api-tag').scrollIntoView({ block: 'start' }), op);
    await dismissNotices();
    await shot('api-reference');
  }],

  ['revoke the key: the next call is refused', async () => {
    await page.goto(url('/keys'));
    await page.click('[data-key-label="e2e consumer"] .revoke-key');
    await page.click('#confirm-action');
    await page.waitForSelector('[data-key-label="e2e consumer"] .revoke-key', { state: 'detached' });
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      const r = await fetch(url('/t/acme/CreateCustomerRecord'), { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': state.secret }, body: '{"id":"1"}' });
      status = r.status;
      if (status !== 401) await new Promise(r => setTimeout(r, 100));
    }
    check(status === 401, `a call with the revoked key answered ${status}`);
  }],

  ['an HTTP step calls other systems with a stored secret, which the trace never shows', async () => {
    // The identity API and the commercial system, as a real local HTTP server.
    const seen = [];
    const other = createHttpServer((req, res) => {
      let body = '';
      req.on('data', c => { body += c; });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization || '', body });
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && req.url.startsWith('/users/')) {
          res.end(JSON.stringify({ id: req.url.slice(7), email: 'jane.doe@example.com', name: 'Jane Doe' }));
        } else if (req.method === 'PATCH') {
          res.end('{"updated":true}');
        } else { res.statusCode = 404; res.end('{}'); }
      });
    });
    await new Promise(r => other.listen(0, '127.0.0.1', r));
    const api = `http://127.0.0.1:${other.address().port}`;
    try {
      await page.goto(url('/secrets'));
      await page.click('#new-secret');
      await page.fill('#secret-name', 'identity-token');
      await page.fill('#secret-value', 's3cr3t-token-value');
      await page.click('#save-secret');
      await page.waitForSelector('tr[data-secret="identity-token"]');
      await shot('secrets');

      await page.goto(url('/integrations'));
      await page.click('#new-integration');
      await page.fill('#new-name', 'Sync user');
      await page.fill('#new-path', 'acme/SyncUser');
      await page.click('#create-integration');
      await page.waitForSelector('text=No steps yet');
      await page.click('#auth-none');

      await page.click('#add-step');
      await page.click('.palette-item[data-type=map]');
      await page.waitForSelector('.step-card[data-index="0"]');

      await page.click('#add-step');
      await page.click('.palette-item[data-type=http]');
      const get = '.step-card[data-index="1"]';
      await page.waitForSelector(get);
      await page.fill(`${get} .http-url`, `${api}/users/\${vars.mapped.id}`);
      await page.fill(`${get} .http-to`, 'user');
      await page.selectOption(`${get} .http-auth`, 'bearer');
      await page.fill(`${get} .auth-secret`, 'identity-token');

      await page.click('#add-step');
      await page.click('.palette-item[data-type=http]');
      const patch = '.step-card[data-index="2"]';
      await page.waitForSelector(patch);
      await page.selectOption(`${patch} .http-method`, 'PATCH');
      await page.fill(`${patch} .http-url`, `${api}/crm/customers/\${vars.mapped.id}`);
      await page.fill(`${patch} .http-to`, 'crm');
      await page.selectOption(`${patch} .value-mode`, 'expr');
      await page.locator(`${patch} .code-input`).fill('#{ email: vars.user.body.email, source: "flowgate" }');

      await page.click('#add-step');
      await page.click('.palette-item[data-type=respond]');
      await page.locator('.step-card[data-index="3"] .code-input').fill('#{ synced: vars.crm.body.updated, email: vars.user.body.email }');
      await waitSaved();
      check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#pipeline')}`);
      await shot('editor-http');

      await page.click('#run-test');
      await page.waitForSelector('#test-result');
      const result = await page.textContent('#test-result');
      check(await page.getAttribute('#test-result', 'data-status') === 'succeeded', `test run: ${result}`);
      check(result.includes('jane.doe@example.com'), `answer: ${result}`);
      check(!result.includes('s3cr3t-token-value'), 'the secret never appears in the trace');
      check(await page.locator('#test-trace .http-call').count() === 2, 'both outbound calls are in the trace');
      check(/\[redacted\]/.test(result), 'the Authorization header is shown redacted');
      check(seen.some(c => c.method === 'GET' && c.auth === 'Bearer s3cr3t-token-value'), `calls: ${JSON.stringify(seen)}`);
      const p = seen.find(c => c.method === 'PATCH');
      check(p && JSON.parse(p.body).email === 'jane.doe@example.com' && p.url === '/crm/customers/IDNUMBER1234', `patch: ${JSON.stringify(p)}`);

      await page.click('#publish');
      await page.waitForSelector('.notice:has-text("Published version 1")');
      const r = await fetch(url('/t/acme/SyncUser'), { method: 'POST', headers: { 'content-type': 'application/json' },
        body: '{"id":"U77","entityType":"USER","eventType":"UPDATE"}' });
      const a = await r.json();
      check(r.status === 200 && a.synced === true, `call answered ${r.status} ${JSON.stringify(a)}`);
      check(seen.filter(c => c.url === '/users/U77').length === 1, 'the published flow called the identity API once');
    } finally {
      other.close();
    }
  }],

  ['a subscription receives signed events; its deliveries are listed', async () => {
    const got = [];
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', c => { body += c; });
      req.on('end', () => { got.push({ headers: req.headers, body }); res.end('ok'); });
    });
    await new Promise(r => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${receiver.address().port}/hooks/flowgate`;
    try {
      await page.goto(url('/subscriptions'));
      await page.click('#new-subscription');
      await page.fill('#sub-url', hook);
      await page.fill('#sub-events', 'customer.*');
      await page.keyboard.press('Enter');
      await page.click('#create-subscription');
      const secret = (await page.textContent('#sub-secret')).trim();
      check(secret.startsWith('whsec_'), `secret ${secret}`);
      await page.click('#sub-done');
      await page.waitForSelector(`tr[data-subscription-url="${hook}"]`);
      await shot('subscriptions');

      await page.click('#send-test-event');
      await page.fill('#event-type', 'customer.updated');
      await page.fill('#event-payload', '{"id": "C-1", "email": "jane.doe@example.com"}');
      await page.click('#send-event');
      await page.waitForSelector('#event-result');
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise(r => setTimeout(r, 100));
      check(got.length === 1, `the receiver got ${got.length} deliveries`);
      // Verify the signature the way the Standard Webhooks spec describes it.
      const h = got[0].headers;
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const expected = createHmac('sha256', key).update(`${h['webhook-id']}.${h['webhook-timestamp']}.${got[0].body}`).digest('base64');
      check(h['webhook-signature'].split(' ').includes(`v1,${expected}`), `signature ${h['webhook-signature']}`);
      const event = JSON.parse(got[0].body);
      check(event.type === 'customer.updated' && event.data.id === 'C-1', `body ${got[0].body}`);

      await page.keyboard.press('Escape');
      await page.goto(url('/subscriptions'));
      await page.click(`tr[data-subscription-url="${hook}"] a`);
      await page.waitForSelector('#deliveries .delivery-row[data-status="succeeded"][data-event-type="customer.updated"]');
      await shot('subscription');
    } finally {
      receiver.close();
    }
  }],

  ['OAuth2: a client made in the UI gets a token at /oauth/token and calls a trigger that accepts it', async () => {
    await page.goto(url('/oauth-clients'));
    await page.click('#new-client');
    await page.fill('#client-label', 'e2e partner');
    await page.fill('#client-scopes', 'orders:write');
    await page.click('#create-client');
    await page.waitForSelector('#client-secret');
    const clientId = (await page.inputValue('#client-id')).trim();
    state.clientId = clientId;
    const clientSecret = (await page.textContent('#client-secret')).trim();
    const tokenUrl = (await page.inputValue('#client-token-url')).trim();
    check(/^\S{8,}$/.test(clientId), `client id looks like an id: ${clientId}`);
    check(clientSecret.length >= 20 && clientSecret !== clientId, `secret looks like a secret: ${clientSecret}`);
    check(tokenUrl === url('/oauth/token'), `token URL ${tokenUrl}`);
    await shot('oauth-client-created');
    await page.click('#client-done');
    await page.waitForSelector(`tr[data-client-id="${clientId}"]`);
    check(!(await page.content()).includes(clientSecret), 'the secret is not shown again');

    // A trigger that accepts the client's tokens, when they carry the scope.
    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Partner orders');
    await page.fill('#new-path', 'acme/PartnerOrders');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.click('#auth-oauth2');
    await page.check(`.client-chip[data-client-id="${clientId}"] input`);
    await page.fill('#auth-scope', 'orders:write');
    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    await page.locator('.step-card[data-index="0"] .code-input').fill('#{ ok: true, order: request.body.id }');
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#trigger-card')}`);
    const snippet = await page.textContent('#call-snippet');
    check(snippet.includes(tokenUrl) && snippet.includes(`CLIENT_ID='${clientId}'`) && snippet.includes('scope=orders:write')
      && snippet.includes('Authorization: Bearer $TOKEN') && snippet.includes(url('/t/acme/PartnerOrders')), `snippet: ${snippet}`);
    await page.evaluate(() => document.querySelector('#call-snippet').scrollIntoView({ block: 'end' }));
    await shot('editor-auth');
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');

    // The consumer's side: a token (form fields, then HTTP Basic), then calls with and without it.
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'orders:write' });
    const tr = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const token = await tr.json();
    check(tr.status === 200 && token.token_type === 'Bearer' && token.access_token && token.expires_in > 0,
      `token answer ${tr.status} ${JSON.stringify({ ...token, access_token: token.access_token ? '…' : undefined })}`);
    const basic = await fetch(tokenUrl, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials&scope=orders%3Awrite' });
    check(basic.status === 200 && (await basic.json()).token_type === 'Bearer', `HTTP Basic token answer ${basic.status}`);
    const wrong = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'not-the-secret' }) });
    check(wrong.status === 401 || wrong.status === 400, `a wrong client secret got ${wrong.status}`);

    const call = headers => fetch(url('/t/acme/PartnerOrders'), { method: 'POST',
      headers: { 'content-type': 'application/json', ...headers }, body: '{"id":"O-1"}' });
    const ok = await call({ authorization: `Bearer ${token.access_token}` });
    const answer = await ok.text();
    check(ok.status === 200 && JSON.parse(answer).order === 'O-1', `a call with the token answered ${ok.status}: ${answer}`);
    const anon = await call({});
    check(anon.status === 401, `a call without a token answered ${anon.status}`);
    const forged = await call({ authorization: 'Bearer fgat_bm90LWEtdG9rZW4.bm90LWEtc2lnbmF0dXJl' });
    check(forged.status === 401, `a call with a made-up token answered ${forged.status}`);

    await page.goto(url('/oauth-clients'));
    await page.waitForSelector(`tr[data-client-id="${clientId}"] a.chip:has-text("partner-orders")`);
    await shot('oauth-clients');
  }],

  ['a signed webhook: a GitHub-style signature gets in, a wrong one is refused with invalid_signature', async () => {
    const signingKey = 'e2e-github-webhook-secret';
    const made = await page.evaluate(async value => (await fetch('/api/v1/secrets', { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'github-webhook', value }) })).status, signingKey);
    check(made === 201, `storing the signing secret answered ${made}`);

    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'GitHub push');
    await page.fill('#new-path', 'acme/GithubPush');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.click('#auth-signature');
    await page.selectOption('#sig-preset', 'github');
    await page.waitForSelector('#sig-secret option[value="github-webhook"]', { state: 'attached' });
    await page.selectOption('#sig-secret', 'github-webhook');
    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    await page.locator('.step-card[data-index="0"] .code-input').fill('#{ received: request.body.ref }');
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#trigger-card')}`);
    const snippet = await page.textContent('#call-snippet');
    check(snippet.includes('openssl dgst -sha256 -hmac "$SECRET"') && snippet.includes('X-Hub-Signature-256: sha256=$SIG')
      && snippet.includes('github-webhook'), `snippet: ${snippet}`);
    check(/X-Hub-Signature-256/.test(await page.textContent('#call-what')), 'the words say which header to send');
    await page.evaluate(() => document.querySelector('#call-snippet').scrollIntoView({ block: 'end' }));
    await shot('editor-signature');
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');

    const body = JSON.stringify({ ref: 'refs/heads/main', commits: [{ id: 'c0ffee' }] });
    const sign = b => `sha256=${createHmac('sha256', signingKey).update(b).digest('hex')}`;
    const send = (signature, b = body) => fetch(url('/t/acme/GithubPush'), { method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) }, body: b });
    const ok = await send(sign(body));
    const answer = await ok.text();
    check(ok.status === 200 && JSON.parse(answer).received === 'refs/heads/main', `a signed call answered ${ok.status}: ${answer}`);
    const bad = await send(`sha256=${'0'.repeat(64)}`);
    const badBody = await bad.json().catch(() => ({}));
    check(bad.status === 401 && badBody.error?.code === 'invalid_signature', `a wrong signature answered ${bad.status} ${JSON.stringify(badBody)}`);
    const tampered = await send(sign(body), `${body} `);
    check(tampered.status === 401, `a changed body with the old signature answered ${tampered.status}`);
    const unsigned = await send(null);
    check(unsigned.status === 401, `an unsigned call answered ${unsigned.status}`);
  }],

  ['shadow replay: recorded calls run against the draft show which answers would change', async () => {
    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Order totals');
    await page.fill('#new-path', 'acme/OrderTotals');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.click('#auth-none');
    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    const respond = '.step-card[data-index="0"] .code-input';
    await page.locator(respond).fill('#{ order: request.body.id, total: request.body.qty * 10 }');
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#pipeline')}`);
    // Nothing was called yet: nothing to replay.
    await page.click('#run-shadow');
    await page.waitForSelector('#shadow-empty:has-text("No recorded calls to replay yet")');
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');
    for (const [id, qty] of [['O-1', 3], ['O-2', 5], ['O-3', 7]]) {
      const r = await fetch(url('/t/acme/OrderTotals'), { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, qty }) });
      const a = await r.json();
      check(r.status === 200 && a.total === qty * 10, `call ${id} answered ${r.status} ${JSON.stringify(a)}`);
    }
    // Only finished calls are replayed; wait until all three are.
    for (let i = 0; i < 50; i++) {
      const done = await page.evaluate(async () => (await (await fetch('/api/v1/executions?integration=order-totals')).json())
        .items.filter(e => e.status === 'succeeded').length);
      if (done >= 3) break;
      await new Promise(r => setTimeout(r, 100));
    }

    // The draft doubles the total: every recorded call would now get another answer.
    await page.locator(respond).fill('#{ order: request.body.id, total: request.body.qty * 20 }');
    await waitSaved();
    await page.evaluate(() => document.querySelector('#shadow-panel').scrollIntoView({ block: 'start' }));
    await page.click('#run-shadow');
    await page.waitForSelector('#shadow-summary');
    const summary = (await page.textContent('#shadow-summary')).trim();
    check(/0 of 3 answered the same, 3 differ/.test(summary), `summary: ${summary}`);
    check(await page.getAttribute('#shadow-summary', 'data-tone') === 'bad', 'the summary is marked bad');
    check(await page.locator('#shadow-runs .shadow-run[data-outcome="differs"]').count() === 3, 'three differing calls are listed');
    const first = '#shadow-runs .shadow-run:first-child';
    check(/^\/executions\/.+/.test(await page.getAttribute(`${first} a.shadow-exec`, 'href')), 'a row links to its execution');
    check(/body \$\.total: 70 → 140/.test(await page.textContent(`${first} .shadow-first-diff`)), 'the newest call\'s difference is shown');
    await page.click(`${first} summary .shadow-time`);
    await page.waitForSelector(`${first} .shadow-diffs li:has-text("body $.total: 70 → 140")`);
    check((await page.textContent(`${first} .shadow-bodies`)).includes('140'), 'the draft\'s answer is shown beside the recorded one');
    await page.evaluate(() => {
      document.querySelectorAll('.notice-close').forEach(b => b.click());
      document.querySelector('#shadow-panel').scrollIntoView({ block: 'start' });
      document.querySelector('.editor-side').scrollTop -= 40; // clear of the sticky heading
    });
    await page.waitForSelector('.notice', { state: 'detached' });
    await shot('editor-shadow');

    // The published version is untouched, and a wrong count is refused in the API's words.
    const still = await (await fetch(url('/t/acme/OrderTotals'), { method: 'POST', headers: { 'content-type': 'application/json' },
      body: '{"id":"O-4","qty":1}' })).json();
    check(still.total === 10, `the published flow still answers ${JSON.stringify(still)}`);
    await page.fill('#shadow-limit', '500');
    await page.click('#run-shadow');
    await page.waitForSelector('#shadow-error');
    check(/limit must be 1 to 200/i.test(await page.textContent('#shadow-error')), `error: ${await page.textContent('#shadow-error')}`);
  }],

  ['rename a key: the list shows the new label', async () => {
    const made = await page.evaluate(async () => {
      const r = await fetch('/api/v1/keys', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'e2e billing' }) });
      return { status: r.status, body: await r.json() };
    });
    check(made.status === 201, `creating the key answered ${made.status}`);
    state.billing = { id: made.body.id, secret: made.body.secret };
    await page.goto(url('/keys'));
    await page.click('[data-key-label="e2e billing"] .rename-key');
    check(await page.inputValue('#rename-key-label') === 'e2e billing', 'the form starts from the current label');
    await page.fill('#rename-key-label', '   ');
    await page.click('#rename-key');
    check(/Give the key a label/.test(await page.textContent('#rename-key-error')), 'a blank label is refused in words');
    await page.fill('#rename-key-label', 'Billing system');
    await shot('key-rename');
    await page.click('#rename-key');
    await page.waitForSelector('[data-key-label="Billing system"]');
    check(await page.locator('[data-key-label="e2e billing"]').count() === 0, 'the old label is gone');
    await page.waitForSelector('.notice:has-text("Key renamed to “Billing system”")');
    await page.reload();
    await page.waitForSelector(`[data-key-label="Billing system"][data-key-id="${state.billing.id}"]`);
  }],

  ['error handling: try, for-each, on_error and the error answer built in the editor; executions show and filter the caller', async () => {
    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Ledger post');
    await page.fill('#new-path', 'acme/LedgerPost');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.waitForSelector('#on-error:has-text("No error handler")');
    await page.click('#auth-api-key');
    await page.check('.key-chip[data-key-label="Billing system"] input');
    // A nested list's own "+ Add step" (not those of lists nested deeper).
    const addIn = async (index, branch, type) => {
      await page.click(`.step-card[data-index="${index}"] > .step-body > .branch-${branch} > .step-list > .add-step-wrap > .add-step`);
      await page.click(`.palette-item[data-type=${type}]`);
    };

    // 0: try { refuse negative amounts } catch { log (the palette's start), note it }
    await page.click('#add-step');
    if (docShots) {
      await waitSaved();
      await dismissNotices();
      await page.evaluate(() => document.querySelector('.palette').scrollIntoView({ block: 'end' }));
      await shot('editor-palette');
    }
    await page.click('.palette-item[data-type=try]');
    await page.waitForSelector('.step-card[data-index="0"] .branch-catch .step-card[data-index="0.catch.0"][data-type="log"]');
    await addIn('0', 'steps', 'script');
    await page.fill('.step-card[data-index="0.steps.0"] textarea',
      'if request.body.amount < 0 { throw "negative amount"; }\nvars.posted = request.body.amount;');
    await addIn('0', 'catch', 'script');
    await page.fill('.step-card[data-index="0.catch.1"] textarea', 'vars.posted = 0;');
    // 1: for each line (as `line`), count them
    await page.click('#add-step');
    await page.click('.palette-item[data-type=for_each]');
    const each = '.step-card[data-index="1"]';
    await page.fill(`${each} .foreach-items`, 'request.body.lines');
    await page.fill(`${each} .foreach-as`, 'line');
    await page.fill(`${each} .foreach-max`, '50');
    check(/vars\.line and its position \(from 0\) as vars\.index/.test(await page.textContent(each)), 'the hint names the variables');
    await addIn('1', 'steps', 'script');
    await page.fill('.step-card[data-index="1.steps.0"] textarea', 'vars.lines = vars.index + 1;\nvars.last_sku = vars.line.sku;');
    // 2: answer
    await page.click('#add-step');
    await page.click('.palette-item[data-type=respond]');
    await page.locator('.step-card[data-index="2"] .code-input').fill('#{ posted: vars.posted, lines: vars.lines }');
    // The error handler logs; it does not answer, so the trigger's error answer goes out.
    await page.click('#add-error-step');
    await page.click('.palette-item[data-type=log]');
    await page.fill('.step-card[data-index="on_error.0"] .step-message', 'ledger refused the call');
    await page.check('#error-response');
    await page.fill('#error-status', '422');
    await page.locator('.error-body textarea').fill(JSON.stringify({ problem: '${message}', code: '${code}', ref: '${execution_id}' }, null, 2));
    await page.locator('.error-body textarea').blur();
    await waitSaved();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#pipeline')} ${await page.textContent('#trigger-card')}`);
    const draft = await page.evaluate(async () => (await (await fetch('/api/v1/integrations/ledger-post/draft')).json()).document);
    check(draft.steps[0].type === 'try' && draft.steps[0].steps[0].type === 'script' && draft.steps[0].catch.length === 2, `try: ${JSON.stringify(draft.steps[0])}`);
    check(draft.steps[1].type === 'for_each' && draft.steps[1].as === 'line' && draft.steps[1].max_items === 50
      && draft.steps[1].items === 'request.body.lines', `for_each: ${JSON.stringify(draft.steps[1])}`);
    check(draft.on_error.length === 1 && draft.on_error[0].message === 'ledger refused the call', `on_error: ${JSON.stringify(draft.on_error)}`);
    check(draft.trigger.error_response.status === 422 && draft.trigger.error_response.body.ref === '${execution_id}',
      `error_response: ${JSON.stringify(draft.trigger.error_response)}`);
    if (docShots) {
      await dismissNotices();
      await page.evaluate(() => document.querySelector('.step-card[data-index="0"]').scrollIntoView({ block: 'start' }));
      await page.evaluate(() => window.scrollBy(0, -110)); // clear of the sticky heading
      await shot('editor-try');
      await page.evaluate(() => document.querySelector('#on-error').scrollIntoView({ block: 'end' }));
      await shot('editor-on-error');
      await page.evaluate(() => document.querySelector('.error-answer').scrollIntoView({ block: 'center' }));
      await shot('editor-error-answer');
    }
    await page.click('#publish');
    await page.waitForSelector('.notice:has-text("Published version 1")');

    const call = body => fetch(url('/t/acme/LedgerPost'), { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': state.billing.secret }, body: JSON.stringify(body) });
    const ok = await call({ amount: 5, lines: [{ sku: 'A' }, { sku: 'B' }] });
    const okBody = await ok.json();
    check(ok.status === 200 && okBody.posted === 5 && okBody.lines === 2, `a good call answered ${ok.status} ${JSON.stringify(okBody)}`);
    const caught = await call({ amount: -3, lines: [{ sku: 'A' }] });
    const caughtBody = await caught.json();
    check(caught.status === 200 && caughtBody.posted === 0 && caughtBody.lines === 1, `a caught error answered ${caught.status} ${JSON.stringify(caughtBody)}`);
    const broken = await call({ amount: 1, lines: 'not a list' });
    const brokenBody = await broken.json();
    check(broken.status === 422 && brokenBody.code && /^\S{8,}$/.test(brokenBody.ref) && brokenBody.problem
      && !JSON.stringify(brokenBody).includes('${'),
      `an uncaught error answered ${broken.status} ${JSON.stringify(brokenBody)}`);

    // Who called: the renamed key's label, in the list and in the execution.
    await page.goto(url('/executions?integration=ledger-post'));
    await page.waitForFunction(() => document.querySelectorAll('tr.execution-row').length === 3);
    const callers = await page.$$eval('tr.execution-row .cell-caller', els => els.map(e => e.textContent.trim()));
    check(callers.every(c => c === 'Billing systemAPI key'), `callers: ${JSON.stringify(callers)}`);
    await page.click(`tr.execution-row[data-id="${brokenBody.ref}"] a`);
    await page.waitForSelector('#step-trace');
    check((await page.textContent('#execution-caller')).trim() === 'Billing system', 'the execution names its caller');
    check(await page.locator('#step-trace .trace-step[data-index="on_error.0"]').count() === 1, 'the error handler is in the trace');
    check((await page.textContent('body')).includes('ledger refused the call'), 'the handler\'s log line is shown');

    // The caller filter: from the execution to all calls with its key, then an OAuth client's.
    await page.click('#caller-calls');
    await page.waitForURL(/\/executions\?caller=key%3A/);
    check(await page.inputValue('#filter-caller') === `key:${state.billing.id}`, 'the filter shows the key');
    await page.waitForFunction(() => document.querySelectorAll('tr.execution-row').length === 3);
    await page.waitForSelector(`#filter-caller option[value="client:${state.clientId}"]`, { state: 'attached' });
    await page.selectOption('#filter-caller', `client:${state.clientId}`);
    await page.waitForURL(new RegExp(`caller=client%3A${state.clientId}`));
    await page.waitForFunction(id => {
      const rows = [...document.querySelectorAll('tr.execution-row')];
      return rows.length > 0 && rows.every(r => r.querySelector('.cell-caller')?.dataset.caller === `client:${id}`);
    }, state.clientId);
    check(/e2e partner/.test(await page.textContent('tr.execution-row .cell-caller')), 'the client\'s label is shown');
    await page.selectOption('#filter-caller', `key:${state.billing.id}`);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr.execution-row')];
      return rows.length === 3 && rows.every(r => /Billing system/.test(r.textContent));
    });
    await dismissNotices();
    await shot('executions-caller');
  }],

  ['data store: a table made in the UI fills from an asynchronous flow; filter by an indexed field, export CSV', async () => {
    await page.click('#nav-tables');
    await page.waitForSelector('text=No tables yet');
    await page.click('#new-table');
    // The server's refusal, in words, under the fields.
    await page.fill('#table-name', 'Email-Events');
    await page.fill('#table-indexed', 'sg-message-id');
    await page.click('#create-table');
    const refused = await page.textContent('#table-error');
    check(/`Email-Events` is not a table name/.test(refused) && /Indexed fields: `sg-message-id` is not a field name/.test(refused),
      `the refusal says what is wrong: ${refused}`);
    await page.fill('#table-name', 'email_events');
    await page.fill('#table-description', 'SendGrid delivery events');
    await page.fill('#table-key-field', 'sg_event_id');
    await page.fill('#table-indexed', 'sg_message_id');
    await page.click('#create-table');
    const row = 'tr[data-table="email_events"]';
    await page.waitForSelector(row);
    check(/sg_event_id/.test(await page.textContent(row)) && /sg_message_id/.test(await page.textContent(row)), 'the row shows the fields');

    // Setup through the API: a second table, a key, and an asynchronous flow that stores its body.
    const made = await page.evaluate(async () => {
      const json = { 'content-type': 'application/json' };
      const other = await fetch('/api/v1/tables', { method: 'POST', headers: json,
        body: JSON.stringify({ name: 'crm_contacts', description: 'Contacts synced from the CRM', key_field: 'email' }) });
      const key = await (await fetch('/api/v1/keys', { method: 'POST', headers: json, body: JSON.stringify({ label: 'e2e sendgrid' }) })).json();
      const doc = { name: 'SendGrid events', trigger: { path: 'acme/SendgridEvents', auth: { type: 'api_key', keys: [key.id] },
        request_response: false, retry: { max_attempts: 1 } },
        steps: [{ type: 'store', table: 'email_events', action: 'upsert', record_expr: 'request.body' }] };
      const put = await fetch('/api/v1/integrations/sendgrid-events', { method: 'PUT', headers: json, body: JSON.stringify(doc) });
      return { other: other.status, put: put.status, answer: await put.text(), secret: key.secret };
    });
    check(made.other === 201 && (made.put === 200 || made.put === 201), `setup answered ${JSON.stringify(made)}`);
    const message = '14c5d75ce93.dfd.64b469.filter0001';
    const batch = [
      { email: 'ann@example.com', timestamp: 1700000000, event: 'delivered', sg_event_id: 'ZGVsaXZlcmVk', sg_message_id: message },
      { email: 'ann@example.com', timestamp: 1700000300, event: 'open', sg_event_id: 'b3Blbi0x', sg_message_id: message },
      { email: 'bob@example.com', timestamp: 1700000420, event: 'bounce', sg_event_id: 'Ym91bmNl', sg_message_id: 'bob.filter0002',
        reason: '550 5.1.1 unknown user' },
    ];
    const call = await fetch(url('/t/acme/SendgridEvents'), { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': made.secret }, body: JSON.stringify(batch) });
    check(call.status === 202, `the batch answered ${call.status}`);

    // The table's page shows the records as they come in (it refreshes every 5 s).
    await page.click(`${row} a`);
    await page.waitForURL(/\/tables\/email_events$/);
    await page.waitForFunction(() => document.querySelectorAll('tr.record-row').length === 3, null, { timeout: 15_000 });
    const keys = await page.$$eval('tr.record-row', els => els.map(e => e.dataset.key));
    check(JSON.stringify(keys) === '["Ym91bmNl","b3Blbi0x","ZGVsaXZlcmVk"]', `newest first by key: ${keys}`);
    check(/^\/executions\/.+/.test(await page.getAttribute('tr.record-row a.record-execution', 'href')), 'a record links to its execution');
    const bounce = 'tr.record-row[data-key="Ym91bmNl"]';
    await page.click(`${bounce} summary`);
    check((await page.textContent(`${bounce} pre.json`)).includes('"reason": "550 5.1.1 unknown user"'), 'opened, the data is formatted JSON');
    check((await page.textContent('#table-records')).trim() === '3', 'the count');
    await dismissNotices();
    await shot('table-records');

    // Filtered by the indexed field: exactly the two events of one message; the export follows the filter.
    await page.selectOption('#record-field', 'sg_message_id');
    await page.fill('#record-value', message);
    await page.click('#apply-filter');
    await page.waitForURL(/\?field=sg_message_id&value=/);
    await page.waitForFunction(() => {
      const keys = [...document.querySelectorAll('tr.record-row')].map(e => e.dataset.key).sort().join();
      return keys === 'ZGVsaXZlcmVk,b3Blbi0x';
    });
    check(/2 records match/.test(await page.textContent('#records-count')), `count: ${await page.textContent('#records-count')}`);
    const csv = await page.getAttribute('#export-csv', 'href');
    check(csv === `/api/v1/tables/email_events/export?format=csv&field=sg_message_id&value=${message}`, `export link ${csv}`);
    const file = await page.evaluate(async href => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), text: await r.text() };
    }, csv);
    check(file.status === 200 && /^text\/csv/.test(file.type) && /attachment/.test(file.disposition || ''), `export answered ${JSON.stringify(file)}`);
    check(file.text.trim().split('\n').length === 3 && !file.text.includes('bob@example.com'), `the CSV holds the two: ${file.text}`);

    // Delete one record (after a confirmation).
    await page.click('tr.record-row[data-key="b3Blbi0x"] .delete-record');
    await page.click('#confirm-action');
    await page.waitForFunction(() => document.querySelectorAll('tr.record-row').length === 1);
    await page.waitForSelector('#records-count:has-text("1 record match")');

    // The list: counts; deleting a table says its records go with it.
    await page.click('#nav-tables');
    await page.waitForSelector(`${row} .table-records:has-text("2")`);
    await page.waitForSelector('tr[data-table="crm_contacts"]');
    await dismissNotices();
    await shot('tables');
    await page.click(`${row} .delete-table`);
    check(/All its 2 records are deleted with it/.test(await page.textContent('.modal[role=alertdialog]')), 'the confirmation names the records');
    await page.click('.modal[role=alertdialog] button:has-text("Cancel")');
    await page.click('tr[data-table="crm_contacts"] .delete-table');
    await page.click('#confirm-action');
    await page.waitForSelector('tr[data-table="crm_contacts"]', { state: 'detached' });
    check(await page.locator(row).count() === 1, 'the other table stays');

    // Both pages fit a 1024 px window.
    await page.setViewportSize({ width: 1024, height: 768 });
    try {
      for (const [path, ready] of [['/tables', row], ['/tables/email_events', 'tr.record-row']]) {
        await page.goto(url(path));
        await page.waitForSelector(ready);
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        if (process.env.FULL_SHOTS) {
          mkdirSync(artifacts, { recursive: true });
          await page.screenshot({ path: join(artifacts, `w1024${path.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
        }
        check(wide <= 1024, `${path} is ${wide} px wide at a 1024 px window`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  }],

  ['data steps: store, lookup and sql steps have forms of their own (tables and secrets picked by name)', async () => {
    // A table with a key field and an indexed field, and a stored secret for a database.
    const made = await page.evaluate(async () => {
      const json = { 'content-type': 'application/json' };
      const table = await fetch('/api/v1/tables', { method: 'POST', headers: json, body: JSON.stringify(
        { name: 'contacts', description: 'People who wrote in', key_field: 'email', indexed_fields: ['company'] }) });
      const secret = await fetch('/api/v1/secrets', { method: 'POST', headers: json, body: JSON.stringify(
        { name: 'crm-database', value: 'postgres://flowgate:pw@crm-db.internal:5432/crm' }) });
      return [table.status, secret.status];
    });
    check(made[0] === 201 && made[1] === 201, `setup answered ${made}`);
    await page.goto(url('/integrations'));
    await page.click('#new-integration');
    await page.fill('#new-name', 'Contact sync');
    await page.fill('#new-path', 'acme/ContactSync');
    await page.click('#create-integration');
    await page.waitForSelector('text=No steps yet');
    await page.click('#auth-none');
    const draft = async () => {
      await waitSaved();
      return page.evaluate(async () => (await (await fetch('/api/v1/integrations/contact-sync/draft')).json()).document);
    };

    // 0: store — the table picked from the list; delete moves the expression to key_expr and back.
    await page.click('#add-step');
    await page.click('.palette-item[data-type=store]');
    const store = '.step-card[data-index="0"]';
    await page.waitForSelector(`${store} select.store-table option[value="contacts"]`, { state: 'attached' });
    await page.selectOption(`${store} .store-table`, 'contacts');
    await page.selectOption(`${store} .store-action`, 'upsert');
    await page.fill(`${store} .store-expr`, '#{ email: request.body.email, company: request.body.company }');
    await page.fill(`${store} .store-to`, 'ids');
    await page.selectOption(`${store} .store-action`, 'delete');
    check(/Keys \(Rhai expression\)/.test(await page.textContent(store)), 'a delete asks for keys');
    let s = (await draft()).steps[0];
    check(s.action === 'delete' && s.key_expr && !s.record_expr, `delete: ${JSON.stringify(s)}`);
    await page.selectOption(`${store} .store-action`, 'upsert');

    // 1: lookup by fields — the table's key and indexed fields are offered; a bad limit is shown on its field.
    await page.click('#add-step');
    await page.click('.palette-item[data-type=lookup]');
    const lookup = '.step-card[data-index="1"]';
    await page.waitForSelector(`${lookup} select.lookup-table option[value="contacts"]`, { state: 'attached' });
    await page.selectOption(`${lookup} .lookup-table`, 'contacts');
    await page.selectOption(`${lookup} .lookup-mode`, 'where');
    const offered = await page.$$eval(`${lookup} select.lookup-where-name option`, os => os.map(o => o.value));
    check(JSON.stringify(offered) === '["email","company"]', `fields offered: ${offered}`);
    check(await page.inputValue(`${lookup} select.lookup-where-name`) === 'company', 'an indexed field comes first');
    await page.fill(`${lookup} .lookup-where-value`, 'request.body.company');
    await page.fill(`${lookup} .lookup-limit`, '0');
    await page.waitForSelector(`${lookup} .field-problem[data-field="limit"]:has-text("limit must be 1 to 1000")`);
    await page.fill(`${lookup} .lookup-limit`, '20');
    await page.selectOption(`${lookup} .lookup-order`, 'oldest');
    await page.fill(`${lookup} .lookup-to`, 'colleagues');

    // 2: sql — the secret picked by name, the parameters numbered as the statement uses them.
    await page.click('#add-step');
    await page.click('.palette-item[data-type=sql]');
    const sql = '.step-card[data-index="2"]';
    await page.waitForSelector(`${sql} select.sql-connection option[value="crm-database"]`, { state: 'attached' });
    await page.selectOption(`${sql} .sql-connection`, 'crm-database');
    await page.locator(`${sql} .sql-query textarea`).fill(
      'SELECT id, tier FROM customers\nWHERE email = $1 AND company = $2');
    await page.waitForSelector(`${sql} .sql-count:has-text("give 2 parameters")`);
    await page.click(`${sql} .add-sql-param`);
    await page.locator(`${sql} .sql-param-value`).nth(1).fill('request.body.company');
    await page.waitForSelector(`${sql} .sql-count`, { state: 'detached' });
    const numbers = await page.$$eval(`${sql} .sql-param-no`, els => els.map(e => e.textContent));
    check(JSON.stringify(numbers) === '["$1","$2"]', `parameters numbered ${numbers}`);
    await page.fill(`${sql} .sql-to`, 'crm');

    const doc = await draft();
    check(await page.locator('#problem-count').count() === 0, `problems: ${await page.textContent('#pipeline')}`);
    const [st, lk, sq] = doc.steps;
    check(st.type === 'store' && st.table === 'contacts' && st.action === 'upsert' && st.to === 'ids'
      && st.record_expr.startsWith('#{ email') && !st.key_expr, `store: ${JSON.stringify(st)}`);
    check(lk.type === 'lookup' && lk.table === 'contacts' && lk.where.company === 'request.body.company' && !lk.key_expr
      && lk.limit === 20 && lk.order === 'oldest' && lk.to === 'colleagues', `lookup: ${JSON.stringify(lk)}`);
    check(sq.type === 'sql' && sq.connection === 'crm-database' && sq.to === 'crm' && /\$2$/.test(sq.query)
      && JSON.stringify(sq.params) === '["request.body.email","request.body.company"]', `sql: ${JSON.stringify(sq)}`);
    if (docShots) {
      await dismissNotices();
      await page.evaluate(() => document.activeElement?.blur());
      for (const [name, card] of [['editor-store', store], ['editor-lookup', lookup], ['editor-sql', sql]]) {
        await page.evaluate(c => { document.querySelector(c).scrollIntoView({ block: 'start' }); window.scrollBy(0, -110); }, card);
        await shot(name, page.locator(card));
      }
    }
  }],

  ['every page stays usable at 1024 pixels wide (no sideways scrolling)', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    try {
      for (const [path, ready] of [['/', '#dashboard-integrations'], ['/integrations', '#integrations'],
                                   ['/integrations/create-customer-record', '#pipeline'],
                                   ['/integrations/order-intake/docs', '#docs-url'], ['/api-reference', '.api-op'],
                                   ['/executions', 'tr.execution-row'], ['/keys', 'h1'], ['/oauth-clients', '#oauth-clients'],
                                   ['/users', 'h1'],
                                   ['/subscriptions', 'h1'], ['/secrets', 'h1']]) {
        await page.goto(url(path));
        await page.waitForSelector(ready);
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        if (process.env.FULL_SHOTS) {
          mkdirSync(artifacts, { recursive: true });
          await page.screenshot({ path: join(artifacts, `w1024${path.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
        }
        check(wide <= 1024, `${path} is ${wide} px wide at a 1024 px window`);
      }
      await page.goto(url('/integrations/create-customer-record'));
      await page.waitForSelector('#pipeline');
      check(await page.isVisible('#publish') && await page.isVisible('#show-versions'), 'editor actions visible');
      await shot('editor-1024');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  }],

  ['sign out ends the session', async () => {
    await page.click('#sign-out');
    await page.waitForSelector('#email');
    await page.reload();
    await page.waitForSelector('#email');
  }],
];

let passed = 0, failed = 0;
for (const [name, fn] of tests) {
  if (Date.now() > deadline) { console.log(`SKIP  ${name} (suite time limit)`); failed++; continue; }
  const t0 = Date.now();
  try {
    await fn();
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.splice(0).join(' | ')}`);
    passed++;
    console.log(`PASS  ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.log(`FAIL  ${name} (${Date.now() - t0} ms)\n      ${String(e.stack || e).split('\n').slice(0, 4).join('\n      ')}\n      screenshot: ${file}`);
    pageErrors.length = 0;
  }
}

await browser.close();
server.child.kill('SIGTERM');
await new Promise(r => setTimeout(r, 300));
if (failed) {
  console.log(`server log: ${server.log}`);
} else {
  rmSync(server.data, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
