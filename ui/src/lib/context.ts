// What every page and component of a login shares: the live feed, the reference data and the texts. The Shell
// sets them once; components read them with these typed getters instead of receiving them as props through
// every level. A getter throws when called outside the Shell, which is a programming error.
import { createContext } from 'svelte';
import type { IncidentWire } from '../../../config/wire.ts';
import type { LiveFeed } from './live.svelte.ts';
import type { Catalog } from './catalog.svelte.ts';
import type { I18n } from './i18n.svelte.ts';

export interface Texts {
  /** the chosen language and its messages (reactive) */
  readonly i18n: I18n;
  /** an incident in words: its cause with the names of what it concerns, in the chosen language */
  incident(inc: IncidentWire): string;
}

export interface AppContext {
  live: LiveFeed;
  catalog: Catalog;
  texts: Texts;
}

const [getLiveCtx, setLiveCtx] = createContext<LiveFeed>();
const [getCatalogCtx, setCatalogCtx] = createContext<Catalog>();
const [getTextsCtx, setTextsCtx] = createContext<Texts>();

/** Call during the Shell's initialisation. */
export function setAppContext(ctx: AppContext): void {
  setLiveCtx(ctx.live);
  setCatalogCtx(ctx.catalog);
  setTextsCtx(ctx.texts);
}

/** The live feed: commune states, counts, incidents, connection, server clock. */
export const getLive: () => LiveFeed = getLiveCtx;
/** Province, targets and carriers, with name lookups. */
export const getCatalog: () => Catalog = getCatalogCtx;
export const getTexts: () => Texts = getTextsCtx;
