// Incident steps as inline forms (no prompt() boxes): a note with a
// character counter and the hub's limit, ratings as three buttons with the
// method and who was asked, holds with a reason list, assignment from the
// township's roster, departments to summon, a score with the timeliness.
// Which buttons show is the hub's decision: every incident it hands a page
// carries its "actions", the steps this user may take now (from the
// transition table, alerts/transitions.go, and auth); the page draws those
// and nothing else, and the hub's refusal is shown in Chinese where it was made.
import { api, el, L, clock, dur, goDur, stepName } from './common.js';

// summonedMe is the user's department's own summons on an incident, if any.
export function summonedMe(inc, me) {
  return me?.department ? (inc.summoned || []).find((s) => s.department === me.department) : undefined;
}

// actionsFor is the steps the hub offers this user on inc, in its table's order.
export function actionsFor(inc) {
  return Array.isArray(inc?.actions) ? inc.actions : [];
}

const primary = new Set(['report', 'done', 'accept', 'assign', 'resolve', 'evaluate', 'review', 'dispatch', 'acknowledge', 'approve_extension']);

// actionBar is the buttons of an incident and the place its form opens.
export function actionBar(inc, ctx) {
  const box = el('div', 'actbox');
  const bar = el('div', 'actions');
  const form = el('div', 'formslot');
  for (const a of actionsFor(inc)) {
    // 确认 is for alarms (a device's, or raised at the wall); on a routine
    // matter (12345, a grid report) it reads 已阅.
    const routine = a === 'acknowledge' && inc.source && inc.source !== 'sensor' && inc.source !== 'wall';
    const b = el('button', primary.has(a) && !routine ? 'primary' : '', routine ? L('seen') : labelOf(a));
    b.type = 'button';
    b.dataset.action = a;
    b.onclick = () => open(inc, a, form, ctx);
    bar.append(b);
  }
  const err = el('div', 'err');
  err.setAttribute('role', 'alert');
  box.append(bar, form, err);
  box.err = err;
  return box;
}

const zhLabels = { report: '报到', done: '办结', summon: '吹哨', extend: '申请延期', approve_extension: '批准延期', reassign: '改派', assign: '派人', escalate: '上报县级', reject_extension: '驳回延期', remind: '催办' };
const enLabels = { report: 'Report in', done: 'Done', summon: 'Summon', extend: 'Ask extension', approve_extension: 'Approve extension', reassign: 'Reassign', reject_extension: 'Refuse extension', remind: 'Remind' };
function labelOf(a) {
  return (lang() === 'zh' ? zhLabels[a] : enLabels[a]) || L(a);
}
const lang = () => localStorage.getItem('snowhub.lang') || 'zh';

async function submit(inc, action, body, ctx, slot) {
  const err = slot.parentElement.querySelector('.err');
  err.textContent = '';
  const btns = slot.parentElement.querySelectorAll('button');
  btns.forEach((b) => { b.disabled = true; });
  try {
    const updated = await api(`/api/v1/incidents/${encodeURIComponent(inc.id)}/${action}`, { method: 'POST', body: JSON.stringify(body) });
    slot.replaceChildren();
    ctx.onDone?.(updated, action);
  } catch (e) {
    err.textContent = e.message;
  } finally {
    btns.forEach((b) => { b.disabled = false; });
  }
}

// noteField is a textarea with a live counter against the hub's limit.
function noteField(label, ctx, { required = false, name = 'note', placeholder = '' } = {}) {
  const limit = ctx.noteLimit || 4000;
  const wrap = el('label', '', label + (required ? '（必填）' : ''));
  const t = el('textarea');
  t.name = name;
  t.required = required;
  t.placeholder = placeholder;
  const c = el('div', 'counter', `0 / ${limit}`);
  c.setAttribute('aria-live', 'polite');
  t.oninput = () => {
    const n = [...t.value].length;
    c.textContent = `${n} / ${limit}`;
    c.classList.toggle('over', n > limit);
  };
  wrap.append(t, c);
  wrap.value = () => t.value.trim();
  wrap.over = () => [...t.value].length > limit;
  wrap.input = t;
  return wrap;
}

function seg(label, options, name) {
  const box = el('div', 'field');
  const g = el('div', 'seg');
  g.setAttribute('role', 'group');
  const lab = el('span', 'lab', label);
  lab.id = `seg-${name}-${Math.random().toString(36).slice(2, 8)}`;
  g.setAttribute('aria-labelledby', lab.id);
  let value = '';
  for (const [v, text] of options) {
    const b = el('button', '', text);
    b.type = 'button';
    b.dataset[name] = v;
    b.setAttribute('aria-pressed', 'false');
    b.onclick = () => {
      value = v;
      for (const x of g.children) x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
    };
    g.append(b);
  }
  box.append(lab, g);
  box.value = () => value;
  return box;
}

function select(label, options, name) {
  const wrap = el('label', '', label);
  const s = el('select');
  s.name = name;
  for (const [v, text] of options) s.append(new Option(text, v));
  wrap.append(s);
  wrap.value = () => s.value;
  return wrap;
}

function open(inc, action, slot, ctx) {
  const simple = ['accept', 'resume', 'acknowledge', 'approve_extension', 'report'];
  if (simple.includes(action)) { submit(inc, action, {}, ctx, slot); return; }
  const f = el('form', 'form');
  f.noValidate = true; // the form says what is missing, in Chinese
  f.dataset.form = action;
  const fields = [];
  let body = () => ({});
  let check = () => '';
  const note = (label, opts) => { const n = noteField(label, ctx, opts); fields.push(n); return n; };
  const villagesOf = ctx.villages?.() || new Map();
  const townships = (ctx.topo?.() || { townships: [] }).townships;
  switch (action) {
    case 'resolve': {
      const n = note('办理结果', { required: true, placeholder: '到场情况、处置措施、结果' });
      // The hub's rules for 做单 (docs/incidents.md): a hard matter writes
      // down its cause and crux; with nobody sent on site, why no visit.
      const hard = inc.class === 'hard';
      const c = hard ? note('原因', { required: true, name: 'cause' }) : null;
      const x = hard ? note('症结', { required: true, name: 'crux' }) : null;
      const adv = hard ? note('建议', { name: 'advice' }) : null;
      const nv = inc.assignee || inc.kind === 'county_outage' ? null : note('未派人走访的原因', { required: true, name: 'no_visit_reason' });
      body = () => ({ note: n.value(), ...(hard ? { cause: c.value(), crux: x.value(), advice: adv.value() } : {}), ...(nv ? { no_visit_reason: nv.value() } : {}) });
      check = () => (!n.value() ? '请填写办理结果' : hard && !c.value() ? '请填写原因' : hard && !x.value() ? '请填写症结' : nv && !nv.value() ? '请填写未派人走访的原因' : '');
      break;
    }
    case 'assign': {
      const people = (ctx.topo?.().people || []).filter((p) => p.township === villagesOf.get(inc.village)?.township)
        .sort((a, b) => ((b.village === inc.village) - (a.village === inc.village)));
      const roleName = { grid_head: '网格长', grid_worker: '网格员', keeper: '管护员', village_police: '村警', cadre: '包村干部', other: '' };
      const s = select('派往现场的人员', [['', '请选择…'], ...people.map((p) => [p.id, `${p.name}${roleName[p.role] ? '（' + roleName[p.role] + '）' : ''}${p.village ? ' · ' + (villagesOf.get(p.village)?.name || p.village) : ''}${p.phone ? ' · ' + p.phone : ''}`])], 'person');
      fields.push(s);
      const n = note('说明');
      body = () => ({ person: s.value(), note: n.value() });
      check = () => (!s.value() ? (people.length ? '请选择人员' : '本乡镇花名册为空：请在配置的 people 中添加网格员') : '');
      break;
    }
    case 'evaluate': {
      const r = seg('群众评价', [['satisfied', '满意'], ['neutral', '一般'], ['unsatisfied', '不满意']], 'rating');
      const m = seg('回访方式', [['phone', '电话'], ['visit', '上门'], ['on_site', '现场']], 'method');
      const a = seg('回访对象', [['reporter', '报事人'], ['household', '住户'], ['village_head', '村干部'], ['other', '其他']], 'asked');
      fields.push(r, m, a);
      const n = note('回访记录');
      body = () => ({ rating: r.value(), method: m.value(), asked: a.value(), note: n.value() });
      check = () => (!r.value() ? '请选择评价' : !m.value() ? '请选择回访方式' : !a.value() ? '请选择回访对象' : '');
      break;
    }
    case 'hold': {
      const s = select('挂起原因', [['', '请选择…'], ['等待当事人', '等待当事人'], ['等待配件或施工', '等待配件或施工'], ['天气原因', '天气原因'],
        ['等待其他部门', '等待其他部门'], ['其他', '其他']], 'reason');
      fields.push(s);
      const n = note('补充说明');
      body = () => ({ reason: s.value() === '其他' && n.value() ? n.value() : s.value(), note: n.value() });
      check = () => (!s.value() ? '请选择挂起原因' : '');
      break;
    }
    case 'reject_extension': {
      // 驳回: the reason is written down; the matter keeps its deadline.
      const x = inc.extension;
      if (x) fields.push(el('p', 'status', `疑难原因：${x.cause}；症结：${x.crux}；申请延至 ${clock(x.until)}`));
      const n = note('驳回理由', { required: true, name: 'reason' });
      body = () => ({ reason: n.value(), note: n.value() });
      check = () => (!n.value() ? '请填写驳回理由' : '');
      break;
    }
    case 'remind': {
      // 催办: to the owner's group, the assignee mentioned; counted in the figures.
      const n = note('催办内容', { required: true, placeholder: '请于何时前完成什么' });
      body = () => ({ note: n.value() });
      check = () => (!n.value() ? '请填写催办内容' : '');
      break;
    }
    case 'escalate': {
      const n = note('上报原因', { required: true, name: 'reason', placeholder: '超出本级职权的原因' });
      body = () => ({ reason: n.value(), note: n.value() });
      check = () => (!n.value() ? '请填写上报原因' : '');
      break;
    }
    case 'done': {
      const n = note('办结情况', { required: true, placeholder: '到场时间、做了什么、结果' });
      body = () => ({ note: n.value() });
      check = () => (!n.value() ? '请填写办结情况' : '');
      break;
    }
    case 'reopen': {
      const n = note('重办原因');
      body = () => ({ note: n.value(), reason: n.value() });
      break;
    }
    case 'summon': {
      const box = el('fieldset', 'field');
      box.append(el('legend', '', '吹哨：请部门报到'));
      const boxes = [];
      for (const d of ctx.topo?.().departments || []) {
        const l = el('label', 'check');
        const c = el('input');
        c.type = 'checkbox';
        c.value = d.id;
        boxes.push(c);
        l.append(c, document.createTextNode(' ' + d.name));
        box.append(l);
      }
      if (!boxes.length) box.append(el('p', 'status', '配置中没有部门（departments）'));
      fields.push(box);
      const n = note('需要部门做什么');
      body = () => ({ departments: boxes.filter((c) => c.checked).map((c) => c.value), note: n.value() });
      check = () => (!boxes.some((c) => c.checked) ? '请选择部门' : '');
      break;
    }
    case 'extend': {
      const c = note('疑难原因', { required: true, name: 'cause' });
      const x = note('症结', { required: true, name: 'crux' });
      // The lengths the class's maximum allows, from the hub (extend_options),
      // each with the deadline it gives; an older hub's matter offers the
      // fixed list and the hub refuses what is beyond the maximum.
      const span = (b) => (b.endsWith('wd') ? `${b.slice(0, -2)} 个工作日` : b.endsWith('h') ? `${b.slice(0, -1)} 小时` : b);
      const opts = (inc.extend_options || []).map((o) => [o.by, `${span(o.by)}（至 ${clock(o.until)}）`]);
      const by = select('延长', opts.length ? opts : [['5wd', '5 个工作日'], ['10wd', '10 个工作日'], ['20wd', '20 个工作日'], ['30wd', '30 个工作日']], 'by');
      fields.push(by);
      if (inc.extend_max) fields.push(el('p', 'status', `本类事项最长办理至 ${clock(inc.extend_max)}`));
      body = () => ({ cause: c.value(), crux: x.value(), by: by.value() });
      check = () => (!c.value() ? '请填写疑难原因' : !x.value() ? '请填写症结' : '');
      break;
    }
    case 'dispatch':
    case 'reassign': {
      const v = villagesOf.get(inc.village);
      const opts = townships.map((t) => [t.id, t.name + (v && t.id === v.township ? '（属地）' : '')]);
      if (action === 'reassign') opts.push(['county', '县级']);
      const s = select(action === 'dispatch' ? '派往' : '改派给', opts, 'to');
      if (v) s.querySelector('select').value = v.township;
      fields.push(s);
      const n = note('派单说明');
      body = () => ({ to: s.value(), note: n.value() });
      break;
    }
    case 'review': {
      const t = el('div', 'field');
      t.append(el('span', 'lab', '各环节时效'));
      const ul = el('ul', 'hist');
      for (const s of inc.timeliness || []) ul.append(el('li', s.on_time ? '' : 'overdue', `${stepName(s.step)}：${s.on_time ? '按时' : '超时 ' + goDur(s.late_by)}${s.done_at ? '（' + clock(s.done_at) + '）' : ''}`));
      for (const s of inc.late_steps || []) if (!(inc.timeliness || []).some((x) => x.step === s.step)) ul.append(el('li', 'overdue', `${stepName(s.step)}：超时 ${s.late_s ? dur(s.late_s) : goDur(s.late_by)}`));
      if (!ul.children.length) ul.append(el('li', '', '无超时环节'));
      const r = (inc.ratings || []).at(-1);
      if (r) ul.append(el('li', '', `群众评价：${L(r.rating)}`));
      t.append(ul);
      const wrap = el('label', '', '考单得分（0–100）');
      const sc = el('input');
      sc.type = 'number'; sc.min = '0'; sc.max = '100'; sc.step = '1'; sc.name = 'score'; sc.required = true;
      wrap.append(sc);
      fields.push(t, wrap);
      const n = note('考评意见');
      body = () => ({ score: Number(sc.value), note: n.value() });
      check = () => (sc.value === '' || !(Number(sc.value) >= 0 && Number(sc.value) <= 100) || !Number.isInteger(Number(sc.value)) ? '得分须为 0–100 的整数' : '');
      break;
    }
    default:
      body = () => ({});
  }
  const err = el('p', 'err');
  err.setAttribute('role', 'alert');
  const ok = el('button', 'primary', `${labelOf(action)}`);
  ok.type = 'submit';
  const cancel = el('button', '', L('cancel'));
  cancel.type = 'button';
  cancel.onclick = () => slot.replaceChildren();
  const row = el('div', 'row');
  row.append(ok, cancel);
  f.append(...fields, err, row);
  f.onsubmit = (e) => {
    e.preventDefault();
    const over = fields.find((x) => x.over?.());
    const why = over ? `内容超过 ${ctx.noteLimit || 4000} 字的上限` : check();
    if (why) { err.textContent = why; return; }
    submit(inc, action, body(), ctx, slot);
  };
  slot.replaceChildren(f);
  (f.querySelector('textarea, select, input, button'))?.focus();
}
