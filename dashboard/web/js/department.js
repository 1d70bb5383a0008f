// The department desk (吹哨报到): the incidents this department was summoned
// to, and nothing else (the hub shows a department only those). Each card
// says who summoned it, by when it must report in (the clock running), and
// offers 报到 and 办结 with the note the county reads. Waiting for this
// department first, soonest due first; what it finished stays below.
import { connect, el, L, ago, clock, deadlineText, isPast, historyLine, flashTitle, boot } from './common.js';
import { actionBar, summonedMe } from './actions.js';
import { deskAlarm } from './alarm.js';

const incidents = new Map();
let me = null, topo = null, villages = new Map(), snapshotSeen = false;
let alarm = null;
let baseTitle = document.title;

// rank: 0 waits for 报到, 1 for 办结, 2 done.
function rank(s) { return !s ? 3 : !s.reported_at ? 0 : !s.done_at ? 1 : 2; }
function order(a, b) {
  const sa = summonedMe(a, me), sb = summonedMe(b, me);
  return (rank(sa) - rank(sb)) || (new Date(sa?.due || sa?.at || 0) - new Date(sb?.due || sb?.at || 0));
}

function summonLine(s) {
  if (!s.reported_at) {
    return { cls: isPast(s.due) ? 'overdue' : 'status', text: s.due ? deadlineText('report', s.due) : L('waitReport') };
  }
  if (!s.done_at) return { cls: 'status', text: `${L('reported')} ${clock(s.reported_at)} · ${L('waitDone')}` };
  return { cls: 'status', text: `${L('reported')} ${clock(s.reported_at)} · ${L('doneAt')} ${clock(s.done_at)}` };
}

function card(i) {
  const s = summonedMe(i, me);
  const c = el('article', `card sev-${i.severity}`);
  c.dataset.id = i.id;
  const h = el('h3', 'inc-title');
  h.append(el('span', `sev sev-${i.severity}`, L(i.severity)), document.createTextNode(i.title));
  const v = villages.get(i.village);
  c.append(h, el('div', 'status', [i.id, [v?.townshipName, v?.name || i.village].filter(Boolean).join(' '), L(i.state),
    `${L('summonedAt')} ${clock(s.at)}（${ago(s.at)}）${s.by ? ' · ' + s.by : ''}`].join(' · ')));
  const ask = [...(i.history || [])].reverse().find((x) => x.action === 'summon')?.note;
  if (ask) c.append(el('p', 'ask', `需要本部门：${ask}`));
  const line = summonLine(s);
  const d = el('div', 'dl ' + line.cls, line.text);
  d.dataset.deadline = i.id;
  c.append(d);
  if (s.note && s.done_at) c.append(el('div', 'hist last', `办结情况：${s.note}`));
  c.append(actionBar(i, { me, desk: 'department', noteLimit: topo.note_limit, onDone: (u) => { incidents.set(u.id, u); render(); } }));
  const hist = el('details', 'histbox');
  const ol = el('ol', 'hist');
  for (const x of i.history || []) ol.append(el('li', '', historyLine(x)));
  hist.append(el('summary', '', `${L('history')}（${(i.history || []).length}）`), ol);
  c.append(hist);
  return c;
}

function render() {
  const list = [...incidents.values()].filter((i) => summonedMe(i, me)).sort(order);
  const waiting = list.filter((i) => rank(summonedMe(i, me)) < 2);
  const box = document.getElementById('summons');
  box.replaceChildren(...list.map(card));
  if (!list.length) box.replaceChildren(el('p', 'empty', L('noSummons')));
  document.getElementById('summons-title').textContent = `${L('deptDesk')}（${L('waitReport')}/${L('waitDone')} ${waiting.length}）`;
  // The wall's sounds while a summons waits for this department's 报到.
  alarm?.update(list.filter((i) => !summonedMe(i, me).reported_at));
}

function tick() {
  for (const i of incidents.values()) {
    const s = summonedMe(i, me);
    const d = s && document.querySelector(`[data-deadline="${CSS.escape(i.id)}"]`);
    if (!d) continue;
    const x = summonLine(s);
    d.textContent = x.text;
    d.className = 'dl ' + x.cls;
  }
}

function onMessage(m) {
  if (m.type === 'snapshot') {
    incidents.clear();
    for (const i of m.data.incidents) incidents.set(i.id, i);
    snapshotSeen = true;
  } else if (m.type === 'incident') {
    const isNew = !incidents.has(m.data.id) || !summonedMe(incidents.get(m.data.id), me);
    incidents.set(m.data.id, m.data);
    if (isNew && snapshotSeen && summonedMe(m.data, me)) flashTitle(`【吹哨】${m.data.title}`, baseTitle);
  } else return;
  render();
}

async function main() {
  const b = await boot('deptDesk');
  if (!b) return;
  ({ me, topo, villages } = b);
  const dept = (topo.departments || []).find((d) => d.id === me.department);
  document.getElementById('title').textContent = `${dept?.name || ''} ${L('deptDesk')}`.trim();
  baseTitle = document.title = `${dept?.name || ''} ${L('deptDesk')} · snowhub`.trim();
  const main = document.getElementById('main');
  if (me.role !== 'department') {
    const p = el('section', 'panel forbidden');
    p.append(el('h2', '', L('deptOnly')), el('p', 'status', 'This page is for summoned departments.'));
    const a = el('a', '', '前往视频墙');
    a.href = '/';
    p.append(a);
    main.replaceChildren(p);
    return;
  }
  const p = el('section', 'panel');
  const h = el('h2', '', L('deptDesk'));
  h.id = 'summons-title';
  p.setAttribute('aria-labelledby', h.id);
  const box = el('div');
  box.id = 'summons';
  p.append(h, box);
  main.replaceChildren(p);
  alarm = deskAlarm(document.getElementById('status'));
  setInterval(tick, 1000);
  connect(onMessage, (up) => document.body.classList.toggle('disconnected', !up));
}
main();
