// The uptime page, for technicians and the county: what is down now (key
// crossings first), the online rate (在线率) per township worst first,
// uptime per camera with its outages, and maintenance windows. The page is
// built once; the 10-second refresh replaces table bodies only, so the
// search box keeps its focus and its text.
import { api, el, L, clock, dur, causeText, csvDownload, notice, boot, periodName, stateSince, lang } from './common.js';

let report = null, month = null, range = 24 * 3600 * 1000, sortKey = 'uptime', sortDir = 1;
let filterText = '', filterTownship = '', filterState = '';
// The per-camera table shows one page (a county has 10,000 cameras); the
// selection, for maintenance, is kept across pages and refreshes.
let pageNo = 0, perPage = 50;
const chosen = new Set();
let me = null, topo = { townships: [] }, villages = new Map(), cams = new Map(), windows = [];
const bodies = {};

const keyCam = (c) => villages.get(c.village)?.key_cameras?.includes(c.id) || false;
const pct = (x) => `${(x * 100).toFixed(2)}%`;
const rfc = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z');

async function load() {
  const to = new Date(), from = new Date(to.getTime() - range);
  try {
    const q = new URLSearchParams({ from: rfc(from), to: rfc(to) });
    const [r, list, w] = await Promise.all([api('/api/v1/uptime?' + q), api('/api/v1/cameras'), api('/api/v1/maintenance')]);
    report = r; windows = w || [];
    showChecks();
    cams = new Map(list.map((c) => [c.id, c]));
    if (range === 30 * 86400e3) month = r;
    render();
  } catch (e) {
    notice(e.message, true);
  }
}

// showChecks says when the hub's own camera checks run late (/readyz's
// camera_checks): the hub is overloaded, which is not the cameras' fault.
async function showChecks() {
  const box = document.getElementById('checks-late');
  if (!box) return;
  let why = '';
  try {
    const r = await (await fetch('/readyz')).json();
    if (r.camera_checks && r.camera_checks !== 'ok') why = r.camera_checks;
  } catch (e) { /* readiness unknown: say nothing rather than guess */ }
  box.hidden = !why;
  box.textContent = why ? `${L('checksLate')}（${why}）` : '';
}

// The down-now list counts outages over 30 days whatever range is shown.
async function loadMonth() {
  if (range === 30 * 86400e3) return;
  const to = new Date(), from = new Date(to.getTime() - 30 * 86400e3);
  try {
    month = await api('/api/v1/uptime?' + new URLSearchParams({ from: rfc(from), to: rfc(to) }));
    render();
  } catch (e) { /* the 30-day column stays empty */ }
}

// bar is a camera's timeline over the range: green where it was up, red
// where it was down, grey where nothing is recorded (before its first
// record, while the hub was not watching), never green for no data. The
// line under it says where the data starts when that is inside the range.
function bar(c) {
  const wrap = el('div', 'timeline');
  const b = el('div', 'bar');
  b.setAttribute('role', 'img');
  const from0 = new Date(report.from).getTime(), to0 = new Date(report.to).getTime();
  const total = to0 - from0;
  const segs = [
    ...c.outages.map((o) => ({ from: new Date(o.from).getTime(), to: o.to ? new Date(o.to).getTime() : to0, cls: 'down', o })),
    ...(c.no_data || []).map((n) => ({ from: new Date(n.from).getTime(), to: new Date(n.to).getTime(), cls: 'nodata' })),
  ].map((g) => ({ ...g, from: Math.max(g.from, from0), to: Math.min(g.to, to0) })).filter((g) => g.to > g.from).sort((a, b) => a.from - b.from);
  let x = from0;
  const spans = [];
  for (const g of segs) {
    const gap = el('span', 'up');
    gap.style.width = `${(Math.max(g.from - x, 0) / total) * 100}%`;
    const s = el('span', g.cls);
    s.style.width = `${Math.max(((g.to - Math.max(g.from, x)) / total) * 100, g.cls === 'down' ? 0.5 : 0)}%`;
    if (g.cls === 'down') spans.push(`${clock(g.from)}–${g.o.to ? clock(g.to) : '…'} ${causeText(g.o.cause)}`);
    else spans.push(`${clock(g.from)}–${clock(g.to)} ${L('noData')}`);
    b.append(gap, s);
    x = Math.max(x, g.to);
  }
  const nd = (c.no_data || [])[0];
  let note = '';
  if (nd && new Date(nd.from).getTime() <= from0) {
    note = new Date(nd.to).getTime() >= to0 ? L('noData') : `${L('dataFrom')} ${clock(nd.to)}`;
  }
  b.setAttribute('aria-label', [note, ...spans].filter(Boolean).join('；') || L('online'));
  b.title = [note, ...spans].filter(Boolean).join('\n');
  wrap.append(b);
  if (note) wrap.append(el('div', 'bar-note', note));
  return wrap;
}

function table(id, heads) {
  const t = el('table');
  const thead = el('thead');
  const tr = el('tr');
  for (const h of heads) {
    const th = el('th', h.num ? 'num' : '');
    th.scope = 'col';
    if (h.sort) {
      const b = el('button', 'sort', h.label);
      b.type = 'button';
      b.onclick = () => { sortDir = sortKey === h.sort ? -sortDir : 1; sortKey = h.sort; pageNo = 0; renderCameras(); markSort(t); };
      th.dataset.sort = h.sort;
      th.append(b);
    } else if (h.label) th.textContent = h.label;
    else th.append(el('span', 'sr-only', h.sr || '—'));
    if (h.title) th.title = h.title;
    tr.append(th);
  }
  thead.append(tr);
  const tbody = el('tbody');
  t.append(thead, tbody);
  bodies[id] = tbody;
  return t;
}

function markSort(t) {
  for (const th of t.querySelectorAll('th[data-sort]')) {
    if (th.dataset.sort === sortKey) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function panel(title, id, ...children) {
  const p = el('section', 'panel');
  const h = el('h2', '', title);
  h.id = id;
  p.setAttribute('aria-labelledby', id);
  p.append(h, ...children);
  return p;
}

function build() {
  const main = document.getElementById('main');
  const p0 = panel(L('downNow'), 'down-title', scroll(table('down', [
    { label: L('keyCrossing'), sr: L('keyCrossing') }, { label: L('cameras') }, { label: L('id') }, { label: L('township') }, { label: L('village') },
    { label: L('offlineSince') }, { label: L('downFor') }, { label: L('cause') }, { label: L('outages30'), num: true }])));
  const p1 = panel(`${L('rate')}（${L('worstFirst')}）`, 'rate-title', scroll(table('townships', [
    { label: L('township') }, { label: L('cameras'), num: true }, { label: L('rate'), num: true }, { label: L('intact'), num: true, title: L('intactHelp') },
    { label: L('downNow'), num: true }, { label: L('checkLag'), num: true }])));

  const filters = el('div', 'filters');
  filters.setAttribute('role', 'group');
  filters.setAttribute('aria-label', L('rangeLabel'));
  for (const [label, ms] of [[L('range24h'), 86400e3], [L('range7d'), 7 * 86400e3], [L('range30d'), 30 * 86400e3]]) {
    const b = el('button', range === ms ? 'primary' : '', label);
    b.type = 'button';
    b.dataset.range = String(ms);
    b.setAttribute('aria-pressed', range === ms ? 'true' : 'false');
    b.onclick = () => {
      range = ms;
      for (const x of filters.querySelectorAll('[data-range]')) {
        const on = Number(x.dataset.range) === ms;
        x.classList.toggle('primary', on);
        x.setAttribute('aria-pressed', on ? 'true' : 'false');
      }
      load();
    };
    filters.append(b);
  }
  const tsel = el('select');
  tsel.id = 'f-township';
  tsel.setAttribute('aria-label', L('township'));
  tsel.append(new Option(`${L('township')}：${L('all')}`, ''), ...topo.townships.map((t) => new Option(t.name, t.id)));
  tsel.onchange = () => { filterTownship = tsel.value; pageNo = 0; renderCameras(); };
  const ssel = el('select');
  ssel.id = 'f-state';
  ssel.setAttribute('aria-label', L('state'));
  ssel.append(new Option(`${L('state')}：${L('all')}`, ''), ...['online', 'degraded', 'offline', 'maintenance', 'unknown'].map((s) => new Option(L(s), s)));
  ssel.onchange = () => { filterState = ssel.value; pageNo = 0; renderCameras(); };
  const search = el('input');
  search.type = 'search';
  search.id = 'f-search';
  search.placeholder = L('search');
  search.setAttribute('aria-label', L('search'));
  search.oninput = () => { filterText = search.value; pageNo = 0; renderCameras(); };
  const csv = el('button', '', L('exportCsv'));
  csv.id = 'csv';
  csv.type = 'button';
  csv.onclick = () => { window.__lastCsv = csvDownload(`在线率-${periodName(new Date(report.from), new Date(report.to))}.csv`, csvRows()); };
  filters.append(tsel, ssel, search, csv);
  const camTable = table('cameras', [
    { label: '', sr: L('select') }, { label: L('keyCrossing'), sr: L('keyCrossing') }, { label: L('cameras'), sort: 'name' }, { label: L('id'), sort: 'id' },
    { label: L('township'), sort: 'township' }, { label: L('village'), sort: 'village' }, { label: L('uptime'), sort: 'uptime', num: true },
    { label: L('outages'), sort: 'outages', num: true }, { label: L('timeline') }, { label: L('state'), sort: 'state' }, { label: '', sr: L('setMaint') }]);
  markSort(camTable);
  const legend = el('div', 'bar-legend');
  legend.setAttribute('aria-hidden', 'true'); // each bar says the same in its label
  for (const [cls, key] of [['--online', 'legendUp'], ['--bad', 'legendDown'], ['--unknown', 'legendNoData']]) {
    const i = el('i');
    i.style.background = `var(${cls})`;
    const s = el('span');
    s.append(i, L(key));
    legend.append(s);
  }
  const p2 = panel(L('perCamera'), 'cams-title', filters, maintTools(), legend, scroll(camTable), pager());
  const p3 = panel(L('maintenanceTitle'), 'maint-title', scroll(table('maint', [
    { label: L('maintDevice') }, { label: L('maintFrom') }, { label: L('maintUntil') }, { label: L('maintNote') }, { label: L('maintBy') }, { label: '', sr: L('end') }])));
  const late = el('p', 'checks-late');
  late.id = 'checks-late';
  late.setAttribute('role', 'status');
  late.hidden = true;
  main.replaceChildren(late, p0, p1, p2, p3);
}

function scroll(t) { const d = el('div', 'scroll'); d.append(t); return d; }

function names(c) {
  const v = villages.get(c.village);
  return { village: v?.name || c.village || '', township: v?.townshipName || c.township || '' };
}

function row(...cells) {
  const tr = el('tr');
  for (const c of cells) {
    if (c instanceof Node) { const td = el('td'); td.append(c); tr.append(td); } else if (c && typeof c === 'object') tr.append(el('td', c.cls || '', c.text));
    else tr.append(el('td', '', c ?? ''));
  }
  return tr;
}

function render() {
  if (!report) return;
  renderDown();
  renderTownships();
  renderCameras();
  renderWindows();
}

function renderDown() {
  const outages30 = new Map((month?.cameras || []).map((c) => [c.id, c.outages.length]));
  const down = [...cams.values()].filter((c) => c.state === 'offline')
    .sort((a, b) => (keyCam(b) - keyCam(a)) || (new Date(stateSince(a)) - new Date(stateSince(b))));
  const rows = down.map((c) => {
    const n = names(c);
    const k = keyCam(c) ? el('span', 'key', `★ ${L('keyCrossing')}`) : '';
    const tr = row(k, c.name || c.id, c.id, n.township, n.village, clock(stateSince(c)), { cls: 'overdue', text: dur((Date.now() - new Date(stateSince(c))) / 1000) },
      causeText(c.cause), { cls: 'num', text: outages30.has(c.id) ? String(outages30.get(c.id)) : '—' });
    tr.dataset.id = c.id;
    return tr;
  });
  if (!rows.length) rows.push(row({ cls: 'empty', text: L('noneDown') }));
  bodies.down.replaceChildren(...rows);
  document.getElementById('down-title').textContent = `${L('downNow')}（${down.length}）`;
}

function renderTownships() {
  const ts = [...report.townships].sort((a, b) => a.online_rate - b.online_rate);
  bodies.townships.replaceChildren(...ts.map((t) => {
    const tr = row(t.name || t.id, { cls: 'num', text: t.cameras }, { cls: 'num', text: pct(t.online_rate) },
      // 完好率: cameras giving good video now over all, beside the time-weighted online rate.
      { cls: 'num', text: t.intact_rate == null ? '—' : `${pct(t.intact_rate)}（${t.intact}/${t.cameras}）` },
      { cls: 'num' + (t.down_now ? ' overdue' : ''), text: t.down_now },
      // How far behind its time the township's most overdue camera check is: a slow link shows here, not as offline.
      { cls: 'num' + (t.check_lag_s >= 1 ? ' overdue' : ''), text: t.check_lag_s == null ? '—' : dur(t.check_lag_s) });
    tr.dataset.township = t.id;
    return tr;
  }));
}

function filtered() {
  const q = filterText.trim().toLowerCase();
  return report.cameras.filter((c) => {
    if (filterTownship && c.township !== filterTownship) return false;
    const st = cams.get(c.id)?.state || c.state;
    if (filterState && st !== filterState) return false;
    if (!q) return true;
    const n = names(c);
    return [c.name, c.id, n.village, n.township].some((s) => String(s || '').toLowerCase().includes(q));
  });
}

function sortValue(c) {
  const n = names(c);
  return { uptime: c.uptime, outages: c.outages.length, name: c.name || c.id, id: c.id, township: n.township, village: n.village, state: cams.get(c.id)?.state || c.state }[sortKey];
}

function sorted() {
  return filtered().sort((a, b) => (keyCam(b) - keyCam(a)) || (() => {
    const x = sortValue(a), y = sortValue(b);
    return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y), 'zh-CN')) * sortDir;
  })());
}

const mayMaintain = () => !!me; // the hub decides; its refusal is shown

function renderCameras() {
  if (!report) return;
  const may = mayMaintain();
  const list = sorted();
  const pages = Math.max(1, Math.ceil(list.length / perPage));
  pageNo = Math.min(Math.max(pageNo, 0), pages - 1);
  const first = pageNo * perPage, shown = list.slice(first, first + perPage);
  bodies.cameras.replaceChildren(...shown.map((c) => {
    const n = names(c);
    const st = cams.get(c.id)?.state || c.state;
    const badge = el('span', `badge ${st}`, L(st));
    let m = '', pick = '';
    if (may) {
      m = el('button', '', L('setMaint'));
      m.type = 'button';
      m.dataset.maint = c.id;
      m.onclick = () => maintenanceDialog({ title: c.name || c.id, windows: [{ device: c.id }] });
      pick = el('input');
      pick.type = 'checkbox';
      pick.dataset.pick = c.id;
      pick.checked = chosen.has(c.id);
      pick.setAttribute('aria-label', `${L('select')} ${c.name || c.id}`);
      pick.onchange = () => { if (pick.checked) chosen.add(c.id); else chosen.delete(c.id); showChosen(); };
    }
    const tr = row(pick, keyCam(c) ? el('span', 'key', '★') : '', c.name || c.id, c.id, n.township, n.village, { cls: 'num', text: pct(c.uptime) },
      { cls: 'num', text: c.outages.length }, bar(c), badge, m);
    tr.dataset.id = c.id;
    return tr;
  }));
  const info = document.getElementById('cam-page');
  if (info) {
    info.textContent = list.length
      ? (lang() === 'zh' ? `${first + 1}–${first + shown.length}，共 ${list.length} 条` : `${first + 1}–${first + shown.length} of ${list.length}`)
      : `0 ${L('rowsUnit')}`;
    document.getElementById('cam-prev').disabled = pageNo === 0;
    document.getElementById('cam-next').disabled = pageNo >= pages - 1;
    document.getElementById('cam-pageno').textContent = `${pageNo + 1} / ${pages} ${L('page')}`;
  }
  showChosen();
}

// pager moves through the camera table a page at a time.
function pager() {
  const p = el('nav', 'pager');
  p.setAttribute('aria-label', L('perCamera'));
  const prev = el('button', '', L('prevPage')); prev.type = 'button'; prev.id = 'cam-prev';
  prev.onclick = () => { pageNo--; renderCameras(); };
  const next = el('button', '', L('nextPage')); next.type = 'button'; next.id = 'cam-next';
  next.onclick = () => { pageNo++; renderCameras(); };
  const no = el('span', 'status'); no.id = 'cam-pageno';
  const info = el('span', 'status'); info.id = 'cam-page'; info.setAttribute('aria-live', 'polite');
  const per = el('select'); per.id = 'cam-per'; per.setAttribute('aria-label', L('perPage'));
  for (const n of [25, 50, 100, 200]) per.append(new Option(`${L('perPage')} ${n}`, String(n), false, n === perPage));
  per.onchange = () => { perPage = Number(per.value); pageNo = 0; renderCameras(); };
  p.append(prev, no, next, info, per);
  return p;
}

// maintTools sets maintenance for the cameras ticked in the table (across
// pages) or for a whole village, as POST /api/v1/maintenance allows.
function maintTools() {
  const box = el('div', 'filters maint-tools');
  box.id = 'maint-tools';
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', L('setMaint'));
  box.hidden = !mayMaintain();
  const all = el('button', '', L('selectAll')); all.type = 'button'; all.id = 'sel-page';
  all.onclick = () => { for (const x of bodies.cameras.querySelectorAll('input[data-pick]')) chosen.add(x.dataset.pick); renderCameras(); };
  const clear = el('button', '', L('clearSel')); clear.type = 'button'; clear.id = 'sel-clear';
  clear.onclick = () => { chosen.clear(); renderCameras(); };
  const sel = el('button', 'primary', L('maintSelected')); sel.type = 'button'; sel.id = 'maint-selected';
  sel.onclick = () => {
    const ids = [...chosen];
    if (!ids.length) return;
    const name = (id) => cams.get(id)?.name || report.cameras.find((c) => c.id === id)?.name || id;
    maintenanceDialog({ title: ids.length === 1 ? name(ids[0]) : `${name(ids[0])} 等 ${ids.length} 台`, windows: ids.map((id) => ({ device: id })), done: () => chosen.clear() });
  };
  const vsel = el('select'); vsel.id = 'maint-village-sel'; vsel.setAttribute('aria-label', L('village'));
  const mine = topo.townships.filter((t) => !me || me.role !== 'township' || t.id === me.township);
  for (const t of mine) {
    const g = document.createElement('optgroup');
    g.label = t.name;
    for (const v of t.villages || []) g.append(new Option(v.name, v.id));
    vsel.append(g);
  }
  const vil = el('button', '', L('maintVillage')); vil.type = 'button'; vil.id = 'maint-village';
  vil.onclick = () => {
    if (!vsel.value) return;
    maintenanceDialog({ title: villages.get(vsel.value)?.name || vsel.value, windows: [{ village: vsel.value }] });
  };
  const count = el('span', 'status'); count.id = 'sel-count'; count.setAttribute('aria-live', 'polite');
  box.append(all, clear, count, sel, vsel, vil);
  return box;
}

function showChosen() {
  const count = document.getElementById('sel-count');
  if (!count) return;
  count.textContent = chosen.size ? `${L('selected')} ${chosen.size}` : '';
  document.getElementById('maint-selected').disabled = chosen.size === 0;
}

function csvRows() {
  const head = ['摄像机编号 camera', '摄像机 name', '乡镇编号 township', '乡镇 township_name', '村编号 village', '村/社区 village_name', '重点路口 key',
    '在线率 uptime', '离线次数 outages', '当前状态 state', '离线自 down_since', '原因 cause'];
  return [head, ...sorted().map((c) => {
    const n = names(c), now = cams.get(c.id);
    const st = now?.state || c.state;
    const since = st === 'offline' && stateSince(now) ? new Date(stateSince(now)) : null;
    return [c.id, c.name, c.township, n.township, c.village, n.village, keyCam(c) ? '是' : '', (c.uptime * 100).toFixed(2) + '%', c.outages.length, L(st),
      since ? `${since.getFullYear()}-${localStamp(since)}` : '', st === 'offline' ? causeText(now?.cause) : ''];
  })];
}

function localStamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function renderWindows() {
  const county = me && me.role !== 'township';
  bodies.maint.replaceChildren(...windows.map((w) => {
    let end = '';
    if (county || me?.role === 'township') {
      end = el('button', '', L('end'));
      end.type = 'button';
      end.onclick = async () => {
        try { await api(`/api/v1/maintenance/${encodeURIComponent(w.id)}`, { method: 'DELETE' }); load(); } catch (e) { notice(e.message, true); }
      };
    }
    const dev = w.device ? `${cams.get(w.device)?.name || w.device}（${w.device}）` : (villages.get(w.village)?.name || w.village);
    return row(dev, clock(w.from), clock(w.until), w.note, w.by, end);
  }));
  if (!windows.length) bodies.maint.replaceChildren(row({ cls: 'empty', text: '—' }));
}

const localInput = (d) => {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

// maintenanceDialog sets a window with start and end pickers, in local
// time, for each of what.windows (a device or a village each, the API's
// form), named what.title.
function maintenanceDialog(what) {
  const d = el('dialog');
  d.setAttribute('aria-labelledby', 'maint-dialog-title');
  const f = el('form');
  f.method = 'dialog';
  const h = el('h2', '', `${L('setMaint')}：${what.title}`);
  h.id = 'maint-dialog-title';
  const field = (label, input) => { const l = el('label', '', label); l.append(input); return l; };
  const from = el('input'); from.type = 'datetime-local'; from.required = true; from.name = 'from'; from.value = localInput(new Date());
  const until = el('input'); until.type = 'datetime-local'; until.required = true; until.name = 'until'; until.value = localInput(new Date(Date.now() + 2 * 3600e3));
  const note = el('textarea'); note.name = 'note'; note.maxLength = 500; note.placeholder = '例如：更换镜头、线路检修';
  const err = el('p', 'err');
  err.setAttribute('role', 'alert');
  const ok = el('button', 'primary', L('save')); ok.type = 'submit'; ok.value = 'ok';
  const cancel = el('button', '', L('cancel')); cancel.type = 'button'; cancel.onclick = () => d.close();
  const rowEl = el('div', 'row'); rowEl.append(cancel, ok);
  f.append(h, field(L('maintFrom'), from), field(L('maintUntil'), until), field(L('maintNote'), note), err, rowEl);
  f.onsubmit = async (e) => {
    e.preventDefault();
    const a = new Date(from.value), b = new Date(until.value);
    if (!(b > a)) { err.textContent = '结束时间必须晚于开始时间'; return; }
    ok.disabled = true;
    const failed = [];
    for (const w of what.windows) {
      try {
        await api('/api/v1/maintenance', { method: 'POST', body: JSON.stringify({ ...w, from: a.toISOString(), until: b.toISOString(), note: note.value.trim() }) });
      } catch (x) { failed.push(`${w.device || villages.get(w.village)?.name || w.village}：${x.message}`); }
    }
    ok.disabled = false;
    if (failed.length === what.windows.length) { err.textContent = failed.join('；'); return; }
    d.close();
    what.done?.();
    notice(`${L('setMaint')}：${what.title} ${clock(a)}–${clock(b)}` + (failed.length ? `；${failed.join('；')}` : ''), failed.length > 0);
    load();
  };
  d.append(f);
  d.onclose = () => d.remove();
  document.body.append(d);
  d.showModal();
  from.focus();
}

async function main() {
  const b = await boot('uptime');
  if (!b) return;
  ({ me, topo, villages } = b);
  document.getElementById('title').textContent = `${topo.county?.name || ''} ${L('uptime')}`.trim();
  document.title = `${L('uptime')} · snowhub`;
  build();
  await load();
  loadMonth();
  setInterval(load, 10000);
  setInterval(loadMonth, 60000);
}
main();
