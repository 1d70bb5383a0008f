// The 考单 board (/stats): for a period (本周, 本半月, 本月, or chosen
// dates) the hub's figures per township, and per village or person on
// drill-down: on-time rates per step, satisfaction, backlog, supervised and
// reopened counts, mean score; bars where people would rather look than
// read; CSV with a byte-order mark. Township users see their own rows (the
// hub scopes them).
import { api, el, L, token, notice, dur, download, errText, boot, periodName } from './common.js';
import { init as chart } from '/static/vendor/charts.js';
import { backlogLines } from './backlog.js';
import { missingLines } from './missing.js';

let me = null, topo = null, villages = new Map();
let period = 'month', from = null, to = null, group = 'township', within = '';
let rows = [], backlog = null;
const steps = ['dispatch', 'accept', 'assign', 'resolve', 'evaluate', 'review'];
const charts = {};

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
const day = (d) => { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; };

// range gives the period's bounds in local time.
function range() {
  const now = new Date();
  if (period === 'week') { const d = day(now); d.setDate(d.getDate() - ((d.getDay() + 6) % 7)); return [d, now]; }
  if (period === 'half') { const d = day(now); d.setDate(d.getDate() >= 16 ? 16 : 1); return [d, now]; }
  if (period === 'month') { const d = day(now); d.setDate(1); return [d, now]; }
  return [from || day(now), to || now];
}

async function load() {
  const [a, b] = range();
  const q = new URLSearchParams({ from: a.toISOString(), to: b.toISOString(), group });
  // The backlog over time is by township whatever the table's unit: the
  // drill-down keeps its township's line.
  const bq = new URLSearchParams({ from: a.toISOString(), to: b.toISOString(), group: 'township' });
  const series = api('/api/v1/stats/backlog?' + bq).catch((e) => { notice(e.message, true); return null; });
  try {
    const r = await api('/api/v1/stats?' + q);
    rows = r.rows || [];
    if (group === 'village' && within) rows = rows.filter((x) => villages.get(x.key)?.township === within);
    backlog = await series;
    showMissing([r.unavailable, backlog?.unavailable]);
    render();
  } catch (e) { notice(e.message, true); }
}

// showMissing: on a view hub, the hubs whose figures did not come (their
// last will, no answer in time) are named above the board, with their
// townships: the figures below are short of them.
function showMissing(lists) {
  const box = document.getElementById('missing');
  const twName = (id) => topo.townships.find((t) => t.id === id)?.name || id;
  const lines = missingLines(lists, twName);
  box.hidden = !lines.length;
  const list = el('ul');
  for (const l of lines) list.append(el('li', '', l));
  box.replaceChildren(el('strong', '', L('figuresMissing')), list);
}

function label(x) {
  if (group === 'village') return villages.get(x.key)?.name || x.name || x.key;
  return x.name || x.key || '—';
}

function build() {
  const main = document.getElementById('main');
  const bar = el('div', 'filters panel');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', '统计区间');
  for (const [k, n] of [['week', '本周'], ['half', '本半月'], ['month', '本月'], ['custom', '自定义']]) {
    const b = el('button', k === period ? 'primary' : '', n);
    b.type = 'button';
    b.dataset.period = k;
    b.setAttribute('aria-pressed', k === period ? 'true' : 'false');
    b.onclick = () => {
      period = k;
      for (const x of bar.querySelectorAll('[data-period]')) { x.classList.toggle('primary', x === b); x.setAttribute('aria-pressed', x === b ? 'true' : 'false'); }
      custom.hidden = k !== 'custom';
      load();
    };
    bar.append(b);
  }
  const custom = el('span', 'custom');
  custom.hidden = true;
  const f = el('input'); f.type = 'date'; f.id = 'from'; f.setAttribute('aria-label', '开始日期');
  const t = el('input'); t.type = 'date'; t.id = 'to'; t.setAttribute('aria-label', '结束日期');
  const go = el('button', '', '查询');
  go.type = 'button';
  go.onclick = () => {
    if (!f.value || !t.value) { notice('请选择开始和结束日期', true); return; }
    from = new Date(f.value + 'T00:00'); to = new Date(t.value + 'T00:00'); to.setDate(to.getDate() + 1);
    load();
  };
  custom.append(f, el('span', '', '至'), t, go);
  const gsel = el('select');
  gsel.id = 'group';
  gsel.setAttribute('aria-label', '统计单位');
  for (const [k, n] of [['township', '按乡镇'], ['village', '按村/社区'], ['assignee', '按人员'], ['department', '按部门']]) gsel.append(new Option(n, k));
  gsel.onchange = () => { group = gsel.value; within = ''; load(); };
  const csv = el('button', '', L('exportCsv'));
  csv.id = 'csv';
  csv.type = 'button';
  csv.onclick = exportCsv;
  bar.append(custom, gsel, csv);
  const chartsBox = el('div', 'charts');
  for (const [id, title] of [['c-ontime', '按时率（接单、做单）'], ['c-sat', '满意率'], ['c-backlog', '在办超期事件（未办结）'], ['c-trend', L('backlogTrend')]]) {
    const p = el('section', 'panel chart');
    p.setAttribute('aria-labelledby', id + '-t');
    const h = el('h2', '', title);
    h.id = id + '-t';
    const c = el('div', 'chartbox');
    c.id = id;
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', title);
    p.append(h, c);
    chartsBox.append(p);
  }
  const tp = el('section', 'panel');
  tp.setAttribute('aria-labelledby', 'stats-t');
  const th = el('h2', '', '考单');
  th.id = 'stats-t';
  const scroll = el('div', 'scroll');
  const table = el('table');
  table.id = 'stats-table';
  scroll.append(table);
  tp.append(th, scroll);
  const missing = el('div', 'missing');
  missing.id = 'missing';
  missing.setAttribute('role', 'alert');
  missing.hidden = true;
  main.replaceChildren(missing, bar, chartsBox, tp);
}

function render() {
  const [a, b] = range();
  const unit = { township: '乡镇', village: '村/社区', assignee: '人员', department: '部门' }[group];
  const within_ = within ? `（${topo.townships.find((t) => t.id === within)?.name}）` : '';
  document.getElementById('stats-t').textContent = `${a.toLocaleDateString('zh-CN')} – ${b.toLocaleDateString('zh-CN')} · 按${unit}${within_}`;
  const table = document.getElementById('stats-table');
  const head = el('tr');
  const cols = [unit, '制单', '办结', '在办', '在办超7天', '在办超30天', ...steps.map((s) => `${L('step_' + s)}按时率`), '督办', '催办', '上报', '重办', '已评', '满意率', '平均得分', '平均接单用时', '平均办结用时'];
  for (const c of cols) { const x = el('th', c === unit ? '' : 'num', c); x.scope = 'col'; head.append(x); }
  const thead = el('thead'); thead.append(head);
  const tb = el('tbody');
  for (const x of rows) {
    const tr = el('tr');
    tr.dataset.key = x.key;
    const name = el('td');
    if (group === 'township') {
      const b2 = el('button', 'linkish', label(x));
      b2.type = 'button';
      b2.title = '查看各村';
      b2.onclick = () => { group = 'village'; within = x.key; document.getElementById('group').value = 'village'; load(); };
      name.append(b2);
    } else name.textContent = label(x);
    tr.append(name);
    // Each figure of a township or village opens the incidents behind it:
    // the incidents list of the same period and place, as a CSV.
    const place = group === 'township' ? 'township' : group === 'village' ? 'village' : '';
    const num = (v, title) => {
      const td = el('td', 'num');
      if (place && v !== '—') {
        const b3 = el('button', 'linkish', String(v));
        b3.type = 'button';
        b3.title = title || '查看这些事件';
        b3.onclick = () => incidentsCsv(place, x);
        td.append(b3);
      } else td.textContent = v;
      tr.append(td);
    };
    num(x.opened); num(x.closed); num(x.open_now); num(x.backlog_over_7d); num(x.backlog_over_30d);
    // A step pending past its deadline counts as late (docs/incidents.md).
    for (const s of steps) {
      const done = x.steps_done?.[s] ?? 0, late = x.steps_pending_late?.[s] ?? 0;
      num(pct(x.on_time_rate?.[s]), `按时 ${x.steps_on_time?.[s] ?? 0} / 应办 ${done + late}（含超时未办 ${late}）`);
    }
    num(x.supervised); num(x.reminded ?? 0); num(x.escalated_manual); num(x.reopened); num(x.rated); num(pct(x.satisfaction_rate));
    num(x.mean_score === null || x.mean_score === undefined ? '—' : x.mean_score.toFixed(1));
    num(x.mean_time_to_accept_s ? dur(x.mean_time_to_accept_s) : '—');
    num(x.mean_time_to_resolve_s ? dur(x.mean_time_to_resolve_s) : '—');
    tb.append(tr);
  }
  if (!rows.length) { const tr = el('tr'); const td = el('td', 'empty', '本期没有事件'); td.colSpan = cols.length; tr.append(td); tb.append(tr); }
  table.replaceChildren(thead, tb);
  drawCharts();
}

const axisText = { color: '#c9d1d9', fontSize: 13 };
function bars(id, names, series, opts = {}) {
  const box = document.getElementById(id);
  charts[id] ??= chart(box, null, { renderer: 'svg' });
  charts[id].setOption({
    aria: { enabled: true },
    animation: false, // figures, not a show: drawn at once
    textStyle: { fontFamily: 'Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif' },
    grid: { left: 48, right: 16, top: 36, bottom: 40 },
    legend: { textStyle: axisText, top: 4 },
    tooltip: { trigger: 'axis', valueFormatter: opts.pct ? (v) => (v === null ? '—' : `${v.toFixed(1)}%`) : undefined },
    xAxis: { type: 'category', data: names, axisLabel: { ...axisText, interval: 0 } },
    yAxis: { type: 'value', max: opts.pct ? 100 : undefined, minInterval: opts.pct ? undefined : 1, axisLabel: { ...axisText, formatter: opts.pct ? '{value}%' : '{value}' }, splitLine: { lineStyle: { color: '#30363d' } } },
    series: series.map((s) => ({ type: 'bar', barMaxWidth: 36, ...s })),
  }, true);
}

function drawCharts() {
  const names = rows.map(label);
  const r = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
  bars('c-ontime', names, [
    { name: '接单按时率', data: rows.map((x) => r(x.on_time_rate?.accept)), itemStyle: { color: '#58a6ff' } },
    { name: '做单按时率', data: rows.map((x) => r(x.on_time_rate?.resolve)), itemStyle: { color: '#3fb950' } },
  ], { pct: true });
  bars('c-sat', names, [{ name: '满意率', data: rows.map((x) => r(x.satisfaction_rate)), itemStyle: { color: '#e3b341' } }], { pct: true });
  bars('c-backlog', names, [
    { name: '在办', data: rows.map((x) => x.open_now), itemStyle: { color: '#8b949e' } },
    { name: '在办超7天', data: rows.map((x) => x.backlog_over_7d), itemStyle: { color: '#f0883e' } },
    { name: '在办超30天', data: rows.map((x) => x.backlog_over_30d), itemStyle: { color: '#ff7b72' } },
  ]);
  drawBacklog();
}

// The backlog at each midnight of the period: a line per township, and the
// total's over-7 and over-30-day lines dashed.
const lineColors = ['#58a6ff', '#3fb950', '#e3b341', '#d2a8ff', '#79c0ff', '#56d364', '#a5d6ff', '#bc8cff']; // orange and red are the ages'
function drawBacklog() {
  const id = 'c-trend';
  const box = document.getElementById(id);
  charts[id] ??= chart(box, null, { renderer: 'svg' });
  const twName = (r) => topo.townships.find((t) => t.id === r.key)?.name || r.name || r.key;
  const { days, lines } = backlogLines(backlog, twName, L, group === 'village' ? within : '');
  charts[id].setOption({
    aria: { enabled: true },
    animation: false,
    textStyle: { fontFamily: 'Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif' },
    grid: { left: 48, right: 16, top: 36, bottom: 40 },
    legend: { textStyle: axisText, top: 4, type: 'scroll' },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: days, axisLabel: axisText, boundaryGap: false },
    yAxis: { type: 'value', name: L('backlog'), nameTextStyle: axisText, minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: '#30363d' } } },
    series: lines.map((l, i) => ({
      type: 'line', name: l.name, data: l.data, showSymbol: days.length <= 31,
      lineStyle: l.dashed ? { type: 'dashed', width: 2 } : { width: 2 },
      itemStyle: { color: l.key === 'over_7d' ? '#f0883e' : l.key === 'over_30d' ? '#ff7b72' : lineColors[i % lineColors.length] },
    })),
  }, true);
}

// incidentsCsv saves the incidents behind a row's figures: those opened in
// the board's period in its township or village.
async function incidentsCsv(place, x) {
  const [a, b] = range();
  const q = new URLSearchParams({ state: 'all', from: a.toISOString(), to: b.toISOString(), [place]: x.key, format: 'csv' });
  try {
    const res = await fetch('/api/v1/incidents?' + q, { headers: { Authorization: 'Bearer ' + token() } });
    if (!res.ok) throw new Error(errText(res.status, (await res.json().catch(() => null))?.error || res.statusText));
    window.__lastIncidents = q.toString();
    window.__lastCsv = download(`事件-${label(x)}-${periodName(a, b)}.csv`, await res.text());
  } catch (e) { notice(e.message, true); }
}

async function exportCsv() {
  const [a, b] = range();
  const q = new URLSearchParams({ from: a.toISOString(), to: b.toISOString(), group, format: 'csv' });
  try {
    const res = await fetch('/api/v1/stats?' + q, { headers: { Authorization: 'Bearer ' + token() } });
    if (!res.ok) throw new Error(errText(res.status, (await res.json().catch(() => null))?.error || res.statusText));
    const unit = { township: '乡镇', village: '村', assignee: '人员', department: '部门' }[group] || group;
    window.__lastCsv = download(`考单-${unit}-${periodName(a, b)}.csv`, await res.text());
  } catch (e) { notice(e.message, true); }
}

async function main() {
  const b = await boot('stats');
  if (!b) return;
  ({ me, topo, villages } = b);
  document.getElementById('title').textContent = `${topo.county.name} 考单`;
  document.title = `${topo.county.name} 考单 · snowhub`;
  build();
  await load();
  window.addEventListener('resize', () => { for (const c of Object.values(charts)) c.resize(); });
  setInterval(load, 60000);
}
main();
