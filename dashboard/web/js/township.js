// The township (and village) desk: its own incidents with every step it may
// take as an inline form, each deadline named with its step and clock time,
// the full history, and its cameras and sensors. Another township's URL
// gets a clear 无权查看 page. New incidents raise a browser notification
// and flash the tab's title.
import { connect, el, L, ago, clock, dur, deadlineText, isPast, historyLine, causeText, sevRank, flashTitle, boot, stateSince } from './common.js';
import { actionBar } from './actions.js';
import { waitingStep } from './drawer.js';
import { deskAlarm } from './alarm.js';

const township = decodeURIComponent(location.pathname.split('/')[2] || '');
const incidents = new Map(), cameras = new Map(), sensors = new Map();
let me = null, topo = null, villages = new Map(), snapshotSeen = false;
const cards = new Map(); // id → {el, stamp}
let alarm = null;        // the wall's sounds, for what waits for this desk's 接单
let baseTitle = document.title;

function overdue(i) { return !!i.overdue || (i.state !== 'held' && isPast(i.deadline)); }
const order = (a, b) => (overdue(b) - overdue(a)) || ((sevRank[b.severity] || 0) - (sevRank[a.severity] || 0)) || (new Date(b.opened_at) - new Date(a.opened_at));
const mine = (i) => !i.owner || i.owner === township;

function deadlineLine(i) {
  if (i.state === 'held') {
    const since = [...(i.history || [])].reverse().find((s) => s.action === 'hold')?.at;
    return { cls: 'status', text: `挂起中${since ? '，已 ' + dur((Date.now() - new Date(since)) / 1000) : ''}（办理时限暂停）` + (i.deadline ? `；挂起时限 ${clock(i.deadline)}` : '') };
  }
  if (!i.deadline) return { cls: 'status', text: '' };
  return { cls: overdue(i) ? 'overdue' : 'status', text: deadlineText(waitingStep(i), i.deadline) + (i.supervision_tier ? ` · 督办第${i.supervision_tier}级` : '') };
}

function card(i, readOnly) {
  const c = el('article', `card sev-${i.severity}`);
  c.dataset.id = i.id;
  const h = el('h3', 'inc-title');
  h.append(el('span', `sev sev-${i.severity}`, L(i.severity)), document.createTextNode(i.title));
  const v = villages.get(i.village);
  const owner = i.owner === 'county' ? '县级' : (topo.townships.find((t) => t.id === i.owner)?.name || i.owner || '');
  const meta = el('div', 'status', [i.id, v?.name || i.village, L(i.state), `${L('owner')}：${owner}`, `${ago(i.opened_at)}制单`]
    .concat(i.assignee ? [`${L('assign')}：${i.assignee.name}`] : []).join(' · '));
  const dl = deadlineLine(i);
  const d = el('div', 'dl ' + dl.cls, dl.text);
  d.dataset.deadline = i.id;
  c.append(h, meta, d);
  if (i.late_steps?.length) c.append(el('div', 'overdue', '超时环节：' + i.late_steps.map((s) => `${L('step_' + s.step)}${s.late_s ? ' ' + dur(s.late_s) : ''}`).join('、')));
  const camIds = [...new Set([...(i.cameras || []), ...(i.devices || []), ...(cameras.has(i.device) ? [i.device] : []), ...(v?.cameras || [])])].filter((id) => cameras.has(id));
  if (camIds.length) {
    const a = el('a', 'camlink', `▶ ${L('showCamera')}（${cameras.get(camIds[0])?.name || camIds[0]}）`);
    a.href = '/?camera=' + encodeURIComponent(camIds[0]);
    c.append(a);
  }
  if (!readOnly) c.append(actionBar(i, { me, desk: township, topo: () => topo, villages: () => villages, noteLimit: topo.note_limit, onDone: (u) => { incidents.set(u.id, u); render(); } }));
  const hist = el('details', 'histbox');
  const sum = el('summary', '', `${L('history')}（${(i.history || []).length}）`);
  const ol = el('ol', 'hist');
  for (const s of i.history || []) ol.append(el('li', '', historyLine(s)));
  hist.append(sum, ol);
  const last = (i.history || []).at(-1);
  if (last) c.append(el('div', 'hist last', historyLine(last)));
  c.append(hist);
  return c;
}

function stamp(i) { return JSON.stringify([i.state, i.owner, i.history?.length, i.assignee?.id, i.deadline, i.overdue, i.supervision_tier, i.extension?.approved, i.actions]); }

function renderList(box, list, readOnly) {
  const nodes = list.map((i) => {
    const k = (readOnly ? 'r' : 'w') + i.id;
    let c = cards.get(k);
    const st = stamp(i);
    if (!c || c.stamp !== st) {
      const fresh = card(i, readOnly);
      if (c?.el.parentNode) c.el.replaceWith(fresh);
      c = { el: fresh, stamp: st };
      cards.set(k, c);
    }
    return c.el;
  });
  const same = nodes.length === box.children.length && nodes.every((n, idx) => box.children[idx] === n);
  if (!same) box.replaceChildren(...nodes);
  if (!nodes.length) box.replaceChildren(el('p', 'empty', L('noIncidents')));
}

let built = false;
function build() {
  const main = document.getElementById('main');
  const sec = (id, title) => {
    const p = el('section', 'panel');
    const h = el('h2', '', title);
    h.id = id + '-title';
    p.setAttribute('aria-labelledby', h.id);
    const box = el('div');
    box.id = id;
    p.append(h, box);
    return p;
  };
  const devs = sec('devices', `${L('cameras')} · ${L('sensors')}`);
  main.replaceChildren(sec('own', L('incidents')), sec('away', L('escalatedAway')), devs);
  built = true;
}

function render() {
  if (!built) build();
  const open = [...incidents.values()].filter((i) => i.state !== 'reviewed');
  const own = open.filter(mine).sort(order);
  const away = open.filter((i) => !mine(i)).sort(order);
  renderList(document.getElementById('own'), own, false);
  renderList(document.getElementById('away'), away, true);
  document.getElementById('own-title').textContent = `${L('incidents')}（${own.length}）`;
  document.getElementById('away-title').textContent = `${L('escalatedAway')}（${away.length}）`;
  renderDevices();
  // It sounds as the wall does while a matter waits for this desk's 接单
  // (a minor one chimes once); 接单 stops it.
  alarm?.update(own.filter((i) => i.state === 'dispatched'));
}

function renderDevices() {
  const t = el('table');
  const head = el('tr');
  for (const x of [L('name'), L('village'), L('state'), L('since'), L('cause')]) { const th = el('th', '', x); th.scope = 'col'; head.append(th); }
  const thead = el('thead'); thead.append(head);
  const tb = el('tbody');
  const devs = [...cameras.values(), ...sensors.values()].sort((a, b) => ((b.state === 'offline') - (a.state === 'offline')));
  for (const d of devs) {
    const tr = el('tr');
    const st = el('td'); st.append(el('span', `badge ${d.state}`, L(d.state)));
    tr.append(el('td', '', d.name || d.id), el('td', '', villages.get(d.village)?.name || d.village), st, el('td', 'status', stateSince(d) ? `${clock(stateSince(d))}（${ago(stateSince(d))}）` : ''),
      el('td', 'status', d.state === 'online' ? '' : causeText(d.cause)));
    tb.append(tr);
  }
  t.append(thead, tb);
  document.getElementById('devices').replaceChildren(t);
}

function tick() {
  for (const i of incidents.values()) {
    for (const d of document.querySelectorAll(`[data-deadline="${CSS.escape(i.id)}"]`)) {
      const x = deadlineLine(i);
      d.textContent = x.text;
      d.className = 'dl ' + x.cls;
    }
  }
}

// alert tells the desk of a new incident: a browser notification when
// allowed, and the tab's title flashing until the desk looks.
function alertNew(i) {
  if ('Notification' in window && Notification.permission === 'granted') {
    try { new Notification(`${L(i.severity)}：${i.title}`, { body: villages.get(i.village)?.name || '', tag: i.id }); } catch (e) { /* some browsers need a service worker */ }
  }
  flashTitle(`【新事件】${i.title}`, baseTitle);
}

function onMessage(m) {
  if (m.type === 'snapshot') {
    incidents.clear(); cameras.clear(); sensors.clear();
    for (const i of m.data.incidents) if (i.township === township || i.owner === township) incidents.set(i.id, i);
    for (const c of m.data.cameras) if (c.township === township) cameras.set(c.id, c);
    for (const s of m.data.sensors) if (s.township === township) sensors.set(s.id, s);
    snapshotSeen = true;
  } else if (m.type === 'incident' && (m.data.township === township || m.data.owner === township)) {
    const isNew = !incidents.has(m.data.id);
    incidents.set(m.data.id, m.data);
    if (isNew && snapshotSeen) alertNew(m.data);
  } else if (m.type === 'camera' && m.data.township === township) cameras.set(m.data.id, { ...cameras.get(m.data.id), ...m.data });
  else if (m.type === 'sensor' && m.data.township === township && m.data.state) sensors.set(m.data.id, { ...sensors.get(m.data.id), ...m.data });
  else return;
  render();
}

function forbidden(name) {
  const main = document.getElementById('main');
  const p = el('section', 'panel forbidden');
  p.append(el('h2', '', '无权查看'), el('p', '', `此页面属于${name || '其他乡镇'}。您的账号（${me.name}）只能查看${me.township ? '本乡镇' : '授权范围内'}的事件和设备。`),
    el('p', 'status', 'Not allowed: this desk belongs to another township.'));
  if (me.township) {
    const a = el('a', '', '前往本乡镇工作台');
    a.href = '/township/' + encodeURIComponent(me.township);
    p.append(a);
  }
  main.replaceChildren(p);
  document.title = '无权查看 · snowhub';
}

async function main() {
  const b = await boot('desk');
  if (!b) return;
  ({ me, topo, villages } = b);
  const t = topo.townships.find((x) => x.id === township);
  if (!t) {
    document.getElementById('title').textContent = L('desk');
    forbidden('');
    return;
  }
  document.getElementById('title').textContent = `${t.name} ${L('desk')}`;
  baseTitle = document.title = `${t.name} ${L('desk')} · snowhub`;
  if ('Notification' in window && Notification.permission === 'default') {
    const b = el('button', '', L('notifyOn'));
    b.id = 'notify-permission';
    b.onclick = async () => { await Notification.requestPermission(); b.remove(); };
    document.getElementById('status').after(b);
  }
  alarm = deskAlarm(document.getElementById('status'));
  build();
  setInterval(tick, 1000);
  connect(onMessage, (up) => document.body.classList.toggle('disconnected', !up));
}
main();
