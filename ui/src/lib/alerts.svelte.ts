// New-incident banner and sound. The sound is generated with WebAudio (no audio file is fetched); it is on by
// default on a wall screen and off on a desk PC, each remembered separately. Browsers keep audio suspended until
// the user interacts with the page, so the first click or key press anywhere unlocks it; until then an opened
// incident shows a hint instead of failing silently. (Kiosk launchers can pass Chromium
// `--autoplay-policy=no-user-gesture-required` to skip that.)
import type { IncidentWire } from '../../../config/wire.ts';
import type { IncidentFeed } from './incidentFeed.svelte.ts';

export interface Banner {
  incident: IncidentWire;
  /** local time shown */
  at: number;
}

/** banners hide by themselves after this long (the feed still lists the incident) */
export const BANNER_MS = 30_000;
const MAX_BANNERS = 3;
/** a burst of openings (a carrier fault seen by several rules) beeps once */
const BEEP_GAP_MS = 2000;
const KEY = { wall: 'ioc.sound.wall', desk: 'ioc.sound.desk' } as const;

function loadPref(key: string, dflt: boolean): boolean {
  try {
    const v = globalThis.localStorage?.getItem(key);
    return v === null || v === undefined ? dflt : v === '1';
  } catch {
    return dflt;
  }
}
function savePref(key: string, on: boolean): void {
  try {
    globalThis.localStorage?.setItem(key, on ? '1' : '0');
  } catch {
    // kiosk profiles may forbid storage: the toggle then lasts for the session
  }
}

type Ctx = AudioContext;

export class Alerts {
  /** newest first */
  banners = $state.raw<Banner[]>([]);
  soundWall = $state(loadPref(KEY.wall, true));
  soundDesk = $state(loadPref(KEY.desk, false));
  /** the audio context is running (a user gesture happened, or the browser allows autoplay) */
  audioReady = $state(false);
  /** a sound was due while audio was still locked */
  needsGesture = $state(false);
  /** beeps actually played (shown as data-beeps for tests and diagnostics) */
  beeps = $state(0);

  #ctx: Ctx | null = null;
  #lastBeep = 0;
  #timers = new Map<string, ReturnType<typeof setTimeout>>();

  soundOn(wall: boolean): boolean {
    return wall ? this.soundWall : this.soundDesk;
  }

  toggleSound(wall: boolean): void {
    const on = !this.soundOn(wall);
    if (wall) this.soundWall = on;
    else this.soundDesk = on;
    savePref(wall ? KEY.wall : KEY.desk, on);
    if (on) void this.#unlock(); // the toggle click is itself a gesture
  }

  /** Listen to the feed and for the first gesture; returns the cleanup. */
  attach(feed: IncidentFeed, isWall: () => boolean): () => void {
    const off = feed.onEvent((event, inc) => {
      if (event === 'opened') this.#opened(inc, isWall());
      else if (event === 'resolved') this.dismiss(inc.id);
    });
    const gesture = () => void this.#unlock();
    const opts = { capture: true, passive: true } as const;
    window.addEventListener('pointerdown', gesture, opts);
    window.addEventListener('keydown', gesture, opts);
    return () => {
      off();
      window.removeEventListener('pointerdown', gesture, opts);
      window.removeEventListener('keydown', gesture, opts);
      for (const t of this.#timers.values()) clearTimeout(t);
      this.#timers.clear();
      void this.#ctx?.close();
      this.#ctx = null;
    };
  }

  dismiss(id: string): void {
    const t = this.#timers.get(id);
    if (t) clearTimeout(t);
    this.#timers.delete(id);
    if (this.banners.some((b) => b.incident.id === id)) this.banners = this.banners.filter((b) => b.incident.id !== id);
  }

  dismissAll(): void {
    for (const b of this.banners) this.dismiss(b.incident.id);
  }

  #opened(inc: IncidentWire, wall: boolean): void {
    // maintenance windows suppress notifications; the feed still shows them
    if (inc.maintenance) return;
    const now = Date.now();
    const kept = this.banners.filter((b) => b.incident.id !== inc.id);
    const next = [{ incident: inc, at: now }, ...kept];
    for (const b of next.slice(MAX_BANNERS)) this.dismiss(b.incident.id);
    this.banners = next.slice(0, MAX_BANNERS);
    const old = this.#timers.get(inc.id);
    if (old) clearTimeout(old);
    this.#timers.set(inc.id, setTimeout(() => this.dismiss(inc.id), BANNER_MS));
    if (this.soundOn(wall)) this.beep();
  }

  /** Two short tones (880 Hz then 660 Hz, ~0.4 s). Returns whether it could play. */
  beep(): boolean {
    const now = Date.now();
    if (now - this.#lastBeep < BEEP_GAP_MS) return true;
    const ctx = this.#context();
    if (!ctx || ctx.state !== 'running') {
      this.needsGesture = true;
      return false;
    }
    this.#lastBeep = now;
    const t0 = ctx.currentTime + 0.01;
    [880, 660].forEach((f, i) => {
      const start = t0 + i * 0.2;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = f;
      // short attack/decay envelope: no click at the start or end of the tone
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.19);
    });
    this.beeps++;
    return true;
  }

  #context(): Ctx | null {
    if (this.#ctx) return this.#ctx;
    const AC = (globalThis as { AudioContext?: typeof AudioContext }).AudioContext;
    if (!AC) return null;
    try {
      this.#ctx = new AC();
      this.audioReady = this.#ctx.state === 'running';
    } catch {
      return null;
    }
    return this.#ctx;
  }

  async #unlock(): Promise<void> {
    if (this.audioReady) return;
    const ctx = this.#context();
    if (!ctx) return;
    try {
      if (ctx.state !== 'running') await ctx.resume();
    } catch {
      return;
    }
    this.audioReady = ctx.state === 'running';
    if (this.audioReady) this.needsGesture = false;
  }
}
