// The incident detail drawer: what happened, where, who holds it and until
// when, its cameras, and its full history. Pages add their own actions.
import { Player } from './player.js';
import { el, L, clock, deadlineText, historyLine, causeText, dur, goDur, stepName, stateSince } from './common.js';

export class Drawer {
  constructor(root, { villages, cameras, sensors = () => new Map(), show, actions, liveView = false }) {
    Object.assign(this, { root, villages, cameras, sensors, show, actions, liveView });
    this.inc = null;
  }

  isOpen() { return !this.root.hidden; }

  open(inc) {
    this.inc = inc;
    this.render();
    this.root.hidden = false;
    this.root.querySelector('.close')?.focus();
  }

  close() {
    this.root.hidden = true;
    this.inc = null;
    this.player?.stop();
    this.player = null;
  }

  refresh(inc) {
    if (this.inc && this.inc.id === inc.id) { this.inc = inc; this.render(); }
  }

  render() {
    const i = this.inc;
    if (!i) return;
    const v = this.villages().get(i.village);
    const head = el('div', 'drawer-head');
    const h = el('h2', '', i.title);
    h.id = 'drawer-title';
    const x = el('button', 'close', '×');
    x.type = 'button';
    x.setAttribute('aria-label', L('close'));
    x.onclick = () => this.close();
    head.append(el('span', `sev sev-${i.severity}`, L(i.severity)), h, x);
    const dl = el('dl', 'facts');
    const row = (k, val) => { if (val) dl.append(el('dt', '', k), el('dd', '', val)); };
    row(L('state'), L(i.state) + (i.overdue ? ` · ${L('overdue')}` : ''));
    row(L('village'), v ? `${v.townshipName} ${v.name}` : i.village);
    row(L('device'), this.deviceText(i));
    row(L('deadline'), i.deadline ? deadlineText(waitingStep(i), i.deadline) : '');
    row(L('owner'), i.owner === 'county' ? L('countyLevel') : i.owner === 'technicians' ? L('technicians') : (this.townshipName(i.owner) || i.owner));
    if (i.assignee) row(L('assign'), `${i.assignee.name}（${clock(i.assignee.at)}）`);
    const src = { sensor: '设备报警', wall: '视频墙发现', grid: '网格员上报', hotline_12345: '12345 热线', petition: '信访转办', department: '部门转办', other: '其他' };
    if (i.source) row('来源', (src[i.source] || i.source) + (i.ref ? ` · ${i.ref}` : ''));
    if (i.count > 1) row('报警次数', String(i.count));
    if (i.late_steps?.length) row('超时环节', i.late_steps.map((s) => `${stepName(s.step)} ${s.late_s ? dur(s.late_s) : goDur(s.late_by)}`).join('；'));
    if (i.ratings?.length) row('评价', i.ratings.map((r) => `${L(r.rating)}（${clock(r.at)}）`).join('；'));
    if (i.score !== undefined && i.score !== null) row('考单得分', String(i.score));
    // Live view of the incident's first camera, in the drawer itself.
    const liveId = [...(i.cameras || []), ...(this.cameras().has(i.device) ? [i.device] : []), ...(v?.key_cameras || []), ...(v?.cameras || [])].find((id) => this.cameras().has(id));
    let live = null;
    if (this.liveView && liveId) {
      if (this.player?.id !== liveId) {
        this.player?.stop();
        this.video = el('video', 'live');
        this.video.muted = true; this.video.autoplay = true; this.video.playsInline = true;
        this.video.setAttribute('aria-label', `${this.cameras().get(liveId)?.name || liveId} 实时画面`);
        this.player = new Player(this.video, liveId);
        this.player.start();
      }
      live = el('figure', 'livebox');
      live.append(this.video, el('figcaption', 'status', `${this.cameras().get(liveId)?.name || liveId} · 实时画面`));
    }
    const cams = el('div', 'cams');
    const ids = [...new Set([...(i.cameras || []), ...(this.cameras().has(i.device) ? [i.device] : []), ...(v?.cameras || [])])].filter((id) => this.cameras().has(id));
    for (const id of ids.slice(0, 12)) {
      const b = el('button', '', `▶ ${this.cameras().get(id)?.name || id}`);
      b.type = 'button';
      b.onclick = () => this.show([id]);
      cams.append(b);
    }
    const acts = el('div', 'actions');
    if (this.actions) acts.append(...this.actions(i));
    const hist = el('ol', 'hist');
    for (const s of i.history || []) hist.append(el('li', '', historyLine(s)));
    this.root.replaceChildren(...[head, acts, dl, live, el('h3', '', L('showCamera')), cams, el('h3', '', L('history')), hist].filter(Boolean));
  }

  // deviceText names the incident's device as a person knows it: its name
  // and kind, its village, its last reading and when (the id only in brackets).
  deviceText(i) {
    if (!i.device) return '';
    const cam = this.cameras().get(i.device), sen = this.sensors().get(i.device);
    const dev = cam || sen;
    if (!dev) return i.device;
    const kind = cam ? 'camera' : sen.kind;
    const kindText = L('kind_' + kind) !== 'kind_' + kind ? L('kind_' + kind) : kind;
    const dv = this.villages().get(dev.village);
    const parts = [`${dev.name || i.device}（${kindText}，${i.device}）`];
    if (dv) parts.push(dv.name);
    if (sen && sen.last_value !== null && sen.last_value !== undefined) {
      const at = sen.last_seen || sen.since;
      parts.push(`${L('lastReading')} ${sen.last_value}${at ? '（' + clock(at) + '）' : ''}`);
    }
    if (sen && sen.battery !== null && sen.battery !== undefined) parts.push(`${L('battery')} ${sen.battery}%`);
    if (dev.state) parts.push(L(dev.state) + (stateSince(dev) ? ' ' + clock(stateSince(dev)) : ''));
    if (dev.cause && dev.state !== 'online') parts.push(causeText(dev.cause));
    return parts.join(' · ');
  }

  townshipName(id) {
    for (const v of this.villages().values()) if (v.township === id) return v.townshipName;
    return '';
  }
}

// waitingStep is the step an incident waits for: the due whose time is its
// deadline when the hub lists them, else the step that follows its state.
export function waitingStep(i) {
  const d = (i.dues || []).find((x) => new Date(x.due).getTime() === new Date(i.deadline).getTime()) || i.dues?.[0];
  if (d) return d.step;
  return { opened: 'dispatch', dispatched: 'accept', accepted: 'resolve', resolved: 'evaluate', evaluated: 'review', held: 'hold' }[i.state] || i.state;
}
