// i18n through svelte-i18n: every string a user reads lives in en.json and
// zh-CN.json. The chosen language is kept in localStorage (instant at start)
// and in the station's settings (shared by the window and the browser).
import { addMessages, init, locale, getLocaleFromNavigator } from 'svelte-i18n';
import { get } from 'svelte/store';
import en from './en.json';
import zhCN from './zh-CN.json';
import pagesEn from './pages.en.json';
import pagesZhCN from './pages.zh-CN.json';

export const languages = ['en', 'zh-CN'] as const;
export type Language = (typeof languages)[number];

const storageKey = 'preload.language';

export function isLanguage(v: unknown): v is Language {
  return typeof v === 'string' && (languages as readonly string[]).includes(v);
}

/** normalise maps a browser locale ("zh", "zh-Hans-CN", "en-US") to one we ship. */
export function normalise(tag: string | null | undefined): Language {
  if (!tag) return 'en';
  return tag.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

function stored(): Language | null {
  try {
    const v = localStorage.getItem(storageKey);
    return isLanguage(v) ? v : null;
  } catch {
    return null;
  }
}

let started = false;

/** setupI18n registers the messages and picks the first language. Idempotent. */
export function setupI18n(initial?: Language): void {
  if (!started) {
    addMessages('en', en);
    addMessages('zh-CN', zhCN);
    // The station pages' strings (hub, library, lists, history, reports, settings) live in their own files.
    addMessages('en', pagesEn);
    addMessages('zh-CN', pagesZhCN);
    started = true;
  }
  const lang = initial ?? stored() ?? normalise(getLocaleFromNavigator());
  init({ fallbackLocale: 'en', initialLocale: lang });
  applyDocumentLang(lang);
}

/** setLanguage switches the UI now and remembers it locally. */
export function setLanguage(lang: Language): void {
  locale.set(lang);
  applyDocumentLang(lang);
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    /* private mode: the station setting still keeps it */
  }
}

export function currentLanguage(): Language {
  const l = get(locale);
  return isLanguage(l) ? l : normalise(l);
}

function applyDocumentLang(lang: Language) {
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
}
