// Real, signed APKs for the e2e flows, built with Debian's aapt + apksigner
// and the repository's fixed test key (backend/internal/apktest/keys), the
// same tools backend/internal/apktest uses for the Go tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const frameworkRes = '/usr/share/android-framework-res/framework-res.apk';
const keys = resolve(new URL('.', import.meta.url).pathname, '../../../backend/internal/apktest/keys');

export function apkToolsMissing() {
  for (const t of ['aapt', 'apksigner', 'convert']) {
    try {
      execFileSync('which', [t], { stdio: 'ignore' });
    } catch {
      return `${t} is not installed`;
    }
  }
  return existsSync(frameworkRes) ? '' : `${frameworkRes} missing (apt-get install android-framework-res)`;
}

function esc(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * buildApk writes dir/<file> for {pkg, label, version, code, color, letter, payloadKB}.
 * The label is a literal manifest string (Chinese works), the icon a PNG.
 */
export function buildApk(dir, a) {
  const work = join(dir, `.${a.pkg}`);
  mkdirSync(join(work, 'res', 'drawable'), { recursive: true });
  mkdirSync(join(work, 'assets'), { recursive: true });
  execFileSync('convert', ['-size', '96x96', `xc:${a.color ?? '#1d4ed8'}`, '-fill', 'white', '-font', '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf', '-pointsize', '54',
    '-gravity', 'center', '-annotate', '0', a.letter ?? 'A', join(work, 'res', 'drawable', 'icon.png')]);
  writeFileSync(join(work, 'assets', 'payload.bin'), Buffer.alloc((a.payloadKB ?? 64) * 1024, a.pkg.length));
  writeFileSync(join(work, 'AndroidManifest.xml'),
    `<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="${a.pkg}"
  android:versionCode="${a.code ?? 1}" android:versionName="${esc(a.version ?? '1.0')}">
  <uses-sdk android:minSdkVersion="${a.minSdk ?? 21}" android:targetSdkVersion="33" />
  <application android:label="${esc(a.label)}" android:icon="@drawable/icon" />
</manifest>
`);
  const unsigned = join(work, 'unsigned.apk');
  execFileSync('aapt', ['package', '-f', '-M', join(work, 'AndroidManifest.xml'), '-S', join(work, 'res'), '-A', join(work, 'assets'),
    '-I', frameworkRes, '-F', unsigned, '-0', 'bin'], { stdio: 'pipe' });
  const out = join(dir, a.file ?? `${a.pkg}.apk`);
  execFileSync('apksigner', ['sign', '--v4-signing-enabled', 'false', '--key', join(keys, 'a.pk8'), '--cert', join(keys, 'a.x509.pem'), '--out', out, unsigned], { stdio: 'pipe' });
  return out;
}

/** The shop's standard set: Chinese and Latin labels. */
export const shopApps = [
  { pkg: 'com.tencent.mm', label: '微信', version: '8.0.49', code: 2580, color: '#16a34a', letter: '微', payloadKB: 900 },
  { pkg: 'com.eg.android.AlipayGphone', label: '支付宝', version: '10.5.86', code: 1086, color: '#1677ff', letter: '支', payloadKB: 700 },
  { pkg: 'com.ss.android.ugc.aweme', label: '抖音', version: '29.1.0', code: 290100, color: '#111827', letter: '抖', payloadKB: 1200 },
  { pkg: 'org.example.notes', label: 'Notes', version: '2.1', code: 21, color: '#f59e0b', letter: 'N', payloadKB: 300 },
];
