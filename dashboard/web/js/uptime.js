import { api, el, L, ago, header, token, askToken } from './common.js';

let report = null, range = 24 * 3600 * 1000, sortKey = 'uptime', filterText = '', filterTownship = '', filterState = '';
let me = null;
let windows = [];

async function load() {
  const to = new Date(), from = new Date(to.getTime() - range);
  const q = new URLSearchParams({ from: from.toISOString().replace(/\.\d+Z$/, 'Z'), to: to.toISOString().replace(/\.\d+Z$/, 'Z') });
  try {
    [report, windows] = await Promise.all([api('/api/v1/uptime?' + q), api('/api/v1/maintenance')]);
    render();
  } catch (e) {
    document.getElementById('main').replaceChildren(el('section', 'panel card err', e.message));
  }
}

function bar(c) {
  const b = el('div', 'bar');
  const total = new Date(report.to) - new Date(report.from);
  let x = new Date(report.from).getTime();
  for (const o of c.outages) {
    const from = Math.max(new Date(o.from).getTime(), new Date(report.from).getTime());
    const to = o.to ? new Date(o.to).getTime() : new Date(report.to).getTime();
    const gap = el('span');
    gap.style.background = 'transparent';
    gap.style.width = `${((from - x) / total) * 100}%`;
    const down = el('span');
    down.style.width = `${Math.max(((to - from) / total) * 100, 0.5)}%`;
    down.title = `${new Date(from).toLocaleString()} – ${o.to ? new Date(to).toLocaleString() : '…'} ${o.cause || ''}`;
    b.append(gap, down);
    x = to;
  }
  return b;
}

function townshipName(id) {
  return report.townships.find((t) => t.id === id)?.name || id;
}

function render() {
  const main = document.getElementById('main');
  const cams = report.cameras.filter((c) => (!filterTownship || c.township === filterTownship) && (!filterState || c.state === filterState) &&
    (!filterText || (c.name + c.id + c.village).toLowerCase().includes(filterText.toLowerCase())));
  const down = report.cameras.filter((c) => c.state === 'offline')
    .sort((a, b) => new Date(a.outages.at(-1)?.from || 0) - new Date(b.outages.at(-1)?.from || 0));

  const p0 = el('section', 'panel');
  const t0 = el('table');
  for (const c of down) {
    const o = c.outages.at(-1);
    const tr = el('tr');
    tr.append(el('td', '', c.name || c.id), el('td', '', townshipName(c.township)), el('td', 'overdue', o ? `${L('offlineSince')} ${new Date(o.from).toLocaleString()} (${ago(o.from)})` : L('offline')), el('td', 'status', o?.cause || ''));
    t0.append(tr);
  }
  p0.append(el('h2', '', `${L('downNow')} (${down.length})`), t0);

  const p1 = el('section', 'panel');
  const t1 = el('table');
  const h1 = el('tr');
  h1.append(el('th', '', L('township')), el('th', '', L('cameras')), el('th', '', L('rate')), el('th', '', L('downNow')));
  t1.append(h1);
  for (const t of report.townships) {
    const tr = el('tr');
    tr.append(el('td', '', t.name || t.id), el('td', '', t.cameras), el('td', '', `${(t.online_rate * 100).toFixed(2)}%`), el('td', '', t.down_now));
    t1.append(tr);
  }
  p1.append(el('h2', '', L('rate')), t1);

  const p2 = el('section', 'panel');
  const filters = el('div', 'filters');
  for (const [label, ms] of [['24 h', 86400e3], ['7 d', 7 * 86400e3], ['30 d', 30 * 86400e3]]) {
    const b = el('button', range === ms ? 'primary' : '', label);
    b.onclick = () => { range = ms; load(); };
    filters.append(b);
  }
  const tsel = el('select');
  tsel.append(new Option(L('all'), ''), ...report.townships.map((t) => new Option(t.name || t.id, t.id)));
  tsel.value = filterTownship; tsel.onchange = () => { filterTownship = tsel.value; render(); };
  const ssel = el('select');
  ssel.append(new Option(L('all'), ''), ...['online', 'degraded', 'offline', 'maintenance', 'unknown'].map((s) => new Option(L(s), s)));
  ssel.value = filterState; ssel.onchange = () => { filterState = ssel.value; render(); };
  const search = el('input'); search.placeholder = L('search'); search.value = filterText;
  search.oninput = () => { filterText = search.value; render(); search.focus(); };
  const csv = el('button', '', L('exportCsv'));
  csv.onclick = async () => {
    const res = await fetch(`/api/v1/uptime?format=csv&from=${encodeURIComponent(report.from)}&to=${encodeURIComponent(report.to)}`, { headers: { Authorization: 'Bearer ' + token() } });
    const a = el('a'); a.href = URL.createObjectURL(await res.blob()); a.download = 'uptime.csv'; a.click(); URL.revokeObjectURL(a.href);
  };
  filters.append(tsel, ssel, search, csv);
  const t2 = el('table');
  const h2 = el('tr');
  for (const [k, label] of [['name', L('cameras')], ['township', L('township')], ['uptime', L('uptime')], ['outages', '']]) {
    const th = el('th', '', label); th.onclick = () => { sortKey = k; render(); }; h2.append(th);
  }
  h2.append(el('th', '', ''), el('th', '', ''));
  t2.append(h2);
  const sorted = [...cams].sort((a, b) => sortKey === 'uptime' ? a.uptime - b.uptime : sortKey === 'outages' ? b.outages.length - a.outages.length : String(a[sortKey]).localeCompare(String(b[sortKey])));
  for (const c of sorted) {
    const tr = el('tr');
    tr.dataset.id = c.id;
    const st = el('td'); st.append(el('span', `badge ${c.state}`, L(c.state)));
    const barTd = el('td'); barTd.append(bar(c));
    const mt = el('td');
    if (me && me.role !== 'township') {
      const b = el('button', '', L('setMaint'));
      b.onclick = async () => {
        const hours = Number(prompt('hours', '2')); if (!hours) return;
        const note = prompt(L('note'), '') || '';
        try {
          await api('/api/v1/maintenance', { method: 'POST', body: JSON.stringify({ device: c.id, until: new Date(Date.now() + hours * 3600e3).toISOString(), note }) });
          load();
        } catch (e) { alert(e.message); }
      };
      mt.append(b);
    }
    tr.append(el('td', '', `${c.name || c.id}`), el('td', '', townshipName(c.township)), el('td', '', `${(c.uptime * 100).toFixed(2)}%`), el('td', '', c.outages.length), barTd, st, mt);
    t2.append(tr);
  }
  p2.append(el('h2', '', L('uptime')), filters, t2);

  const p3 = el('section', 'panel');
  const t3 = el('table');
  for (const w of windows) {
    const tr = el('tr');
    const end = el('td');
    if (me && me.role !== 'township') {
      const b = el('button', '', L('end'));
      b.onclick = async () => {
        try { await api(`/api/v1/maintenance/${encodeURIComponent(w.id)}`, { method: 'DELETE' }); load(); } catch (e) { alert(e.message); }
      };
      end.append(b);
    }
    tr.append(el('td', '', w.device || w.village), el('td', '', `${new Date(w.from).toLocaleString()} – ${new Date(w.until).toLocaleString()}`),
      el('td', '', w.note), el('td', 'status', w.by), end);
    t3.append(tr);
  }
  p3.append(el('h2', '', `${L('maintenance')} (${windows.length})`), t3);
  main.replaceChildren(p0, p1, p2, p3);
}

async function main() {
  if (!token()) { askToken(); return; }
  header('uptime');
  document.getElementById('title').textContent = L('uptime');
  try { me = await api('/api/v1/me'); } catch (e) { return; }
  document.getElementById('status').textContent = `${me.name} (${me.role})`;
  await load();
  setInterval(load, 10000);
}
main();
