// The alarm sound: one embedded sound per severity (dashboard/web/sound,
// synthesised by scripts/gensound.go), repeating while any alarm waits
// unacknowledged; a minor alarm chimes once. Muting is visible and kept
// across reloads. A browser that refuses to play before a click gets a
// button saying so, never a silent wall.
import { L, el } from './common.js';

export class Alarm {
  constructor({ muteButton, unlockButton }) {
    this.sounds = {
      critical: document.getElementById('snd-critical'),
      major: document.getElementById('snd-major'),
      minor: document.getElementById('snd-minor'),
    };
    this.muted = localStorage.getItem('snowhub.muted') === '1';
    this.playing = null;          // severity of the looping sound
    this.chimed = new Set();      // minor incidents already chimed
    this.heard = new Set();
    this.mute = muteButton;
    this.unlock = unlockButton;
    this.mute.onclick = () => this.setMuted(!this.muted);
    this.unlock.textContent = L('enableSound');
    this.unlock.onclick = () => { this.unlock.hidden = true; this.blocked = false; this.apply(this.want); };
    this.want = null;
    this.renderMute();
    window.__soundAt = window.__soundAt || {};
  }

  setMuted(m) {
    this.muted = m;
    localStorage.setItem('snowhub.muted', m ? '1' : '0');
    this.renderMute();
    this.apply(this.want);
  }

  renderMute() {
    this.mute.textContent = this.muted ? `✕ ${L('muted')}` : `♪ ${L('soundOn')}`;
    this.mute.setAttribute('aria-pressed', this.muted ? 'true' : 'false');
    this.mute.title = this.muted ? L('unmute') : L('mute');
    this.mute.classList.toggle('muted', this.muted);
  }

  // update takes the incidents that wait unacknowledged.
  update(alarms) {
    let top = null;
    for (const i of alarms) {
      if (i.severity === 'critical') top = 'critical';
      else if (i.severity === 'major' && top !== 'critical') top = 'major';
      if (!this.heard.has(i.id)) { this.heard.add(i.id); this.fresh = i; }
      if (i.severity === 'minor' && !this.chimed.has(i.id)) {
        this.chimed.add(i.id);
        if (!top && !this.muted) this.play(this.sounds.minor, i);
      }
    }
    this.want = top;
    this.apply(top, alarms);
  }

  apply(sev, alarms = []) {
    const target = this.muted ? null : sev;
    if (target === this.playing && (!target || !this.sounds[target].paused)) return;
    for (const [k, a] of Object.entries(this.sounds)) if (k !== target && k !== 'minor') { a.pause(); a.currentTime = 0; }
    this.playing = target;
    if (target) this.play(this.sounds[target], alarms.find((i) => i.severity === target));
  }

  play(audio, inc) {
    audio.currentTime = 0;
    audio.play().then(() => {
      this.unlock.hidden = true;
      if (inc && !window.__soundAt[inc.id]) window.__soundAt[inc.id] = Date.now();
    }).catch((e) => {
      // Autoplay refused until someone clicks the page: say so loudly. (A
      // play cut short by the next one is no refusal.)
      if (e?.name !== 'NotAllowedError') return;
      this.blocked = true;
      this.playing = null;
      this.unlock.hidden = false;
    });
  }

  // state is what tests and the console read.
  state() {
    return Object.fromEntries(Object.entries(this.sounds).map(([k, a]) => [k, !a.paused]));
  }
}

// deskAlarm gives a desk (the township's, a department's) the wall's
// sounds, its visible mute and its unlock prompt, placed after the given
// element, and returns the Alarm that plays them.
export function deskAlarm(after) {
  for (const sev of ['critical', 'major', 'minor']) {
    if (document.getElementById('snd-' + sev)) continue;
    const a = document.createElement('audio');
    a.id = 'snd-' + sev;
    a.src = `/static/sound/${sev}.wav`;
    a.preload = 'auto';
    a.loop = sev !== 'minor';
    document.body.append(a);
  }
  const mute = el('button', 'mute');
  mute.type = 'button';
  mute.id = 'mute';
  const unlock = el('button', 'unlock');
  unlock.type = 'button';
  unlock.id = 'sound-unlock';
  unlock.hidden = true;
  after.after(mute, unlock);
  return new Alarm({ muteButton: mute, unlockButton: unlock });
}
