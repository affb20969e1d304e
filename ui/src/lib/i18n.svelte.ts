// The chosen language, reactive and remembered in localStorage. Vietnamese unless the user picked English.
import type { Lang } from './format.ts';
import { isLang, translate, type MessageKey } from './i18n.ts';

const STORAGE_KEY = 'ioc.lang';

function initialLang(): Lang {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (isLang(saved)) return saved;
  } catch {
    // storage may be disabled (kiosk profiles); fall back to Vietnamese
  }
  return 'vi';
}

export class I18n {
  lang = $state<Lang>(initialLang());

  /** Arrow so it can be passed around (`{t('key')}`) and still read `lang` reactively. */
  t = (key: MessageKey, params?: Record<string, string | number>): string => translate(this.lang, key, params);

  set(lang: Lang): void {
    this.lang = lang;
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, lang);
    } catch {
      // not fatal: the choice just won't survive a reload
    }
    if (typeof document !== 'undefined') document.documentElement.lang = lang;
  }

  toggle(): void {
    this.set(this.lang === 'vi' ? 'en' : 'vi');
  }
}

export const i18n = new I18n();
if (typeof document !== 'undefined') document.documentElement.lang = i18n.lang;
