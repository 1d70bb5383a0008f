// The county workbench (县级工作台), for operators: queues with countdowns
// — 待派单, 督办中 (worst first), 已上报, 待考单, 挂起, 部门报到 — and every
// county step inline (派单/改派, 审批延期, 考单 with the timeliness), with
// an incident drawer holding the device, cameras, history and late steps.
import { connect, el, L, ago, clock, dur, deadlineText, isPast, sevRank, notice, boot } from './common.js';
import { actionBar } from './actions.js';
import { Drawer, waitingStep } from './drawer.js';
import { raiseDialog } from './raise.js';

const incidents = new Map(), cameras = new Map(), sensors = new Map();
let me = null, topo = null, villages = new Map();
const drawer = new Drawer(document.getElementById('drawer'), {
  villages: () => villages, cameras: () => cameras, sensors: () => sensors,
  show: (ids) => { location.href = '/?camera=' + encodeURIComponent(ids[0]); },
  actions: (i) => [actionBar(i, ctx())],
  liveView: true,
});

function ctx() {
  return { me, desk: 'county', topo: () => topo, villages: () => villages, noteLimit: topo?.note_limit,
    onDone: (u, action) => { incidents.set(u.id, u); notice(`${L('step_' + action)}：${u.title}`); render(); drawer.refresh(u); } };
}

const overdue = (i) => !!i.overdue || (i.state !== 'held' && isPast(i.deadline));
const lateness = (i) => (i.deadline ? Date.now() - new Date(i.deadline).getTime() : 0);
const bySev = (a, b) => ((sevRank[b.severity] || 0) - (sevRank[a.severity] || 0)) || (new Date(a.opened_at) - new Date(b.opened_at));
const heldSince = (i) => [...(i.history || [])].reverse().find((s) => s.action === 'hold')?.at;

// Each queue: a test of membership, an order, and what its row says of time.
const queues = [
  { id: 'q-dispatch', title: '待派单', help: '制单后等待县级派单', test: (i) => i.state === 'opened', sort: bySev },
  { id: 'q-supervised', title: '督办中', help: '已超时，按督办级别和超时长短排列', test: (i) => i.state !== 'held' && (overdue(i) || (i.supervision_tier || 0) > 0),
    sort: (a, b) => ((b.supervision_tier || 0) - (a.supervision_tier || 0)) || (lateness(b) - lateness(a)) },
  { id: 'q-escalated', title: '已上报', help: '乡镇上报县级，县级决定', test: (i) => i.owner === 'county' && i.state !== 'opened' && (i.escalated || (i.escalated_manual || 0) > 0), sort: bySev },
  { id: 'q-review', title: '待考单', help: '已评单，等待县级考单', test: (i) => i.state === 'evaluated', sort: (a, b) => new Date(a.deadline || 0) - new Date(b.deadline || 0) },
  { id: 'q-extension', title: '延期待批', help: '疑难事件申请延期', test: (i) => i.extension && !i.extension.approved, sort: bySev },
  { id: 'q-held', title: '挂起', help: '挂起中，按时长排列', test: (i) => i.state === 'held', sort: (a, b) => new Date(heldSince(a) || 0) - new Date(heldSince(b) || 0) },
  { id: 'q-summoned', title: '部门报到', help: '已吹哨，等待部门报到', test: (i) => (i.summoned || []).some((s) => !s.reported_at), sort: bySev },
];

function timeText(i) {
  if (i.state === 'held') { const s = heldSince(i); return s ? `已挂起 ${dur((Date.now() - new Date(s)) / 1000)}` : '挂起中'; }
  const wait = (i.summoned || []).filter((s) => !s.reported_at);
  const base = i.deadline ? deadlineText(waitingStep(i), i.deadline) : '';
  return base + (i.supervision_tier ? ` · 督办第${i.supervision_tier}级` : '') + (wait.length ? ` · 待报到：${wait.map((s) => deptName(s.department)).join('、')}` : '');
}

function personPhone(id) { const p = topo.people?.find((x) => x.id === id); return p?.phone ? ` ${p.phone}` : ''; }

// The township's own cadres (people of the township, not of a village),
// whom the county calls about a matter the township holds.
function ownerContacts(township) {
  return (topo.people || []).filter((p) => p.township === township && !p.village && p.role === 'cadre')
    .map((p) => `${p.name}${p.phone ? ' ' + p.phone : ''}`);
}

function deptName(id) { return topo.departments?.find((d) => d.id === id)?.name || id; }

function row(i) {
  const r = el('article', `card sev-${i.severity}`);
  r.dataset.id = i.id;
  const h = el('h3', 'inc-title');
  const open = el('button', 'linkish', i.title);
  open.type = 'button';
  open.onclick = () => drawer.open(i);
  h.append(el('span', `sev sev-${i.severity}`, L(i.severity)), open);
  const v = villages.get(i.village);
  const owner = i.owner === 'county' ? '县级' : i.owner === 'technicians' ? '技术运维' : (topo.townships.find((t) => t.id === i.owner)?.name || i.owner);
  r.append(h, el('div', 'status', [v ? `${v.townshipName} ${v.name}` : i.village, L(i.state), `${L('owner')}：${owner}`, `${ago(i.opened_at)}制单`].join(' · ')));
  // 延期待批 says what is asked: the cause, the crux and until when.
  if (i.extension && !i.extension.approved) r.append(el('div', 'status', `疑难原因：${i.extension.cause} · 症结：${i.extension.crux} · 申请延至 ${clock(i.extension.until)}（${i.extension.requested_by}）`));
  // Who answers for it, and how to reach them (督办, 催办).
  const cadres = i.owner && i.owner !== 'county' ? ownerContacts(i.owner) : [];
  const who = [i.owner && i.owner !== 'county' ? `${L('owner')}：${owner}${cadres.length ? '（' + cadres.join('、') + '）' : ''}` : '', i.assignee ? `${L('assign')}：${i.assignee.name}${personPhone(i.assignee.id)}` : ''].filter(Boolean);
  if ((i.supervision_tier || overdue(i)) && who.length) r.append(el('div', 'status', who.join(' · ')));
  const t = el('div', 'dl ' + (overdue(i) ? 'overdue' : 'status'), timeText(i));
  t.dataset.time = i.id;
  r.append(t, actionBar(i, ctx()));
  return r;
}

let built = false;
function build() {
  const main = document.getElementById('main');
  const grid = el('div', 'queues');
  for (const q of queues) {
    const p = el('section', 'panel');
    p.setAttribute('aria-labelledby', q.id + '-title');
    const h = el('h2', '');
    h.id = q.id + '-title';
    h.title = q.help;
    const box = el('div');
    box.id = q.id;
    p.append(h, box);
    grid.append(p);
  }
  const bar = el('div', 'toolbar');
  const raise = el('button', 'primary', '制单');
  raise.id = 'raise';
  raise.type = 'button';
  raise.onclick = () => raiseDialog({ topo, source: 'grid', noteLimit: topo.note_limit, onDone: (inc) => { incidents.set(inc.id, inc); render(); } });
  bar.append(raise, el('span', 'status', '网格员上报、12345 热线、信访转办等人工制单'));
  main.replaceChildren(bar, grid);
  built = true;
}

const stamps = new Map();
function render() {
  if (!built) build();
  const open = [...incidents.values()].filter((i) => i.state !== 'reviewed');
  for (const q of queues) {
    const list = open.filter(q.test).sort(q.sort);
    const box = document.getElementById(q.id);
    const st = JSON.stringify(list.map((i) => [i.id, i.state, i.history?.length, i.owner, i.supervision_tier, i.actions]));
    document.getElementById(q.id + '-title').replaceChildren(document.createTextNode(q.title), el('span', 'countpill', list.length));
    if (stamps.get(q.id) === st) continue; // keep open forms while nothing changed
    stamps.set(q.id, st);
    box.replaceChildren(...(list.length ? list.map(row) : [el('p', 'empty', '暂无')]));
  }
}

function tick() {
  for (const e of document.querySelectorAll('[data-time]')) {
    const i = incidents.get(e.dataset.time);
    if (!i) continue;
    e.textContent = timeText(i);
    e.className = 'dl ' + (overdue(i) ? 'overdue' : 'status');
  }
}

function onMessage(m) {
  if (m.type === 'snapshot') {
    incidents.clear(); cameras.clear();
    for (const i of m.data.incidents) incidents.set(i.id, i);
    for (const c of m.data.cameras) cameras.set(c.id, c);
    sensors.clear();
    for (const x of m.data.sensors || []) sensors.set(x.id, x);
  } else if (m.type === 'sensor') { sensors.set(m.data.id, { ...sensors.get(m.data.id), ...m.data }); return; } else if (m.type === 'incident') { incidents.set(m.data.id, m.data); drawer.refresh(m.data); }
  else if (m.type === 'camera') { cameras.set(m.data.id, { ...cameras.get(m.data.id), ...m.data }); return; }
  else return;
  render();
}

async function main() {
  const b = await boot('county');
  if (!b) return;
  ({ me, topo, villages } = b);
  document.getElementById('title').textContent = `${topo.county.name} ${L('county')}`;
  document.title = `${topo.county.name} ${L('county')} · snowhub`;
  if (me.role !== 'operator' && me.role !== 'admin') {
    const p = el('section', 'panel forbidden');
    p.append(el('h2', '', '无权查看'), el('p', '', '县级工作台仅供县级值班和管理员使用。'), el('p', 'status', 'Not allowed: the county workbench is for county operators.'));
    document.getElementById('main').replaceChildren(p);
    return;
  }
  build();
  setInterval(tick, 1000);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && drawer.isOpen()) drawer.close(); });

  connect(onMessage, () => {});
}
main();
