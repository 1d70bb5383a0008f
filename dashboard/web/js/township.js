import { api, connect, el, L, ago, countdown, header, token, askToken, historyLine } from './common.js';

const township = decodeURIComponent(location.pathname.split('/')[2] || '');
const incidents = new Map(), cameras = new Map(), sensors = new Map();
let me = null, topo = null;
const errors = new Map(); // incident id → last action error

// What this desk may do in each state.
const actionsFor = {
  dispatched: ['accept', 'hold', 'escalate'],
  accepted: ['resolve', 'hold', 'escalate'],
  resolved: ['evaluate', 'reopen'],
  evaluated: ['reopen'],
  held: ['resume'],
  opened: [],
};

function villageName(id) {
  for (const t of topo?.townships || []) for (const v of t.villages) if (v.id === id) return v.name;
  return id;
}

async function act(inc, action) {
  const body = {};
  if (action === 'resolve') { body.note = prompt(L('note')) || ''; if (!body.note) return; }
  if (action === 'hold') { body.reason = prompt(L('reason')) || ''; if (!body.reason) return; }
  if (action === 'evaluate') {
    const r = prompt(`${L('satisfied')} / ${L('neutral')} / ${L('unsatisfied')}`, L('satisfied'));
    body.rating = { [L('satisfied')]: 'satisfied', [L('neutral')]: 'neutral', [L('unsatisfied')]: 'unsatisfied' }[r] || r;
  }
  try {
    const updated = await api(`/api/v1/incidents/${encodeURIComponent(inc.id)}/${action}`, { method: 'POST', body: JSON.stringify(body) });
    incidents.set(updated.id, updated);
    errors.delete(inc.id);
  } catch (e) { errors.set(inc.id, e.message); }
  render();
}

function card(inc, readOnly) {
  const c = el('div', `card sev-${inc.severity}`);
  c.dataset.id = inc.id;
  const cd = countdown(inc.deadline);
  const meta = el('div', 'status');
  meta.textContent = `${inc.id} · ${L(inc.severity)} · ${villageName(inc.village)} · ${L(inc.state)} · ${ago(inc.opened_at)}`;
  const dl = el('span', inc.overdue || cd === L('overdue') ? 'overdue' : 'status', inc.overdue ? ` · ${L('overdue')}` : ` · ${cd}`);
  meta.append(dl);
  c.append(el('div', 'inc-title', inc.title), meta);
  if (!readOnly) {
    const bar = el('div', 'actions');
    for (const a of actionsFor[inc.state] || []) {
      const b = el('button', a === 'accept' || a === 'resolve' ? 'primary' : '', L(a));
      b.dataset.action = a;
      b.onclick = () => act(inc, a);
      bar.append(b);
    }
    c.append(bar);
  }
  if (errors.has(inc.id)) c.append(el('div', 'err', errors.get(inc.id)));
  const hist = el('ul', 'hist');
  for (const s of inc.history.slice(-6)) {
    hist.append(el('li', '', historyLine(s)));
  }
  c.append(hist);
  return c;
}

function render() {
  const main = document.getElementById('main');
  const mine = [...incidents.values()].filter((i) => i.state !== 'reviewed');
  const own = mine.filter((i) => i.level !== 'county' || !i.escalated)
    .sort((a, b) => (b.overdue - a.overdue) || (new Date(b.opened_at) - new Date(a.opened_at)));
  const away = mine.filter((i) => i.level === 'county' && i.escalated);
  const p1 = el('section', 'panel');
  p1.append(el('h2', '', `${L('incidents')} (${own.length})`), ...own.map((i) => card(i, false)));
  const p2 = el('section', 'panel');
  p2.append(el('h2', '', `${L('escalatedAway')} (${away.length})`), ...away.map((i) => card(i, true)));
  const p3 = el('section', 'panel');
  const table = el('table');
  const head = el('tr');
  head.append(el('th', '', L('cameras') + ' / ' + L('sensors')), el('th', '', ''), el('th', '', L('since')));
  table.append(head);
  for (const d of [...cameras.values(), ...sensors.values()]) {
    const tr = el('tr');
    const st = el('td'); st.append(el('span', `badge ${d.state}`, L(d.state)));
    tr.append(el('td', '', `${d.name || d.id} · ${villageName(d.village)}`), st, el('td', 'status', d.since ? ago(d.since) : ''));
    table.append(tr);
  }
  p3.append(el('h2', '', `${L('cameras')} · ${L('sensors')}`), table);
  main.replaceChildren(p1, p2, p3);
}

function onMessage(m) {
  if (m.type === 'snapshot') {
    incidents.clear(); cameras.clear(); sensors.clear();
    for (const i of m.data.incidents) if (i.township === township) incidents.set(i.id, i);
    for (const c of m.data.cameras) if (c.township === township) cameras.set(c.id, c);
    for (const s of m.data.sensors) if (s.township === township) sensors.set(s.id, s);
  } else if (m.type === 'incident' && m.data.township === township) incidents.set(m.data.id, m.data);
  else if (m.type === 'camera' && m.data.township === township) cameras.set(m.data.id, { ...cameras.get(m.data.id), ...m.data });
  else if (m.type === 'sensor' && m.data.township === township && m.data.state) sensors.set(m.data.id, { ...sensors.get(m.data.id), ...m.data });
  render();
}

async function main() {
  if (!token()) { askToken(); return; }
  header('desk');
  try {
    me = await api('/api/v1/me');
    topo = await api('/api/v1/topology');
  } catch (e) { return; }
  const t = topo.townships.find((x) => x.id === township);
  document.getElementById('title').textContent = `${t ? t.name : township} ${L('desk')}`;
  document.getElementById('status').textContent = `${me.name} (${me.role})`;
  setInterval(render, 5000);
  connect(onMessage);
}
main();
