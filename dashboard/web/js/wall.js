// The wall: live tiles in any of eight layouts, a camera tree to put any
// camera on any tile, paging and 轮巡 tours, named layouts kept on the
// server, and a ticker on which no alarm can be missed (ordered by overdue,
// severity, time; sound until acknowledged; the front tile kept for the
// most severe alarm).
import { api, connect, el, L, lang, ago, clock, deadlineText, isPast, causeText, sevRank, notice, inLang, hubDown, boot, stateSince } from './common.js';
import { Player } from './player.js';
import { Alarm } from './alarm.js';
import { Drawer, waitingStep } from './drawer.js';
import { Layouts, LAYOUTS, tileCount } from './layouts.js';
import { Tree } from './tree.js';
import { raiseDialog } from './raise.js';
import { actionsFor } from './actions.js';

const params = new URL(location.href).searchParams;
const wallMode = params.get('wall') === '1';
const cameras = new Map();   // id → status
const incidents = new Map(); // id → incident
const sensors = new Map();   // id → status (for the drawer's device line)
let topo = { townships: [] }, villages = new Map(), me = null;
let order = [];              // every camera id, in tile order
let layout = LAYOUTS[params.get('layout')] ? params.get('layout') : (localStorage.getItem('snowhub.layout') || '3');
let page = 0;
let tour = null;             // {name, cameras, every, timer}
let front = null;            // {incident, camera}: the alarm holding the front tile
let connected = false, updated = null;
let pending = null;          // the saved layout to apply once cameras are known
const tiles = [];            // slot → {el, video, cap, down, note, label, id, player}
let focusedSlot = 0;

const alarm = new Alarm({ muteButton: document.getElementById('mute'), unlockButton: document.getElementById('sound-unlock') });
const drawer = new Drawer(document.getElementById('drawer'), {
  villages: () => villages, cameras: () => cameras, sensors: () => sensors, show: (ids) => bringToFront(ids, null),
  // The wall's one step: 确认 (acknowledge) stops the sound; it is recorded
  // and does not replace the township's accept.
  actions: (i) => (isAlarm(i) && mayAck(i) ? [ackButton(i)] : []),
});

// mayAck: the hub offers this user 确认 on the incident.
const mayAck = (i) => actionsFor(i).includes('acknowledge');

function ackButton(i) {
  const b = el('button', 'primary ack', '确认');
  b.type = 'button';
  b.dataset.action = 'acknowledge';
  b.title = '确认已看到此告警（停止报警声，不代替接单）';
  b.dataset.id = i.id;
  b.onclick = (ev) => { ev.stopPropagation(); acknowledge(i, b); };
  return b;
}

async function acknowledge(i, b) {
  b.disabled = true;
  try {
    const u = await api(`/api/v1/incidents/${encodeURIComponent(i.id)}/acknowledge`, { method: 'POST', body: '{}' });
    incidents.set(u.id, u);
    refreshAlarm();
    renderIncidents();
    for (const t of tiles) updateTile(t);
    drawer.refresh(u);
  } catch (e) { notice(e.message, true); b.disabled = false; }
}
const layouts = new Layouts({ apply: applySaved, current: currentLayout });
let tree = null;

const canRaise = () => !!me && me.role !== 'technician' && me.role !== 'department';
const key = (id) => villages.get(cameras.get(id)?.village)?.key_cameras?.includes(id);

// An incident still needing a person's eye: opened or dispatched, not yet
// acknowledged. It sounds, and it may hold the front tile.
export function isAlarm(i) {
  return (i.state === 'opened' || i.state === 'dispatched') && !acknowledged(i);
}
function acknowledged(i) { return !!i.acknowledged_at || (i.history || []).some((s) => s.action === 'acknowledge'); }

function overdue(i) { return !!i.overdue || (i.state !== 'reviewed' && i.state !== 'held' && isPast(i.deadline)); }

// What the wall is for: alarms, raised by a device's rule or at the wall
// itself (a 12345 ticket or a grid report is a routine matter).
const alarmSource = (i) => !i.source || i.source === 'sensor' || i.source === 'wall';
const unaccepted = (i) => i.state === 'opened' || i.state === 'dispatched';

// Paperwork belongs on the workbenches, not the wall: a matter waiting for
// the people's rating (待评单), for its review (待考单) or for a department
// to report in (报到). The wall counts them, with a link.
export function paperwork(i) {
  return i.state === 'resolved' || i.state === 'evaluated' || (i.state !== 'held' && waitingStep(i) === 'report');
}

// The ticker's sections: alarms not yet accepted on top, then late steps,
// then the rest; within them by severity, then the newest (late steps: the
// latest first). A new alarm is never below a column of overdue paperwork.
function section(i) { return alarmSource(i) && unaccepted(i) ? 0 : overdue(i) ? 1 : 2; }
const lateness = (i) => (i.deadline ? Date.now() - new Date(i.deadline).getTime() : 0);
export function tickerOrder(a, b) {
  const sa = section(a);
  return (sa - section(b)) || ((sevRank[b.severity] || 0) - (sevRank[a.severity] || 0)) ||
    (sa === 1 ? lateness(b) - lateness(a) : 0) || (new Date(b.opened_at) - new Date(a.opened_at));
}

function camerasOfIncident(inc) {
  const ids = [...(inc.cameras || [])];
  if (cameras.has(inc.device)) ids.push(inc.device);
  const v = villages.get(inc.village);
  if (v) ids.push(...(v.key_cameras || []), ...v.cameras);
  return ids.filter((id) => cameras.has(id));
}

function perPage() { return tileCount(layout); }
function pages() { return Math.max(1, Math.ceil(order.length / perPage())); }

// bringToFront puts a camera on the first tile of the first page; with an
// incident it holds that tile for the alarm.
function bringToFront(ids, inc) {
  const first = ids.find((id) => cameras.has(id));
  if (!first) return;
  stopTour();
  order = [first, ...order.filter((x) => x !== first)];
  page = 0;
  if (inc) front = { incident: inc.id, camera: first };
  renderTiles();
  tiles[0]?.el.focus({ preventScroll: true });
}

// A new alarm takes the front tile only if it is at least as severe as the
// alarm holding it now.
function offerFront(inc) {
  const held = front && incidents.get(front.incident);
  if (held && isAlarm(held) && (sevRank[inc.severity] || 0) < (sevRank[held.severity] || 0)) return false;
  bringToFront(camerasOfIncident(inc), inc);
  window.__frontAt = window.__frontAt || {};
  window.__frontAt[inc.id] = Date.now();
  return true;
}

function makeTile(slot) {
  const e = el('div', 'tile');
  e.tabIndex = 0;
  e.dataset.slot = String(slot);
  const video = el('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  video.setAttribute('aria-hidden', 'true');
  const label = el('div', 'alarm-label');
  const cap = el('div', 'cap');
  const down = el('div', 'down');
  const note = el('div', 'note');
  e.append(video, label, down, note, cap);
  const t = { el: e, video, cap, down, note, label, id: null, player: null };
  // The browser cannot decode this camera's codec (H.265 in most): say so
  // rather than show a black tile that seems to load.
  // On the main stream it offers the sub-stream, which is often H.264.
  video.addEventListener('unsupported', (ev) => {
    note.replaceChildren(`此浏览器无法播放该摄像机的视频编码（${ev.detail}），请改用子码流或支持 H.265 的浏览器 · This browser cannot play this codec`);
    if (t.player?.stream === 'main') {
      const b = el('button', 'sub', '改看子码流 · Watch the sub-stream');
      b.onclick = (click) => {
        click.stopPropagation();
        t.forceSub = true;
        note.textContent = '';
        e.classList.remove('unsupported');
        t.player.play('');
      };
      note.append(b);
    }
    e.classList.add('unsupported');
  });
  video.addEventListener('streamerror', (ev) => {
    note.replaceChildren(`无法播放 · ${inLang(ev.detail)}`);
    e.classList.add('unsupported');
  });
  video.addEventListener('streamok', () => {
    if (!note.querySelector('button')) { note.textContent = ''; e.classList.remove('unsupported'); }
  });
  e.onfocus = () => { focusedSlot = slot; };
  e.ondblclick = () => { if (t.id) enlarge(t.id); };
  e.addEventListener('dragover', (ev) => { ev.preventDefault(); e.classList.add('drop'); });
  e.addEventListener('dragleave', () => e.classList.remove('drop'));
  e.addEventListener('drop', (ev) => {
    ev.preventDefault();
    e.classList.remove('drop');
    const id = ev.dataTransfer.getData('text/x-camera');
    if (id) placeCamera(id, slot);
  });
  return t;
}

// placeCamera puts a camera on a tile of the current page (swapping with
// wherever it was).
function placeCamera(id, slot = focusedSlot) {
  if (!cameras.has(id)) return;
  stopTour();
  const pos = page * perPage() + slot;
  const from = order.indexOf(id);
  while (order.length <= pos) order.push(null);
  const prev = order[pos];
  order[pos] = id;
  if (from >= 0 && from !== pos) order[from] = prev;
  order = order.filter((x, i) => x !== null || i < pos);
  renderTiles();
  tiles[slot]?.el.focus({ preventScroll: true });
}

function setCamera(t, id) {
  if (t.id === id) return;
  t.player?.stop();
  visible.unobserve(t.el);
  t.id = id;
  t.note.textContent = '';
  t.forceSub = false;
  t.el.classList.remove('unsupported');
  t.player = id ? new Player(t.video, id) : null;
  if (id) visible.observe(t.el);
  else t.video.removeAttribute('src');
}

function updateTile(t) {
  const id = t.id, c = id && cameras.get(id);
  // A camera of an unreachable hub: its state is not known now, and the
  // badge says why (not "offline": the camera may well be fine).
  const away = connected && c && hubDown(c.township);
  const state = !connected || away ? 'unknown' : (c?.state || 'unknown');
  const inc = front && front.camera === id ? incidents.get(front.incident) : null;
  const alarmed = inc && isAlarm(inc);
  t.el.className = `tile ${id ? state : 'empty'}` + (alarmed ? ` alarm sev-${inc.severity}` : '') + (t.note.textContent ? ' unsupported' : '') + (!connected ? ' stale' : '');
  const labelText = alarmed ? `${L(inc.severity)} · ${inc.title}` : '';
  // Keyed by the incident, not by its text: two alarms of the same title
  // (two villages' 河道有人电鱼) must not share one 确认 button.
  const labelKey = alarmed ? `${inc.id}|${labelText}|${canRaise()}` : '';
  if (t.label.dataset.key !== labelKey) {
    t.label.dataset.key = labelKey;
    t.label.dataset.incident = alarmed ? inc.id : '';
    t.label.replaceChildren(el('span', 'lt', labelText));
    if (alarmed && mayAck(inc)) t.label.append(ackButton(inc));
  }
  t.el.dataset.camera = id || '';
  if (!id) {
    t.capStamp = '';
    t.cap.replaceChildren(el('span', 'name', L('emptyTile')));
    t.el.setAttribute('aria-label', L('emptyTile'));
    t.down.textContent = '';
    return;
  }
  // Rebuilt only when it changed (a focused 制单 button keeps its focus).
  const capStamp = [id, c?.name, state, key(id), canRaise(), away ? away.since : ''].join('|');
  const fpsText = connected && (state === 'online' || state === 'degraded') ? `${(c.fps || 0).toFixed(0)} ${L('fps')}` : '';
  if (t.capStamp === capStamp) {
    if (t.fps && t.fps.textContent !== fpsText) t.fps.textContent = fpsText;
    t.down.textContent = connected && state === 'offline' ? `${L('offlineSince')} ${clock(stateSince(c))}${c.cause ? ' · ' + causeText(c.cause) : ''}` : '';
    return;
  }
  t.capStamp = capStamp;
  const name = el('span', 'name', c?.name || id);
  const k = key(id) ? el('span', 'key', '★') : null;
  if (k) k.title = L('keyCrossing');
  const fps = el('span', 'fps', fpsText);
  t.fps = fps;
  // On a small tile the badge is a dot and its word is for screen readers.
  const badge = el('span', `badge ${state}`);
  badge.append(el('span', 'bt', away ? L('hubDown') : L(state)));
  let raise = null;
  if (canRaise()) {
    // 制单 from what the operator sees on this tile.
    raise = el('button', 'mini raise', '制单');
    raise.type = 'button';
    raise.title = `${c?.name || id} 制单`;
    raise.dataset.raise = id;
    raise.onclick = (ev) => {
      ev.stopPropagation();
      raiseDialog({ topo, village: c?.village, cameras: [id], cameraNames: { [id]: c?.name || id }, source: 'wall', noteLimit: topo.note_limit,
        onDone: (inc) => { incidents.set(inc.id, inc); renderIncidents(); } });
    };
  }
  t.cap.replaceChildren(...[k, name, fps, badge, raise].filter(Boolean));
  t.el.setAttribute('aria-label', `${c?.name || id} ${away ? L('hubDown') : L(state)}`);
  t.down.textContent = connected && state === 'offline'
    ? `${L('offlineSince')} ${clock(stateSince(c))}${c.cause ? ' · ' + causeText(c.cause) : ''}` : '';
}

const visible = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const t = tiles.find((x) => x.el === e.target);
    if (!t?.player) continue;
    if (e.isIntersecting && !document.hidden) t.player.start(); else t.player.stop();
  }
});

function renderTiles() {
  const grid = document.getElementById('grid');
  const n = perPage();
  grid.className = `grid ${LAYOUTS[layout].cls}`;
  page = Math.min(page, pages() - 1);
  while (tiles.length < n) tiles.push(makeTile(tiles.length));
  for (let i = n; i < tiles.length; i++) setCamera(tiles[i], null);
  const shown = tiles.slice(0, n);
  // A single (enlarged) tile plays the main stream; grid tiles the
  // sub-stream, where the camera has one (the hub falls back to the main).
  shown.forEach((t, i) => { setCamera(t, order[page * n + i] || null); t.player?.setStream(n === 1 && !t.forceSub ? 'main' : ''); updateTile(t); });
  if (grid.children.length !== n || shown.some((t, i) => grid.children[i] !== t.el)) grid.replaceChildren(...shown.map((t) => t.el));
  renderToolbar();
}

function enlarge(id) {
  const prev = layout;
  setLayout('1');
  placeCamera(id, 0);
  enlarge.prev = prev;
}

function setLayout(name) {
  if (!LAYOUTS[name]) return;
  const firstShown = order[page * perPage()];
  layout = name;
  localStorage.setItem('snowhub.layout', name);
  page = firstShown ? Math.floor(order.indexOf(firstShown) / perPage()) : 0;
  renderTiles();
}

function setPage(p) {
  page = ((p % pages()) + pages()) % pages();
  renderTiles();
}

function startTour(name, ids, every) {
  stopTour();
  ids = ids.filter((id) => cameras.has(id));
  if (!ids.length) return;
  tour = { name, cameras: ids, every: Math.max(5, every || 20) };
  order = [...ids, ...order.filter((x) => x && !ids.includes(x))];
  page = 0;
  tour.timer = setInterval(() => {
    const n = Math.ceil(tour.cameras.length / perPage());
    setPage(n > 1 ? (page + 1) % n : 0);
  }, tour.every * 1000);
  renderTiles();
}

function stopTour() {
  if (!tour) return;
  clearInterval(tour.timer);
  tour = null;
  renderToolbar();
}

function currentLayout() {
  const n = perPage();
  return { layout, cameras: order.slice(page * n, page * n + n).filter(Boolean), tour: tour ? { name: tour.name, cameras: tour.cameras, every: tour.every } : null };
}

function applySaved(s) {
  if (!s) return;
  if (LAYOUTS[s.layout]) { layout = s.layout; localStorage.setItem('snowhub.layout', layout); }
  const ids = (s.cameras || []).filter((id) => cameras.has(id));
  order = [...ids, ...order.filter((x) => x && !ids.includes(x))];
  page = 0;
  if (s.tour?.cameras?.length) startTour(s.tour.name, s.tour.cameras, s.tour.every);
  else { stopTour(); renderTiles(); }
}

function renderToolbar() {
  const bar = document.getElementById('toolbar');
  if (!bar || wallMode) return;
  if (!bar.firstChild) {
    const sel = el('select');
    sel.id = 'layout';
    sel.setAttribute('aria-label', L('layoutLabel'));
    for (const [k, v] of Object.entries(LAYOUTS)) sel.append(new Option(v.label, k));
    sel.onchange = () => setLayout(sel.value);
    const prev = el('button', '', '‹');
    prev.id = 'page-prev'; prev.setAttribute('aria-label', L('prevPage'));
    prev.onclick = () => { stopTour(); setPage(page - 1); };
    const pg = el('span', 'pageno');
    pg.id = 'page-no';
    const next = el('button', '', '›');
    next.id = 'page-next'; next.setAttribute('aria-label', L('nextPage'));
    next.onclick = () => { stopTour(); setPage(page + 1); };
    const tb = el('button', '', L('tour'));
    tb.id = 'tour';
    tb.onclick = () => tour ? stopTour() : startTour(L('all'), [...order.filter(Boolean)], Number(document.getElementById('tour-every').value));
    const every = el('input');
    every.id = 'tour-every'; every.type = 'number'; every.min = '5'; every.value = '20';
    every.setAttribute('aria-label', L('tourEvery'));
    bar.append(sel, prev, pg, next, tb, every, layouts.controls());
  }
  document.getElementById('layout').value = layout;
  document.getElementById('page-no').textContent = `${page + 1} / ${pages()} ${L('page')}`;
  const tb = document.getElementById('tour');
  tb.textContent = tour ? `${L('tourStop')}（${tour.name}）` : L('tour');
  tb.classList.toggle('primary', !!tour);
  tb.setAttribute('aria-pressed', tour ? 'true' : 'false');
}

// The ticker is rebuilt only when what it lists changed; each second only
// its clocks move, so a keyboard user's focus stays where it is.
let tickerStamp = '';
function renderIncidents() {
  const open = [...incidents.values()].filter((i) => i.state !== 'reviewed');
  const list = open.filter((i) => !paperwork(i)).sort(tickerOrder).slice(0, 200);
  renderPaperwork(open.filter(paperwork));
  const box = document.getElementById('incidents');
  const stamp = list.map((i) => [i.id, i.state, i.severity, i.title, overdue(i), isAlarm(i), i.deadline, section(i)].join('|')).join('\n') + lang();
  if (stamp === tickerStamp) {
    for (const d of box.querySelectorAll('.inc')) {
      const i = incidents.get(d.dataset.id);
      if (!i) continue;
      d.querySelector('.age').textContent = ago(i.opened_at);
      d.querySelector('.dl').textContent = i.deadline ? deadlineText(waitingStep(i), i.deadline) : '';
    }
    return;
  }
  tickerStamp = stamp;
  if (!list.length) {
    box.replaceChildren(el('p', 'empty', L('noIncidents')));
  } else {
    box.replaceChildren(...list.map((i) => {
      const d = el('button', `inc sev-${i.severity}` + (isAlarm(i) ? ' alarming' : '') + (overdue(i) ? ' late' : ''));
      d.type = 'button';
      d.dataset.id = i.id;
      const top = el('div', 'top');
      top.append(el('span', `sev sev-${i.severity}`, L(i.severity)), el('span', 't', i.title));
      const meta = el('div', 'm');
      const v = villages.get(i.village);
      meta.append(el('span', '', v ? `${v.townshipName} ${v.name}` : (i.village || '')), el('span', '', L(i.state)),
        el('span', 'age', ago(i.opened_at)));
      const dl = el('div', overdue(i) ? 'dl overdue' : 'dl', i.deadline ? deadlineText(waitingStep(i), i.deadline) : '');
      d.append(top, meta, dl);
      d.onclick = () => { const x = incidents.get(i.id) || i; bringToFront(camerasOfIncident(x), isAlarm(x) ? x : null); drawer.open(x); };
      return d;
    }));
  }
  document.getElementById('inc-title').textContent = `${L('incidents')}（${list.length}）`;
}

// renderPaperwork is the one line the wall gives the workbenches' matters:
// how many wait for 评单, 考单 and 报到, and a link to where they are done.
let paperStamp = '';
function renderPaperwork(list) {
  const box = document.getElementById('paperwork');
  if (!box) return;
  const n = (f) => list.filter(f).length;
  const parts = [[L('resolved'), n((i) => i.state === 'resolved')], [L('evaluated'), n((i) => i.state === 'evaluated')],
    [L('waitReport'), n((i) => i.state !== 'resolved' && i.state !== 'evaluated')]].filter(([, c]) => c > 0);
  const stamp = parts.join(';') + lang() + (me?.role || '');
  if (stamp === paperStamp) return;
  paperStamp = stamp;
  box.hidden = !parts.length;
  if (!parts.length) { box.replaceChildren(); return; }
  const a = el('a', '', `${parts.map(([k, c]) => `${k} ${c}`).join(' · ')} → ${L('workbench')}`);
  a.href = me?.role === 'operator' || me?.role === 'admin' ? '/county' : (me?.township ? '/township/' + encodeURIComponent(me.township) : '/county');
  box.replaceChildren(a);
}

function renderStatus() {
  const box = document.getElementById('status');
  if (!connected) { box.textContent = L('unknownState'); box.classList.add('stale'); return; }
  box.classList.remove('stale');
  let on = 0, off = 0, away = 0;
  for (const c of cameras.values()) {
    if (hubDown(c.township)) away++;
    else if (c.state === 'online' || c.state === 'degraded') on++;
    else if (c.state === 'offline') off++;
  }
  const open = [...incidents.values()].filter((i) => i.state !== 'reviewed').length;
  box.textContent = `${L('cameras')} ${L('online')} ${on} · ${L('offline')} ${off}` + (away ? ` · ${L('hubDown')} ${away}` : '') +
    ` · ${L('incidents')} ${open}` + (updated ? ` · ${L('updated')} ${clock(updated, true)}` : '');
}

function refreshAlarm() {
  alarm.update([...incidents.values()].filter(isAlarm));
}

function onMessage(m) {
  updated = new Date();
  if (m.type === 'snapshot') {
    cameras.clear(); incidents.clear();
    for (const c of m.data.cameras) cameras.set(c.id, c);
    for (const i of m.data.incidents) incidents.set(i.id, i);
    sensors.clear();
    for (const x of m.data.sensors || []) sensors.set(x.id, x);
    const known = new Set(order);
    order = order.filter((id) => id && cameras.has(id)).concat(sortedCameras().filter((id) => !known.has(id)));
    if (pending) { applySaved(pending); pending = null; }
    renderTiles(); renderIncidents(); tree?.render();
    // The most severe alarm waiting holds the front tile.
    const top = [...incidents.values()].filter(isAlarm).sort(tickerOrder)[0];
    if (top && !front) offerFront(top);
    // A desk's "show camera" link: /?camera=ID brings it to the front.
    if (params.get('camera') && cameras.has(params.get('camera'))) { bringToFront([params.get('camera')], null); params.delete('camera'); }
  } else if (m.type === 'camera') {
    const isNew = !cameras.has(m.data.id);
    cameras.set(m.data.id, { ...cameras.get(m.data.id), ...m.data });
    if (isNew) { order.push(m.data.id); renderTiles(); } else { const t = tiles.find((x) => x.id === m.data.id); if (t) updateTile(t); }
    tree?.update(m.data.id);
  } else if (m.type === 'sensor') {
    sensors.set(m.data.id, { ...sensors.get(m.data.id), ...m.data });
    return; // nothing on the wall moves for a reading; the drawer reads it when drawn
  } else if (m.type === 'hub') {
    for (const t of tiles) updateTile(t); // its cameras' tiles say the hub is away, or are back
    tree?.render();
  } else if (m.type === 'incident') {
    const isNew = !incidents.has(m.data.id);
    incidents.set(m.data.id, m.data);
    if (isNew && isAlarm(m.data)) offerFront(m.data);
    else if (front?.incident === m.data.id) renderTiles();
    renderIncidents();
    drawer.refresh(m.data);
  }
  refreshAlarm();
  renderStatus();
}

// Key crossings first, then the configuration's order by township and village.
function sortedCameras() {
  const ids = [];
  for (const t of topo.townships) for (const v of t.villages) ids.push(...v.cameras);
  for (const id of cameras.keys()) if (!ids.includes(id)) ids.push(id);
  return ids.filter((id) => cameras.has(id)).sort((a, b) => (key(b) ? 1 : 0) - (key(a) ? 1 : 0));
}

function onState(up) {
  connected = up;
  for (const t of tiles) updateTile(t);
  tree?.render();
  renderStatus();
}

async function main() {
  if (wallMode) document.body.classList.add('wallmode');
  const b = await boot('wall', { keepGoing: true, status: false });
  if (!b) return;
  ({ me, topo, villages } = b);
  if (topo) {
    document.title = `${topo.county.name} ${L('wall')} · snowhub`;
    document.getElementById('title').textContent = `${topo.county.name} ${L('wall')}`;
  }
  tree = new Tree(document.getElementById('tree'), { topo, villages, cameras, connected: () => connected, place: (id) => placeCamera(id), tour: startTour });
  tree.render();
  renderToolbar();
  document.addEventListener('keydown', (e) => {
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName)) return;
    const byKey = { 1: '1', 2: '2', 3: '3', 4: '4', 5: '5', 6: '6', 7: '1+5', 8: '1+7' };
    if (byKey[e.key]) setLayout(byKey[e.key]);
    if (e.key === 'PageDown') setPage(page + 1);
    if (e.key === 'PageUp') setPage(page - 1);
    if (e.key === 'Escape') { if (drawer.isOpen()) drawer.close(); else if (enlarge.prev) { setLayout(enlarge.prev); enlarge.prev = null; } }
    if (e.key === 'Enter' && document.activeElement?.classList.contains('tile')) {
      const t = tiles[Number(document.activeElement.dataset.slot)];
      if (t?.id) enlarge(t.id);
    }
  });
  document.addEventListener('visibilitychange', () => {
    for (const t of tiles) if (t.player) document.hidden ? t.player.stop() : t.player.start();
  });
  setInterval(() => { renderIncidents(); for (const t of tiles) updateTile(t); renderStatus(); }, 1000);
  pending = await layouts.load();
  connect(onMessage, onState);
}
main();

// For tests and the console.
window.snowhubWall = { order: () => order, page: () => page, layout: () => layout, tour: () => tour, front: () => front, alarm, setLayout, placeCamera, startTour };
