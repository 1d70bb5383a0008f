// 制单: raising an incident by hand (POST /api/v1/incidents) — from a wall
// tile (its camera and village filled in), or on the county workbench from
// a grid worker's report, a 12345 ticket or a petition referral.
import { api, el, L, notice } from './common.js';

const sources = [['wall', '视频墙发现'], ['grid', '网格员上报'], ['hotline_12345', '12345 热线'], ['petition', '信访转办'], ['department', '部门转办'], ['other', '其他']];
const classes = [['', '按来源自动'], ['simple', '简易（5 天）'], ['general', '一般（7 天）'], ['hotline_12345', '12345 工单（7 天）'], ['hard', '疑难（30 个工作日）']];

// raiseDialog opens the form; {village, cameras, source} prefill it.
export function raiseDialog({ topo, village = '', cameras = [], cameraNames = {}, source = 'wall', noteLimit = 4000, onDone } = {}) {
  const d = el('dialog', 'raise');
  d.setAttribute('aria-labelledby', 'raise-title');
  const f = el('form');
  f.noValidate = true;
  const h = el('h2', '', '制单');
  h.id = 'raise-title';
  const field = (label, input) => { const l = el('label', '', label); l.append(input); return l; };
  const title = el('input');
  title.name = 'title'; title.maxLength = 200; title.placeholder = '例如：312国道昭仁路口 两车剐蹭 堵塞交通';
  const sev = el('select');
  sev.name = 'severity';
  for (const s of ['minor', 'major', 'critical']) sev.append(new Option(L(s), s));
  const vil = el('select');
  vil.name = 'village';
  vil.append(new Option('请选择…', ''));
  for (const t of topo.townships) {
    const g = el('optgroup');
    g.label = t.name;
    for (const v of t.villages) g.append(new Option(v.name, v.id));
    vil.append(g);
  }
  vil.value = village;
  const src = el('select');
  src.name = 'source';
  for (const [v, n] of sources) src.append(new Option(n, v));
  src.value = source;
  const ref = el('input');
  ref.name = 'ref'; ref.maxLength = 100; ref.placeholder = '12345 工单号、信访件编号';
  const cls = el('select');
  cls.name = 'class';
  for (const [v, n] of classes) cls.append(new Option(n, v));
  const note = el('textarea');
  note.name = 'note';
  const counter = el('div', 'counter', `0 / ${noteLimit}`);
  note.oninput = () => { const n = [...note.value].length; counter.textContent = `${n} / ${noteLimit}`; counter.classList.toggle('over', n > noteLimit); };
  const cams = el('p', 'status', cameras.length ? `摄像机：${cameras.map((c) => cameraNames[c] || c).join('、')}` : '');
  const err = el('p', 'err');
  err.setAttribute('role', 'alert');
  const ok = el('button', 'primary', '制单');
  ok.type = 'submit';
  const cancel = el('button', '', L('cancel'));
  cancel.type = 'button';
  cancel.onclick = () => d.close();
  const row = el('div', 'row');
  row.append(cancel, ok);
  const noteWrap = field('情况说明', note);
  noteWrap.append(counter);
  f.append(h, field('标题（必填）', title), field('紧急程度', sev), field('村/社区（必填）', vil), cams, field('来源', src), field('外部单号', ref), field('办理类别', cls), noteWrap, err, row);
  f.onsubmit = async (e) => {
    e.preventDefault();
    if (!title.value.trim()) { err.textContent = '请填写标题'; title.focus(); return; }
    if (!vil.value) { err.textContent = '请选择村/社区'; vil.focus(); return; }
    if ([...note.value].length > noteLimit) { err.textContent = `情况说明超过 ${noteLimit} 字的上限`; return; }
    ok.disabled = true;
    try {
      const inc = await api('/api/v1/incidents', { method: 'POST', body: JSON.stringify({
        title: title.value.trim(), severity: sev.value, village: vil.value, cameras, source: src.value, ref: ref.value.trim(),
        class: cls.value, note: note.value.trim() }) });
      d.close();
      notice(`已制单：${inc.title}（${inc.id}）`);
      onDone?.(inc);
    } catch (x) { err.textContent = x.message; } finally { ok.disabled = false; }
  };
  d.append(f);
  d.onclose = () => d.remove();
  document.body.append(d);
  d.showModal();
  title.focus();
  return d;
}
