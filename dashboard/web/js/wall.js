import { api, connect, el, L, ago, countdown, header, token, askToken } from './common.js';
import { Player } from './player.js';

const cameras = new Map();   // id → status
const incidents = new Map(); // id → incident
let topo = { townships: [] };
let order = [];              // camera ids in tile order
let layout = Number(new URL(location.href).searchParams.get('layout') || localStorage.getItem('snowhub.layout') || 3);
const tiles = new Map();     // id → {el, player}
let highlighted = null, highlightUntil = 0;
let updated = null;

function villageName(id) {
  for (const t of topo.townships) for (const v of t.villages) if (v.id === id) return v.name;
  return id || '';
}

function camerasOfIncident(inc) {
  if (inc.cameras?.length) return inc.cameras;
  if (cameras.has(inc.device)) return [inc.device];
  for (const t of topo.townships) for (const v of t.villages) if (v.id === inc.village) return v.cameras;
  return [];
}

function bringToFront(ids) {
  const first = ids.find((id) => cameras.has(id));
  if (!first) return;
  order = [first, ...order.filter((x) => x !== first)];
  highlighted = first;
  highlightUntil = Date.now() + 30000;
  renderTiles();
  tiles.get(first)?.el.focus();
}

function tile(id) {
  let t = tiles.get(id);
  if (t) return t;
  const e = el('div', 'tile');
  e.tabIndex = 0;
  const video = el('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  const cap = el('div', 'cap');
  const down = el('div', 'down');
  e.append(video, down, cap);
  e.ondblclick = () => setLayout(layout === 1 ? 3 : 1, id);
  const note = el('div', 'note');
  e.append(note);
  // The browser cannot decode this camera's codec (H.265 in most): say so
  // rather than show a black tile that seems to load.
  video.addEventListener('unsupported', (ev) => {
    note.textContent = `此浏览器无法播放该摄像机的视频编码 (${ev.detail})，请改用子码流或支持 H.265 的浏览器 · This browser cannot play this codec`;
    e.classList.add('unsupported');
  });
  t = { el: e, video, cap, down, note, player: new Player(video, id) };
  tiles.set(id, t);
  return t;
}

function updateTile(id) {
  const c = cameras.get(id), t = tiles.get(id);
  if (!c || !t) return;
  t.el.className = `tile ${c.state}` + (id === highlighted && Date.now() < highlightUntil ? ' highlight' : '') +
    (t.note.textContent ? ' unsupported' : '');
  const badge = el('span', `badge ${c.state}`, L(c.state));
  const fps = el('span', 'status', c.state === 'online' || c.state === 'degraded' ? `${(c.fps || 0).toFixed(0)} fps` : '');
  t.cap.replaceChildren(el('span', 'name', c.name || id), fps, badge);
  t.down.textContent = c.state === 'offline' ? `${L('offlineSince')} ${new Date(c.since).toLocaleTimeString()}` : '';
}

const visible = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = [...tiles].find(([, t]) => t.el === e.target)?.[0];
    const t = tiles.get(id);
    if (!t) continue;
    if (e.isIntersecting && !document.hidden) t.player.start(); else t.player.stop();
  }
});

function renderTiles() {
  const grid = document.getElementById('grid');
  grid.className = `grid l${layout}`;
  const shown = order.slice(0, layout * layout);
  for (const [id, t] of tiles) {
    if (!shown.includes(id)) { t.player.stop(); visible.unobserve(t.el); t.el.remove(); tiles.delete(id); }
  }
  grid.replaceChildren(...shown.map((id) => {
    const t = tile(id);
    updateTile(id);
    visible.observe(t.el);
    return t.el;
  }));
}

function setLayout(n, focus) {
  layout = n;
  localStorage.setItem('snowhub.layout', String(n));
  document.getElementById('layout').value = String(n);
  if (focus) order = [focus, ...order.filter((x) => x !== focus)];
  renderTiles();
}

function renderIncidents() {
  const list = [...incidents.values()].filter((i) => i.state !== 'reviewed')
    .sort((a, b) => new Date(b.opened_at) - new Date(a.opened_at)).slice(0, 200);
  const box = document.getElementById('incidents');
  box.replaceChildren(...list.map((i) => {
    const d = el('div', `inc sev-${i.severity}`);
    const meta = el('div', 'm');
    const cd = countdown(i.deadline);
    meta.append(el('span', '', L(i.severity)), el('span', '', villageName(i.village)), el('span', '', L(i.state)),
      el('span', '', ago(i.opened_at)), el('span', i.overdue || cd === L('overdue') ? 'overdue' : '', i.overdue ? L('overdue') : cd));
    d.append(el('div', 't', i.title), meta);
    d.onclick = () => bringToFront(camerasOfIncident(i));
    return d;
  }));
  document.getElementById('inc-title').textContent = `${L('incidents')} (${list.length})`;
}

function renderStatus() {
  let on = 0, off = 0;
  for (const c of cameras.values()) { if (c.state === 'online' || c.state === 'degraded') on++; else if (c.state === 'offline') off++; }
  const open = [...incidents.values()].filter((i) => i.state !== 'reviewed').length;
  document.getElementById('status').textContent =
    `${L('cameras')} ${L('online')} ${on} · ${L('offline')} ${off} · ${L('incidents')} ${open}` + (updated ? ` · ${L('updated')} ${updated.toLocaleTimeString()}` : '');
}

function onMessage(m) {
  updated = new Date();
  if (m.type === 'snapshot') {
    cameras.clear(); incidents.clear();
    for (const c of m.data.cameras) cameras.set(c.id, c);
    for (const i of m.data.incidents) incidents.set(i.id, i);
    const known = new Set(order);
    order = order.filter((id) => cameras.has(id)).concat([...cameras.keys()].filter((id) => !known.has(id)));
    renderTiles(); renderIncidents();
  } else if (m.type === 'camera') {
    const isNew = !cameras.has(m.data.id);
    cameras.set(m.data.id, { ...cameras.get(m.data.id), ...m.data });
    if (isNew) { order.push(m.data.id); renderTiles(); } else updateTile(m.data.id);
  } else if (m.type === 'incident') {
    const isNew = !incidents.has(m.data.id);
    incidents.set(m.data.id, m.data);
    if (isNew) bringToFront(camerasOfIncident(m.data));
    renderIncidents();
  }
  renderStatus();
}

async function main() {
  if (!token()) { askToken(); return; }
  header('wall');
  document.getElementById('title').textContent = L('wall');
  try {
    topo = await api('/api/v1/topology');
    document.title = `${topo.county.name} ${L('wall')} · snowhub`;
  } catch (e) { if (e.message === 'unauthorized') return; }
  document.getElementById('layout').value = String(layout);
  document.getElementById('layout').onchange = (e) => setLayout(Number(e.target.value));
  document.addEventListener('keydown', (e) => {
    if (e.target.tagName === 'INPUT') return;
    if (['1', '2', '3', '4'].includes(e.key)) setLayout(Number(e.key));
    if (e.key === 'Escape') setLayout(3);
    if (e.key === 'Enter' && document.activeElement?.classList.contains('tile')) {
      const id = [...tiles].find(([, t]) => t.el === document.activeElement)?.[0];
      if (id) setLayout(1, id);
    }
  });
  document.addEventListener('visibilitychange', () => {
    for (const t of tiles.values()) document.hidden ? t.player.stop() : t.player.start();
  });
  setInterval(() => { renderIncidents(); for (const id of tiles.keys()) updateTile(id); }, 1000);
  connect(onMessage);
}
main();
