// Display preferences. Wall mode comes from `?wall=1` or the header toggle, and is kept in the URL so a
// wall screen's bookmark or kiosk launcher reopens it the same way.
function wallFromUrl(): boolean {
  if (typeof location === 'undefined') return false;
  const v = new URLSearchParams(location.search).get('wall');
  return v === '1' || v === 'true';
}

export class Prefs {
  wall = $state(wallFromUrl());

  setWall(on: boolean): void {
    this.wall = on;
    if (typeof location === 'undefined' || typeof history === 'undefined') return;
    const url = new URL(location.href);
    if (on) url.searchParams.set('wall', '1');
    else url.searchParams.delete('wall');
    history.replaceState(history.state, '', url);
  }
}

export const prefs = new Prefs();
