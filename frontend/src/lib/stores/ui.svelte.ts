// Language and theme: applied at once, kept in localStorage for the next start,
// and saved in the station's settings so the window and `serve` agree.
import { settings } from '$lib/api';
import type { Theme } from '$lib/api';
import { setLanguage, currentLanguage, isLanguage, type Language } from '$lib/i18n';

const themeKey = 'preload.theme';

function storedTheme(): Theme {
  try {
    const t = localStorage.getItem(themeKey);
    if (t === 'light' || t === 'dark' || t === 'system') return t;
  } catch {
    /* ignore */
  }
  return 'system';
}

export class UIStore {
  language = $state<Language>('en');
  theme = $state<Theme>('system');

  /** init applies what this browser remembered, then what the station has saved. */
  async init(): Promise<void> {
    this.language = currentLanguage();
    this.theme = storedTheme();
    this.applyTheme();
    try {
      const saved = await settings.ui();
      if (isLanguage(saved.language) && saved.language !== this.language) {
        this.language = saved.language;
        setLanguage(saved.language);
      }
      if ((saved.theme === 'light' || saved.theme === 'dark') && saved.theme !== this.theme) {
        this.theme = saved.theme;
        this.applyTheme();
      }
    } catch {
      /* not fatal: the local choice stands */
    }
  }

  async setLanguage(lang: Language): Promise<void> {
    this.language = lang;
    setLanguage(lang);
    await settings.setLanguage(lang).catch(() => {});
  }

  async setTheme(theme: Theme): Promise<void> {
    this.theme = theme;
    this.applyTheme();
    try {
      localStorage.setItem(themeKey, theme);
    } catch {
      /* ignore */
    }
    await settings.setTheme(theme).catch(() => {});
  }

  private applyTheme() {
    if (typeof document === 'undefined') return;
    const root = document.documentElement;
    if (this.theme === 'system') root.removeAttribute('data-theme');
    else root.dataset.theme = this.theme;
  }
}

export const ui = new UIStore();
