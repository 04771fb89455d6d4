// End-to-end: the station UI against `serve` with 8 virtual phones behind a
// private adb server. APKs go in by synthetic drag-and-drop (a broken one
// shows its error, a duplicate is recognised), a list is built by dragging,
// auto mode installs on every phone as it is plugged, all cards turn green
// but one (a Xiaomi refusing USB installs), whose card shows the operator
// hint. A receipt is printed to PDF by Chromium in English and Chinese and
// must contain the phone's serial and every app; the Go PDF export downloads.
// Screenshots go to $ARTIFACTS (ui-*.png).
//
//   PRELOAD_BIN=../build/bin/preload-station ARTIFACTS=../artifacts node e2e/phones.mjs
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, basename } from 'node:path';
import { freePort } from './lib/net.mjs';
import { buildApk, shopApps, apkToolsMissing } from './lib/apks.mjs';

const bin = resolve(process.env.PRELOAD_BIN ?? '../build/bin/preload-station');
const artifacts = resolve(process.env.ARTIFACTS ?? '../artifacts');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PHONES = 8;
const FAIL_INDEX = 4; // 0-based in the sim's listing; "mixed" profile: the 5th phone is a Xiaomi Redmi 9A
mkdirSync(artifacts, { recursive: true });

function fail(msg) {
  console.error(`e2e phones: ${msg}`);
  process.exit(1);
}
if (!existsSync(bin)) fail(`binary not found: ${bin} (run make build)`);
if (!existsSync(chromiumPath)) fail(`chromium not found at ${chromiumPath}`);
const missing = apkToolsMissing();
if (missing) fail(`cannot build test APKs: ${missing}`);
for (const tool of ['adb', 'pdftotext']) {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
  } catch {
    fail(`${tool} is not installed`);
  }
}

const msgs = {
  en: JSON.parse(readFileSync(new URL('../src/lib/i18n/pages.en.json', import.meta.url))),
  zh: JSON.parse(readFileSync(new URL('../src/lib/i18n/pages.zh-CN.json', import.meta.url))),
};

function start(args, env, ready, what) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const started = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} did not start in 30 s:\n${log}`)), 30000);
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        res({ m, out });
      }
    });
    proc.once('exit', (code) => rej(new Error(`${what} exited with ${code}:\n${log}`)));
  });
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  };
  return { started, stop, log: () => log };
}

let failures = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failures++;
    console.error(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** dropFiles dispatches dragenter/dragover/drop with real File objects; returns whether the page cancelled the drop. */
async function dropFiles(page, selector, paths) {
  const files = paths.map((p) => ({ name: basename(p), b64: readFileSync(p).toString('base64') }));
  return page.evaluate(
    ({ selector, files }) => {
      const dt = new DataTransfer();
      for (const f of files) {
        const bin = atob(f.b64);
        const u8 = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
        dt.items.add(new File([u8], f.name, { type: 'application/vnd.android.package-archive' }));
      }
      const el = selector ? document.querySelector(selector) : document.querySelector('main') ?? document.body;
      let prevented = true;
      for (const type of ['dragenter', 'dragover', 'drop']) {
        const ev = new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt });
        el.dispatchEvent(ev);
        if (type !== 'dragenter') prevented &&= ev.defaultPrevented;
      }
      return prevented;
    },
    { selector, files },
  );
}

/** api calls a bound service from inside the page (same bridge the UI uses). */
function api(page, service, method, ...args) {
  return page.evaluate(({ service, method, args }) => window.go.services[service][method](...args), { service, method, args });
}

function pdfText(path) {
  return execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
}

const work = mkdtempSync(join(tmpdir(), 'preload-e2e-phones-'));
const apkDir = join(work, 'apks');
mkdirSync(apkDir);
const apks = shopApps.map((a) => buildApk(apkDir, a));
const broken = join(apkDir, 'broken-download.apk');
writeFileSync(broken, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(4096, 7)]));

const adbPort = await freePort();
execFileSync('adb', ['-P', String(adbPort), 'start-server'], { stdio: 'ignore' });
const env = { ANDROID_ADB_SERVER_PORT: String(adbPort), PRELOAD_DATA: '', PRELOAD_TOKEN: '' };
const listen = `127.0.0.1:${await freePort()}`;
const serve = start(['serve', '--data', join(work, 'data'), '--listen', listen], env, /serving at (http\S+)/, 'serve');
let sim = null;
let browser = null;

async function cleanup() {
  await browser?.close().catch(() => {});
  await sim?.stop();
  await serve.stop();
  try {
    execFileSync('adb', ['-P', String(adbPort), 'kill-server'], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
  rmSync(work, { recursive: true, force: true });
}

try {
  const { m } = await serve.started;
  const url = m[1];
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--font-render-hinting=none'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'en-US', acceptDownloads: true });
  const page = await context.newPage();
  let lastErr = '';
  page.on('pageerror', (e) => {
    if (e.message !== lastErr) console.error('page error:', e.message, (e.stack ?? '').split('\n').slice(0, 12).join(' | '));
    lastErr = e.message;
  });
  const en = msgs.en;

  await step('first run: station set up, admin signed in', async () => {
    await page.goto(url);
    await page.getByLabel('Station name').fill('华强北 3号店 · Shop 12');
    await page.getByLabel('Administrator username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('password1');
    await page.getByLabel('Confirm password').fill('password1');
    await page.getByRole('button', { name: 'Create station' }).click();
    await page.getByRole('heading', { level: 1, name: 'Hub' }).waitFor();
  });

  await step('an APK dropped anywhere on the window lands in the library; WebKit/Chromium do not navigate', async () => {
    const before = page.url();
    const prevented = await dropFiles(page, null, [apks[0]]);
    expect(prevented, 'the window did not cancel the drop (the webview would open the file)');
    await page.getByRole('heading', { level: 1, name: 'Library' }).waitFor();
    await page.locator('tr[data-package="com.tencent.mm"]').waitFor({ timeout: 15000 });
    expect(page.url().split('#')[0] === before.split('#')[0], `page navigated to ${page.url()}`);
  });

  await step('drop zone: 3 good APKs added, a broken one shows the error, a duplicate is recognised', async () => {
    const prevented = await dropFiles(page, '[data-testid="dropzone"]', [...apks.slice(1), broken, apks[0]]);
    expect(prevented, 'drop zone did not cancel the drop');
    const results = page.locator('section[aria-label="' + en.library.results + '"] li');
    await page.waitForFunction(() => document.querySelectorAll('li[data-state="checking"]').length === 0, null, { timeout: 30000 });
    const states = await results.evaluateAll((els) => els.map((e) => [e.querySelector('.file')?.textContent, e.dataset.state]));
    const by = Object.fromEntries(states);
    expect(by['broken-download.apk'] === 'error', `broken file state ${by['broken-download.apk']}`);
    expect(by['com.tencent.mm.apk'] === 'duplicate' || states.filter(([n]) => n === 'com.tencent.mm.apk').some(([, s]) => s === 'duplicate'), `duplicate not recognised: ${JSON.stringify(states)}`);
    for (const a of apks.slice(1)) expect(by[basename(a)] === 'added', `${basename(a)}: ${by[basename(a)]}`);
    const err = await page.locator('li[data-state="error"]').innerText();
    expect(/not a valid APK \(.+\)/i.test(err), `error text: ${err}`);
    for (const a of shopApps) await page.locator(`tr[data-package="${a.pkg}"]`).waitFor();
    expect((await page.locator('table.apps tbody tr').count()) === 4, 'library should hold exactly 4 apps');
    await page.screenshot({ path: join(artifacts, 'ui-library.png') });
  });

  await step('lists: create, add apps, reorder by dragging, activate', async () => {
    await page.getByRole('link', { name: 'Lists' }).click();
    await page.getByPlaceholder(en.lists.name).fill('标准装机 Standard');
    await page.getByRole('button', { name: en.lists.create }).click();
    await page.getByRole('heading', { level: 2, name: '标准装机 Standard' }).waitFor();
    for (let i = 0; i < 4; i++) {
      await page.getByRole('button', { name: new RegExp(en.lists.add) }).first().click();
      await page.waitForFunction((n) => document.querySelectorAll('ol.items li').length === n, i + 1);
    }
    const order = () => page.locator('ol.items li .lbl strong').allInnerTexts();
    const first = await order();
    await page.locator('ol.items li').nth(3).dragTo(page.locator('ol.items li').nth(0));
    await page.waitForFunction((want) => document.querySelector('ol.items li .lbl strong')?.textContent === want, first[3], { timeout: 5000 });
    const lists = await api(page, 'LibraryService', 'Lists');
    const saved = lists[0].items.sort((a, b) => a.position - b.position).map((i) => i.app.label);
    expect(saved[0] === first[3], `saved order ${saved} after dragging ${first[3]} to the top`);
    await page.getByRole('button', { name: en.lists.activate }).click();
    await page.locator('.active-tag.big').waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-lists.png') });
  });

  let serials = [];
  let ctrl = '';
  await step(`plug ${PHONES} phones with auto mode on: every card green but the Xiaomi refusing USB installs, which shows its hint`, async () => {
    await page.getByRole('link', { name: 'Hub' }).click();
    await page.getByRole('switch').check();
    expect(await api(page, 'InstallService', 'Auto'), 'auto mode not on at the station');
    ctrl = `127.0.0.1:${await freePort()}`;
    sim = start(['sim', '--phones', String(PHONES), '--adb-port', String(adbPort), '--control', ctrl, '--fault', `${FAIL_INDEX + 1}:fail=*:INSTALL_FAILED_USER_RESTRICTED`], env, /phones attached/, 'sim');
    const { out } = await sim.started;
    serials = [...out.matchAll(/^(127\.0\.0\.1:\d+)\s/gm)].map((x) => x[1]);
    expect(serials.length === PHONES, `sim listed ${serials.length} phones`);
    await page.waitForFunction((n) => document.querySelectorAll('.board [data-serial]').length === n, PHONES, { timeout: 30000 });
    // Catch the board mid-install (progress bars) when the phones are not faster than us.
    if (await page.waitForFunction(() => document.querySelectorAll('.board [data-state="installing"] .bar').length >= 4, null, { timeout: 15000, polling: 50 }).then(() => true, () => false)) {
      await page.screenshot({ path: join(artifacts, 'ui-board-installing.png') });
    }
    await page.waitForFunction(
      (n) => document.querySelectorAll('.board [data-state="done"], .board [data-state="failed"]').length === n,
      PHONES,
      { timeout: 120000 },
    );
    const done = await page.locator('.board [data-state="done"]').count();
    const failed = page.locator('.board [data-state="failed"]');
    expect(done === PHONES - 1 && (await failed.count()) === 1, `done ${done}, failed ${await failed.count()}`);
    expect((await failed.getAttribute('data-serial')) === serials[FAIL_INDEX], `the wrong phone failed: ${await failed.getAttribute('data-serial')} (sim: ${serials})`);
    await failed.locator('.hint').waitFor({ timeout: 10000 });
    const text = await failed.innerText();
    expect(/Install via USB/.test(text) && /INSTALL_FAILED_USER_RESTRICTED/.test(text), `failed card: ${text}`);
    expect((await page.getByTestId('count-done').innerText()) === String(PHONES - 1), 'header done count');
    expect((await page.getByTestId('count-failed').innerText()) === '1', 'header failed count');
  });

  await step('slots labelled A1…A8 show in label order (A2 before A10 style)', async () => {
    const slots = await api(page, 'DeviceService', 'Slots');
    const order = [...slots].sort((a, b) => a.position - b.position || a.id - b.id);
    // Label them in reverse arrival order so label order ≠ arrival order.
    for (let i = 0; i < order.length; i++) await api(page, 'DeviceService', 'SetSlotLabel', order[i].id, `A${order.length - i}`);
    await page.reload();
    await page.waitForFunction((n) => document.querySelectorAll('.board [data-state="done"], .board [data-state="failed"]').length === n, PHONES, { timeout: 15000 });
    const labels = await page.locator('.board .slot').allInnerTexts();
    expect(labels.join(',') === Array.from({ length: PHONES }, (_, i) => `A${i + 1}`).join(','), `board order ${labels}`);
    await page.screenshot({ path: join(artifacts, 'ui-board-1280x720.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: join(artifacts, 'ui-board-1920x1080.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(artifacts, 'ui-board-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  await step('drawer of the failed phone: failed app with code and hint, retry/identify/receipt', async () => {
    await page.locator('.board [data-state="failed"]').click();
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    await drawer.locator('.group.failed li').first().waitFor();
    const text = await drawer.innerText();
    expect(/INSTALL_FAILED_USER_RESTRICTED/.test(text) && /Install via USB/.test(text), `drawer: ${text.slice(0, 400)}`);
    for (const name of [en.drawer.retry, en.drawer.identify, en.drawer.receipt]) await drawer.getByRole('button', { name }).waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-drawer-failed.png') });
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
  });

  let receiptSerial = '';
  await step('receipt of a done phone, printed to PDF by Chromium, has the serial and every app (EN)', async () => {
    const card = page.locator('.board [data-state="done"]').first();
    receiptSerial = await card.getAttribute('data-serial');
    await card.click();
    const drawer = page.getByRole('dialog');
    await drawer.locator('.group.installed li').first().waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-drawer-done.png') });
    await drawer.getByRole('button', { name: en.drawer.receipt }).click();
    await page.getByRole('heading', { level: 1, name: 'Reports' }).waitFor();
    await page.getByTestId('receipt-serial').waitFor();
    expect((await page.getByTestId('receipt-serial').innerText()) === receiptSerial, 'receipt serial');
    for (const a of shopApps) await page.locator(`article.receipt tr[data-package="${a.pkg}"]`).waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-receipt-en.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const pdf = join(artifacts, 'ui-receipt-en.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    await page.emulateMedia({ media: 'screen' });
    const text = pdfText(pdf);
    expect(text.includes(receiptSerial), 'PDF lacks the serial');
    for (const a of shopApps) expect(text.includes(a.label) && text.includes(a.pkg), `PDF lacks ${a.label} / ${a.pkg}`);
    expect(/Installation receipt/.test(text) && /Customer signature/.test(text), 'PDF lacks the title or signature line');
    expect(!/Hub|Library|Sign out/.test(text.split('\n').slice(0, 3).join(' ')), 'print CSS left the app chrome in the PDF');
  });

  await step('the same receipt in Chinese (UI switched to 简体中文), printed to PDF', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { level: 2, name: msgs.zh.reports.receiptTitle }).waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-receipt-zh.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const pdf = join(artifacts, 'ui-receipt-zh.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    await page.emulateMedia({ media: 'screen' });
    const text = pdfText(pdf);
    expect(text.includes(receiptSerial), 'PDF lacks the serial');
    for (const a of shopApps) expect(text.includes(a.label) && text.includes(a.pkg), `PDF lacks ${a.label}`);
    for (const w of [msgs.zh.reports.receiptTitle, msgs.zh.reports.signCustomer, msgs.zh.result.installed]) expect(text.includes(w), `PDF lacks ${w}`);
  });

  await step('PDF and CSV export from Go download (Chinese)', async () => {
    const [pdfDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PDF', exact: true }).click()]);
    const pdfPath = join(artifacts, 'ui-receipt-go-zh.pdf');
    await pdfDl.saveAs(pdfPath);
    expect(readFileSync(pdfPath).subarray(0, 5).toString() === '%PDF-', 'not a PDF');
    const text = pdfText(pdfPath);
    expect(text.includes(receiptSerial) && text.includes('微信'), 'Go PDF lacks the serial or 微信');
    const [csvDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'CSV', exact: true }).click()]);
    const csv = readFileSync(await csvDl.path(), 'utf8');
    expect(csv.includes(receiptSerial) && csv.includes('支付宝') && csv.includes('序列号'), 'CSV content');
  });

  await step('history: 8 sessions, search by serial finds the failed phone', async () => {
    await page.locator('.topbar select').first().selectOption('en');
    await page.getByRole('link', { name: 'History' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length === n, PHONES, { timeout: 10000 });
    await page.screenshot({ path: join(artifacts, 'ui-history.png') });
    await page.getByTestId('filter-serial').fill(serials[FAIL_INDEX].split(':')[1]);
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 1, null, { timeout: 10000 });
    expect(/Failed/.test(await page.locator('table tbody tr').innerText()), 'filtered row is not the failed session');
  });

  await step('summaries per app and per day', async () => {
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('tab', { name: en.reports.summaryTab }).click();
    await page.locator('table.summary tfoot').waitFor();
    const total = await page.locator('table.summary tfoot').innerText();
    expect(new RegExp(`\\b${PHONES}\\b`).test(total), `day total: ${total}`);
    await page.getByText(en.reports.group.app).click();
    await page.waitForFunction(() => document.querySelectorAll('table.summary tbody tr').length === 4, null, { timeout: 10000 });
    await page.screenshot({ path: join(artifacts, 'ui-summary-app.png') });
  });

  await step('settings: "plug a phone into the port you want to name" labels the port the phone arrives on; hub caps saved', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: msgs.en.settingsPage.labelMode }).click();
    await page.getByText(msgs.en.settingsPage.labelPrompt).waitFor();
    await page.screenshot({ path: join(artifacts, 'ui-settings-label-prompt.png') });
    const target = serials[2];
    for (const fault of ['unplug', 'replug']) {
      const res = await fetch(`http://${ctrl}/phones/${encodeURIComponent(target)}/${fault}`, { method: 'POST' });
      expect(res.ok, `sim ${fault}: ${res.status} ${await res.text()}`);
      if (fault === 'unplug') await new Promise((r) => setTimeout(r, 1500));
    }
    const input = page.locator('#slot-label');
    await input.waitFor({ timeout: 45000 });
    expect((await page.locator('.target label').innerText()).includes(target), 'the prompt names another port');
    await input.fill('Z9');
    await page.getByRole('button', { name: msgs.en.settingsPage.save }).last().click();
    await page.waitForFunction(() => !document.querySelector('#slot-label'));
    const slots = await api(page, 'DeviceService', 'Slots');
    expect(slots.some((s) => s.path === `serial:${target}` && s.label === 'Z9'), `slots: ${JSON.stringify(slots)}`);
    await page.getByLabel(msgs.en.settingsPage.concurrency).fill('2');
    await page.getByLabel(msgs.en.settingsPage.bandwidth, { exact: true }).fill('35');
    await page.locator('form.caps').getByRole('button', { name: msgs.en.settingsPage.save }).click();
    await page.waitForFunction(async () => (await window.go.services.SettingsService.InstallCaps()).hubConcurrency === 2, null, { timeout: 5000 });
    const caps = await api(page, 'SettingsService', 'InstallCaps');
    expect(caps.hubRateMBps === 35, `caps ${JSON.stringify(caps)}`);
    await page.screenshot({ path: join(artifacts, 'ui-settings.png'), fullPage: true });
  });
} catch (err) {
  failures++;
  console.error(`FAIL ${err?.stack ?? err}`);
  console.error('serve log (tail):\n' + serve.log().split('\n').slice(-30).join('\n'));
} finally {
  await cleanup();
}
if (failures) {
  console.error(`e2e phones: ${failures} step(s) failed`);
  process.exit(1);
}
console.log('e2e phones: all steps passed');
