// End-to-end test: the real binary's `serve` mode in headless Chromium.
// First-run setup → admin created → sign out → sign in → Hub → a custom list
// with an app marked "install first", in English and in Chinese, each against a
// fresh data directory. Screenshots go to $ARTIFACTS.
//
//   PRELOAD_BIN=../build/bin/preload-station ARTIFACTS=../artifacts node e2e/run.mjs
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './lib/net.mjs';
import { buildApk, shopApps, apkToolsMissing } from './lib/apks.mjs';

const bin = resolve(process.env.PRELOAD_BIN ?? '../build/bin/preload-station');
const artifacts = resolve(process.env.ARTIFACTS ?? '../artifacts');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });

if (!existsSync(bin)) fail(`binary not found: ${bin} (run make build)`);
if (!existsSync(chromiumPath)) fail(`chromium not found at ${chromiumPath} (apt-get install chromium)`);
const apkMissing = apkToolsMissing();
if (apkMissing) fail(`cannot build test APKs: ${apkMissing}`);

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(1);
}

// The station starts an adb server if none answers: give it a private port so
// this run never touches the user's 5037, and stop that server at the end.
process.env.ANDROID_ADB_SERVER_PORT = String(await freePort());
process.on('exit', () => {
  try {
    execFileSync('adb', ['-P', process.env.ANDROID_ADB_SERVER_PORT, 'kill-server'], { stdio: 'ignore' });
  } catch {
    /* no adb server was started */
  }
});

// Three small real APKs for the lists flow, built once for both languages.
const apkDir = mkdtempSync(join(tmpdir(), 'preload-e2e-apks-'));
process.on('exit', () => rmSync(apkDir, { recursive: true, force: true }));
const listApps = shopApps.filter((a) => a.pkg !== 'com.ss.android.ugc.aweme');
const listApks = listApps.map((a) => buildApk(apkDir, a));

/** The UI's own strings, so the lists flow follows every rewording. */
const messages = Object.fromEntries(
  ['en', 'zh-CN'].map((lang) => {
    const read = (f) => JSON.parse(readFileSync(new URL(`../src/lib/i18n/${f}`, import.meta.url)));
    return [lang, { ...read(`${lang}.json`), ...read(`pages.${lang}.json`) }];
  }),
);

/** startServe runs `serve` on a free loopback port with a temp data dir and resolves with its URL. */
async function startServe(extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), 'preload-e2e-'));
  const port = await freePort();
  const proc = spawn(bin, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PRELOAD_DATA: '', PRELOAD_TOKEN: '' },
  });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`serve did not start in 20 s:\n${log}`)), 20000);
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving at (http\S+)/);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    proc.once('exit', (code) => rej(new Error(`serve exited with ${code}:\n${log}`)));
  });
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(data, { recursive: true, force: true });
  };
  return { url, stop, log: () => log };
}

const T = {
  en: {
    setupTitle: 'Set up this station',
    stationName: 'Station name',
    adminUsername: 'Administrator username',
    password: 'Password',
    confirm: 'Confirm password',
    create: 'Create station',
    hub: 'Hub',
    hubEmpty: 'No phones connected',
    logout: 'Sign out',
    signIn: 'Sign in',
    username: 'Username',
    badLogin: 'Wrong username or password.',
    mismatch: 'The passwords do not match.',
  },
  'zh-CN': {
    setupTitle: '设置本工作站',
    stationName: '工作站名称',
    adminUsername: '管理员用户名',
    password: '密码',
    confirm: '确认密码',
    create: '创建工作站',
    hub: '集线器',
    hubEmpty: '没有已连接的手机',
    logout: '退出登录',
    signIn: '登录',
    username: '用户名',
    badLogin: '用户名或密码错误。',
    mismatch: '两次输入的密码不一致。',
  },
};

const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
    throw err;
  }
}

async function expectHeading(page, text) {
  await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ state: 'visible' });
}

async function expectAlert(page, text) {
  const alert = page.getByRole('alert');
  await alert.waitFor({ state: 'visible' });
  const got = (await alert.textContent())?.trim();
  if (got !== text) throw new Error(`alert says ${JSON.stringify(got)}, want ${JSON.stringify(text)}`);
}

/** api calls a bound service from inside the page (the bridge the UI uses). */
function api(page, service, method, ...args) {
  return page.evaluate(({ service, method, args }) => window.go.services[service][method](...args), { service, method, args });
}

/** itemLabels returns the app names of the shown list, in list order. */
function itemLabels(page) {
  return page.locator('ol.items > li .lbl strong').allInnerTexts();
}

/** scenario walks first run to the Hub, then a list, in one language. */
async function scenario(browser, lang) {
  const t = T[lang];
  const serve = await startServe();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await step(`[${lang}] setup screen on first run`, async () => {
      await page.goto(serve.url);
      await expectHeading(page, T.en.setupTitle); // browser locale is en-US
      if (lang !== 'en') {
        await page.getByLabel('Language').first().selectOption(lang);
        await expectHeading(page, t.setupTitle);
        const htmlLang = await page.evaluate(() => document.documentElement.lang);
        if (htmlLang !== lang) throw new Error(`<html lang> is ${htmlLang}`);
      }
      await page.screenshot({ path: join(artifacts, `e2e-${lang}-1-setup.png`) });
    });

    await step(`[${lang}] setup refuses mismatched passwords`, async () => {
      await page.getByLabel(t.stationName, { exact: true }).fill('Shop 12');
      await page.getByLabel(t.adminUsername, { exact: true }).fill('admin');
      await page.getByLabel(t.password, { exact: true }).fill('station-pass-1');
      await page.getByLabel(t.confirm, { exact: true }).fill('station-pass-2');
      await page.getByRole('button', { name: t.create }).click();
      await expectAlert(page, t.mismatch);
    });

    await step(`[${lang}] setup creates the admin and opens the Hub`, async () => {
      await page.getByLabel(t.confirm, { exact: true }).fill('station-pass-1');
      await page.getByRole('button', { name: t.create }).click();
      await expectHeading(page, t.hub);
      await page.getByText(t.hubEmpty).waitFor();
      await page.screenshot({ path: join(artifacts, `e2e-${lang}-2-hub-after-setup.png`) });
    });

    await step(`[${lang}] sign out shows the login screen`, async () => {
      await page.getByRole('button', { name: t.logout }).click();
      await expectHeading(page, t.signIn);
      await page.screenshot({ path: join(artifacts, `e2e-${lang}-3-login.png`) });
    });

    await step(`[${lang}] wrong password is refused with a translated message`, async () => {
      await page.getByLabel(t.username, { exact: true }).fill('admin');
      await page.getByLabel(t.password, { exact: true }).fill('not-the-password');
      await page.getByRole('button', { name: t.signIn }).click();
      await expectAlert(page, t.badLogin);
    });

    await step(`[${lang}] sign in as the admin opens the Hub`, async () => {
      await page.getByLabel(t.password, { exact: true }).fill('station-pass-1');
      await page.getByRole('button', { name: t.signIn }).click();
      await expectHeading(page, t.hub);
      await page.screenshot({ path: join(artifacts, `e2e-${lang}-4-hub.png`) });
    });

    await step(`[${lang}] language and session survive a reload`, async () => {
      await page.reload();
      await expectHeading(page, t.hub);
    });

    await step(`[${lang}] navigation reaches every page`, async () => {
      const nav = page.getByRole('navigation');
      const links = await nav.getByRole('link').all();
      if (links.length !== 6) throw new Error(`${links.length} nav links, want 6`);
      for (const link of links) {
        const name = (await link.textContent()).trim();
        await link.click();
        await expectHeading(page, name);
      }
      await nav.getByRole('link', { name: t.hub }).click();
      await expectHeading(page, t.hub);
    });

    await step(`[${lang}] lists: an app marked "install first" keeps its mark through a reorder and a reload`, async () => {
      const m = messages[lang];
      const nav = page.getByRole('navigation');
      await nav.getByRole('link', { name: m.nav.library }).click();
      await expectHeading(page, m.nav.library);
      await page.locator('input[type="file"]').setInputFiles(listApks); // the "Choose files…" picker
      for (const a of listApps) await page.locator(`tr[data-package="${a.pkg}"]`).waitFor();

      await nav.getByRole('link', { name: m.nav.lists }).click();
      await expectHeading(page, m.nav.lists);
      const listName = '标准装机 Standard';
      await page.getByPlaceholder(m.lists.name).fill(listName);
      await page.getByRole('button', { name: m.lists.create, exact: true }).click();
      await page.getByRole('heading', { level: 2, name: listName }).waitFor();
      for (let i = 1; i <= listApps.length; i++) {
        await page.getByRole('button', { name: m.lists.add }).first().click();
        await page.waitForFunction((n) => document.querySelectorAll('ol.items > li').length === n, i);
      }

      // Mark the last app, then move it up one: the mark stays with the app.
      const before = await itemLabels(page);
      const marked = before[before.length - 1];
      const row = page.locator('ol.items > li').filter({ has: page.locator('.lbl strong', { hasText: marked }) });
      const toggle = (pressed) => row.getByRole('button', { name: m.lists.installFirst, exact: true, pressed });
      await toggle(false).click();
      await toggle(true).waitFor();
      await row.getByRole('button', { name: m.lists.moveUp, exact: true }).click();
      const moved = [...before.slice(0, -2), marked, before[before.length - 2]];
      await page.waitForFunction((want) => [...document.querySelectorAll('ol.items > li .lbl strong')].map((e) => e.textContent).join('|') === want, moved.join('|'));
      await toggle(true).waitFor();
      await page.getByText(m.lists.orderHint).waitFor();

      const saved = async () => {
        const list = (await api(page, 'LibraryService', 'Lists')).find((l) => l.name === listName);
        return list.items.sort((a, b) => a.position - b.position).map((i) => `${i.app.label}:${i.priority}`);
      };
      const want = moved.map((label) => `${label}:${label === marked ? 1 : 0}`).join(',');
      let got = '';
      for (let t = 0; t < 50 && got !== want; t++) {
        got = (await saved()).join(',');
        if (got !== want) await page.waitForTimeout(100); // the reorder is saved after the rows move
      }
      if (got !== want) throw new Error(`stored items ${got}, want ${want}`);

      await page.reload();
      await expectHeading(page, m.nav.lists);
      await page.getByRole('heading', { level: 2, name: listName }).waitFor();
      await toggle(true).waitFor();
      const pressed = await page.getByRole('button', { name: m.lists.installFirst, exact: true, pressed: true }).count();
      if (pressed !== 1) throw new Error(`${pressed} apps marked after the reload, want 1`);
      if ((await itemLabels(page)).join('|') !== moved.join('|')) throw new Error(`order after the reload: ${await itemLabels(page)}`);
      await page.screenshot({ path: join(artifacts, `e2e-${lang}-5-lists.png`), fullPage: true });
    });

    await step(`[${lang}] no uncaught page errors`, async () => {
      if (consoleErrors.length) throw new Error(consoleErrors.join('\n'));
    });
  } catch (err) {
    await page.screenshot({ path: join(artifacts, `e2e-${lang}-failure.png`) }).catch(() => {});
    console.error(serve.log());
    throw err;
  } finally {
    await context.close();
    await serve.stop();
  }
}

/** refusal checks that serve will not listen on every interface without a token. */
async function refusal() {
  await step('serve refuses 0.0.0.0 without a token', async () => {
    const data = mkdtempSync(join(tmpdir(), 'preload-e2e-'));
    try {
      const proc = spawn(bin, ['serve', '--data', data, '--listen', '0.0.0.0:0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PRELOAD_TOKEN: '' },
      });
      let err = '';
      proc.stderr.on('data', (d) => (err += d));
      const code = await new Promise((res) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          res('still running after 10 s');
        }, 10000);
        proc.once('exit', (c) => {
          clearTimeout(timer);
          res(c);
        });
      });
      if (code === 0 || typeof code !== 'number') throw new Error(`exit ${code}`);
      if (!/refusing to listen on 0\.0\.0\.0:0/.test(err) || !/--token/.test(err))
        throw new Error(`unclear message: ${err}`);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
}

/** tokenFlow opens a token-protected serve: refused without it, working after ?token=. */
async function tokenFlow(browser) {
  const serve = await startServe(['--token', 'e2e-secret-token']);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  try {
    await step('token: the page is refused without the token', async () => {
      const base = serve.url.replace(/\?token=.*$/, '');
      const res = await page.goto(base);
      if (res.status() !== 401) throw new Error(`status ${res.status()}, want 401`);
    });
    await step('token: the printed URL opens the app and sets the cookie', async () => {
      if (!serve.url.includes('?token=e2e-secret-token')) throw new Error(`printed URL ${serve.url} lacks the token`);
      await page.goto(serve.url);
      await expectHeading(page, T.en.setupTitle);
      if (page.url().includes('token=')) throw new Error(`token left in the address bar: ${page.url()}`);
      const cookies = await context.cookies();
      if (!cookies.some((c) => c.name === 'preload_token' && c.httpOnly)) throw new Error('no HttpOnly token cookie');
    });
    await step('token: a sign-out in one tab reaches another tab over server-sent events', async () => {
      const t = T.en;
      await page.getByLabel(t.stationName, { exact: true }).fill('Remote');
      await page.getByLabel(t.adminUsername, { exact: true }).fill('boss');
      await page.getByLabel(t.password, { exact: true }).fill('remote-pass-1');
      await page.getByLabel(t.confirm, { exact: true }).fill('remote-pass-1');
      await page.getByRole('button', { name: t.create }).click();
      await expectHeading(page, t.hub);
      const other = await context.newPage();
      other.setDefaultTimeout(15000);
      await other.goto(serve.url.replace(/\?token=.*$/, ''));
      await expectHeading(other, t.hub); // the station's session is shared
      await page.getByRole('button', { name: t.logout }).click();
      await expectHeading(other, t.signIn); // no reload: the event did it
    });
  } finally {
    await context.close();
    await serve.stop();
  }
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
let failed = false;
try {
  await refusal();
  for (const lang of ['en', 'zh-CN']) await scenario(browser, lang);
  await tokenFlow(browser);
} catch {
  failed = true;
} finally {
  await browser.close();
}
const passed = results.filter((r) => r.ok).length;
console.log(`e2e: ${passed} passed, ${results.length - passed} failed`);
process.exit(failed ? 1 : 0);
