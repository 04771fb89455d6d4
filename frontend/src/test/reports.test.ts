import { describe, it, expect } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import ReceiptView from '$lib/components/reports/ReceiptView.svelte';
import SummaryTable from '$lib/components/reports/SummaryTable.svelte';
import type { Receipt, Summary } from '$lib/api';
import { setLanguage } from '$lib/i18n';
import { toFilter, emptyForm } from '$lib/components/reports/filters';

const receipt: Receipt = {
  sessionUuid: 'u1', station: '华强北 3号店', slot: 'A7', operator: 'lihua', serial: 'R58N12ABCDE', brand: 'Xiaomi', model: 'Redmi Note 12',
  release: '13', listName: '新机标准包', outcome: 'failed', startedAt: '2026-11-24T09:30:00Z', endedAt: '2026-11-24T09:31:35Z',
  apps: [
    { label: '微信', package: 'com.tencent.mm', versionName: '8.0.49', versionCode: 2580, result: 'installed', code: '', message: '', millis: 8300 },
    { label: 'Notes', package: 'org.example.notes', versionName: '2.1', versionCode: 21, result: 'skipped', code: 'SKIP_ALREADY_INSTALLED', message: '', millis: 0 },
    { label: '支付宝', package: 'com.eg.android.AlipayGphone', versionName: '10.5', versionCode: 1086, result: 'failed', code: 'INSTALL_FAILED_INSUFFICIENT_STORAGE', message: 'not enough space', millis: 0 },
  ],
  installed: 1, skipped: 1, failed: 1,
};

describe('ReceiptView', () => {
  it('has the station, slot, operator, phone, serial, each app with version and result, and the signature lines', () => {
    render(ReceiptView, { receipt });
    const r = screen.getByRole('article', { name: 'Installation receipt' });
    for (const t of ['华强北 3号店', 'A7', 'lihua', 'Xiaomi Redmi Note 12', 'R58N12ABCDE', 'Operator signature', 'Customer signature']) {
      expect(within(r).getAllByText(t).length).toBeGreaterThan(0);
    }
    const rows = within(r).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent(/微信.*com\.tencent\.mm.*8\.0\.49 \(2580\).*Installed.*8\.3 s/);
    expect(rows[1]).toHaveTextContent(/Notes.*SKIP_ALREADY_INSTALLED.*Skipped/);
    expect(rows[2]).toHaveTextContent(/支付宝.*INSTALL_FAILED_INSUFFICIENT_STORAGE: not enough space.*Failed/);
    expect(r).toHaveTextContent('Installed 1 · Skipped 1 · Failed 1');
  });

  it('in Chinese', async () => {
    setLanguage('zh-CN');
    render(ReceiptView, { receipt });
    const r = await screen.findByRole('article', { name: '安装回执' });
    expect(r).toHaveTextContent('顾客签字');
    expect(r).toHaveTextContent('已安装 1 · 已跳过 1 · 失败 1');
    expect(within(r).getAllByRole('row')[1]).toHaveTextContent('已安装');
  });
});

describe('SummaryTable', () => {
  const day: Summary = {
    group: 'day',
    rows: [
      { key: '2026-11-24', label: '2026-11-24', total: 40, done: 38, failed: 2, other: 0, apps: 150, successRate: 0.95, avgMillis: 95_000 },
      { key: '2026-11-23', label: '2026-11-23', total: 10, done: 5, failed: 5, other: 1, apps: 20, successRate: 0.5, avgMillis: 30_500 },
    ],
    total: { key: 'total', label: '', total: 50, done: 43, failed: 7, other: 1, apps: 170, successRate: 43 / 50, avgMillis: 80_000 },
  };

  it('per day: counts, success rate coloured, average time, totals', () => {
    render(SummaryTable, { summary: day });
    const t = screen.getByRole('table', { name: 'Per day' });
    const rows = within(t).getAllByRole('row');
    expect(rows[0]).toHaveTextContent(/Day.*Phones.*Done.*Failed.*Other.*Apps installed.*Success rate.*Average time/);
    expect(rows[1]).toHaveTextContent(/2026-11-24.*40.*38.*2.*0.*150.*95\.0%.*1:35 min/);
    expect(within(rows[1]).getByText('95.0%')).toHaveClass('good');
    expect(within(rows[2]).getByText('50.0%')).toHaveClass('bad');
    expect(rows[3]).toHaveTextContent(/Total.*50.*43.*7.*1.*170.*86\.0%/);
  });

  it('per app has the package and label columns and no apps column', () => {
    render(SummaryTable, {
      summary: { group: 'app', rows: [{ key: 'com.tencent.mm', label: '微信', total: 8, done: 7, failed: 1, other: 0, apps: 0, successRate: 7 / 8, avgMillis: 4100 }], total: { key: 'total', label: '', total: 8, done: 7, failed: 1, other: 0, apps: 0, successRate: 7 / 8, avgMillis: 4100 } },
    });
    const t = screen.getByRole('table', { name: 'Per app' });
    expect(within(t).getAllByRole('row')[0]).toHaveTextContent(/Package.*App.*Installs/);
    expect(within(t).getAllByRole('row')[0]).not.toHaveTextContent('Apps installed');
    expect(within(t).getAllByRole('row')[1]).toHaveTextContent(/com\.tencent\.mm.*微信.*8.*7.*1.*87\.5%.*4\.1 s/);
  });

  it('says so when the period is empty', () => {
    render(SummaryTable, { summary: { ...day, rows: [] } });
    expect(screen.getByText('Nothing in this period.')).toBeInTheDocument();
  });
});

describe('history filters', () => {
  it('local days, "to" inclusive, trimmed text', () => {
    const f = toFilter({ ...emptyForm(), from: '2026-11-01', to: '2026-11-02', serial: ' R58 ', package: 'com.tencent.mm' }, 3, 50);
    expect(new Date(f.from!).getDate()).toBe(1);
    expect(new Date(f.to!).getDate()).toBe(3);
    expect(f.serial).toBe('R58');
    expect(f).toMatchObject({ page: 3, pageSize: 50, package: 'com.tencent.mm', outcome: '' });
  });
});
