import { describe, it, expect } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import App from '../App.svelte';
import { backend } from './fakeBackend';

async function fillSetup(user: ReturnType<typeof userEvent.setup>, password: string, confirm = password) {
  await user.type(screen.getByLabelText('Station name'), 'Shop 12');
  await user.type(screen.getByLabelText('Administrator username'), 'Admin');
  await user.type(screen.getByLabelText('Password'), password);
  await user.type(screen.getByLabelText('Confirm password'), confirm);
  await user.click(screen.getByRole('button', { name: 'Create station' }));
}

describe('first-run setup', () => {
  it('shows setup when the station has none', async () => {
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: 'Set up this station' })).toBeInTheDocument();
    expect(screen.queryByRole('navigation')).not.toBeInTheDocument();
  });

  it('refuses mismatched passwords without calling the backend', async () => {
    const user = userEvent.setup();
    render(App);
    await screen.findByRole('heading', { name: 'Set up this station' });
    await fillSetup(user, 'password1', 'password2');
    expect(await screen.findByRole('alert')).toHaveTextContent('The passwords do not match.');
    expect(backend.calls).not.toContain('Setup');
  });

  it('shows the backend error translated', async () => {
    const user = userEvent.setup();
    render(App);
    await screen.findByRole('heading', { name: 'Set up this station' });
    await fillSetup(user, 'short');
    expect(await screen.findByRole('alert')).toHaveTextContent('Passwords need at least 8 characters.');
    expect(backend.station).toBeNull();
  });

  it('creates the station and admin, then opens the Hub', async () => {
    const user = userEvent.setup();
    render(App);
    await screen.findByRole('heading', { name: 'Set up this station' });
    await fillSetup(user, 'password1');
    expect(await screen.findByRole('heading', { level: 1, name: 'Hub' })).toBeInTheDocument();
    expect(backend.station?.name).toBe('Shop 12');
    expect(backend.users.map((u) => [u.username, u.role])).toEqual([['admin', 'admin']]);
    expect(screen.getByRole('navigation', { name: 'Main navigation' })).toBeInTheDocument();
    for (const name of ['Hub', 'Library', 'Lists', 'History', 'Reports', 'Settings']) {
      expect(screen.getByRole('link', { name })).toBeInTheDocument();
    }
  });
});

describe('login', () => {
  it('signs in, navigates, and signs out', async () => {
    backend.withStation('Shop 7');
    const user = userEvent.setup();
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByText('Sign in to Shop 7.')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Username'), 'admin');
    await user.type(screen.getByLabelText('Password'), 'wrong-pass');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong username or password.');

    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'password1');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Hub' })).toBeInTheDocument();
    expect(screen.getByText('admin (administrator)')).toBeInTheDocument();

    await user.click(screen.getByRole('link', { name: 'Settings' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Settings' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Settings' })).toHaveAttribute('aria-current', 'page');

    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeInTheDocument();
    expect(backend.current).toBeNull();
  });

  it('switches to Chinese and remembers it', async () => {
    backend.withStation();
    const user = userEvent.setup();
    render(App);
    await screen.findByRole('heading', { name: 'Sign in' });
    await user.selectOptions(screen.getByRole('combobox', { name: 'Language' }), 'zh-CN');
    expect(await screen.findByRole('heading', { level: 1, name: '登录' })).toBeInTheDocument();
    expect(screen.getByLabelText('用户名')).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(localStorage.getItem('preload.language')).toBe('zh-CN');
    expect(backend.language).toBe('zh-CN');

    await user.type(screen.getByLabelText('用户名'), 'admin');
    await user.type(screen.getByLabelText('密码'), 'nope-nope');
    await user.click(screen.getByRole('button', { name: '登录' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('用户名或密码错误。');
  });

  it('takes the language saved on the station', async () => {
    backend.withStation();
    backend.language = 'zh-CN';
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: '登录' })).toBeInTheDocument();
  });
});
