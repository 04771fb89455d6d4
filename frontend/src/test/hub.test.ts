import { describe, it, expect } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import PhoneCard from '$lib/components/hub/PhoneCard.svelte';
import { toCard, stateOf, slotOrder, type CardInput } from '$lib/components/hub/card';
import type { Phone, PhoneStatus, Progress } from '$lib/api';
import { setLanguage } from '$lib/i18n';

function phone(over: Partial<Phone> = {}): Phone {
  return {
    serial: 'R58N12',
    state: 'ready',
    adbState: 'device',
    tcp: false,
    slot: { id: 3, path: 'usb:1-4.3', label: 'A7', hub: 'usb:1-4', position: 3 },
    facts: { brand: 'Xiaomi', manufacturer: 'Xiaomi', model: 'Redmi Note 12', device: 'tapas', release: '13', sdk: 33, abis: ['arm64-v8a'], freeData: 1e10, battery: 87, packageCount: 120 },
    attachedAt: '2026-11-24T10:00:00Z',
    ...over,
  };
}
function status(over: Partial<PhoneStatus> = {}): PhoneStatus {
  return { serial: 'R58N12', state: 'running', transport: 'agent', sessionUuid: 's1', planned: 5, installed: 2, skipped: 1, failed: 0, bytes: 0, startedAt: '', endedAt: '', ...over };
}
const progress: Progress = { serial: 'R58N12', sessionUuid: 's1', package: 'com.tencent.mm', label: '微信', index: 2, total: 5, stage: 'transfer', sent: 50, size: 200, bytesPerSec: 1e6 };

describe('card states', () => {
  const cases: [string, CardInput, string][] = [
    ['unauthorized → waiting', { phone: phone({ state: 'unauthorized', reason: 'allow_usb_debugging' }) }, 'waiting'],
    ['authorizing → waiting', { phone: phone({ state: 'authorizing' }) }, 'waiting'],
    ['probing → preparing', { phone: phone({ state: 'probing' }) }, 'preparing'],
    ['offline → preparing', { phone: phone({ state: 'offline' }) }, 'preparing'],
    ['ready, no session → ready', { phone: phone() }, 'ready'],
    ['running session → installing', { phone: phone({ state: 'busy' }), status: status() }, 'installing'],
    ['done', { phone: phone(), status: status({ state: 'done' }) }, 'done'],
    ['failed', { phone: phone(), status: status({ state: 'failed' }) }, 'failed'],
    ['cancelled → stopped', { phone: phone(), status: status({ state: 'cancelled' }) }, 'stopped'],
    ['gone outranks done', { phone: phone({ state: 'gone' }), status: status({ state: 'done' }) }, 'unplugged'],
    ['unauthorized outranks a stale session', { phone: phone({ state: 'unauthorized' }), status: status({ state: 'done' }) }, 'waiting'],
  ];
  it.each(cases)('%s', (_n, input, want) => {
    expect(stateOf(input)).toBe(want);
  });

  it('installing k/n and both progress bars from the progress event', () => {
    const c = toCard({ phone: phone({ state: 'busy' }), status: status(), progress });
    expect(c.k).toBe(3);
    expect(c.n).toBe(5);
    expect(c.apkPct).toBe(25);
    expect(c.planPct).toBe(Math.round(((2 + 0.25 * 0.9) / 5) * 100));
    expect(c.apkLabel).toBe('微信');
  });

  it('ignores progress from an older session', () => {
    const c = toCard({ phone: phone(), status: status({ sessionUuid: 's2' }), progress });
    expect(c.apkPct).toBe(0);
  });

  it('orders slots naturally, unlabelled last', () => {
    const mk = (label: string, position: number) => toCard({ phone: phone({ serial: label + position, slot: { id: position, path: 'p' + position, label, hub: '', position } }) });
    const sorted = [mk('A10', 1), mk('', 0), mk('A2', 5), mk('B1', 2)].sort(slotOrder).map((c) => c.slotLabel);
    expect(sorted).toEqual(['A2', 'A10', 'B1', '']);
  });
});

describe('PhoneCard', () => {
  it('shows slot, phone, Android, battery and "Installing k/n" with two progress bars', () => {
    render(PhoneCard, { card: toCard({ phone: phone({ state: 'busy' }), status: status(), progress }) });
    const card = screen.getByRole('button', { name: 'Details for slot A7' });
    expect(card).toHaveAttribute('data-state', 'installing');
    expect(screen.getByText('A7')).toBeInTheDocument();
    expect(screen.getByText('Xiaomi Redmi Note 12')).toBeInTheDocument();
    expect(screen.getByText('Android 13')).toBeInTheDocument();
    expect(screen.getByText('87%')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Installing 3/5');
    const bars = screen.getAllByRole('progressbar');
    expect(bars.map((b) => b.getAttribute('aria-valuenow'))).toEqual(['25', String(Math.round(((2 + 0.25 * 0.9) / 5) * 100))]);
  });

  it('failed: the app, the code and the operator hint in the UI language', async () => {
    const failure = { label: '微信', package: 'com.tencent.mm', code: 'INSTALL_FAILED_USER_RESTRICTED', message: 'Install canceled by user', hint: { en: 'Turn on "Install via USB".', zh: '请开启“USB 安装”。' } };
    const { rerender } = render(PhoneCard, { card: toCard({ phone: phone(), status: status({ state: 'failed' }), failure }) });
    expect(screen.getByRole('status')).toHaveTextContent('Failed');
    expect(screen.getByText('INSTALL_FAILED_USER_RESTRICTED')).toBeInTheDocument();
    expect(screen.getByText('Turn on "Install via USB".')).toBeInTheDocument();
    setLanguage('zh-CN');
    await rerender({ card: toCard({ phone: phone(), status: status({ state: 'failed' }), failure }) });
    expect(await screen.findByText('请开启“USB 安装”。')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('失败');
  });

  it.each([
    ['waiting', phone({ state: 'unauthorized' }), undefined, 'Allow USB debugging', /Tap “Allow”/],
    ['unplugged', phone({ state: 'gone' }), undefined, 'Unplugged', /Replug to resume/],
    ['done', phone(), status({ state: 'done', installed: 4, failed: 0 }), 'Done', /4 apps installed/],
  ])('%s card', (_n, p, st, chip, body) => {
    render(PhoneCard, { card: toCard({ phone: p, status: st }) });
    expect(screen.getByRole('status')).toHaveTextContent(chip);
    expect(screen.getByText(body)).toBeInTheDocument();
    expect(screen.queryByRole('progressbar')).not.toBeInTheDocument();
  });

  it('opens the drawer on click', async () => {
    let opened = '';
    render(PhoneCard, { card: toCard({ phone: phone() }), onopen: (c: { serial: string }) => (opened = c.serial) });
    await userEvent.setup().click(screen.getByRole('button', { name: 'Details for slot A7' }));
    expect(opened).toBe('R58N12');
  });
});
